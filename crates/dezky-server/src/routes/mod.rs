//! HTTP handlers, one module per resource.

pub mod audit;
pub mod export;
pub mod health;
pub mod ingest;
pub mod openapi;
pub mod tokens;
