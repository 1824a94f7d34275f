//! HTTP handlers, one module per resource.

pub mod audit;
pub mod checkpoint;
pub mod erasure;
pub mod export;
pub mod health;
pub mod ingest;
pub mod ingest_status;
pub mod openapi;
pub mod proofs;
pub mod stalwart;
pub mod tokens;
