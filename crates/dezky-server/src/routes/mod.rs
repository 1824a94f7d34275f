//! HTTP handlers, one module per resource.

pub mod archive;
pub mod audit;
pub mod checkpoint;
pub mod erasure;
pub mod export;
pub mod health;
pub mod ingest;
pub mod openapi;
pub mod proofs;
pub mod tokens;
