//! Cold storage: an S3-compatible bucket or a local folder, behind the `object_store` crate.
//!
//! Only four operations are needed — put, head, get, delete — and every error becomes a
//! [`ColdError`] that says which object and why (never a credential).

use crate::archive::config::{ColdTarget, S3Target};
use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, PutPayload, RetryConfig};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ColdError {
    #[error("cold storage is not configured (set AUDIT_COLD_DIR or AUDIT_COLD_ENDPOINT)")]
    NotConfigured,
    #[error("cold storage cannot be opened: {0}")]
    Setup(String),
    #[error("object {key} is missing from cold storage")]
    Missing { key: String },
    #[error(
        "cold storage refused to store {key}: the bucket (or folder) does not exist or is not accessible under this name ({reason})"
    )]
    NoBucket { key: String, reason: String },
    /// S3 answers 403 for a key it does not know (InvalidAccessKeyId), a wrong secret
    /// (SignatureDoesNotMatch) and a key without permission on the bucket (AccessDenied); the
    /// operator's next step is the same for all three, so the message names the variables.
    #[error(
        "cold storage refused the credentials for {key}: check AUDIT_COLD_ACCESS_KEY and AUDIT_COLD_SECRET_KEY, and that this key may read, write and delete objects in the bucket ({reason})"
    )]
    Refused { key: String, reason: String },
    #[error("cold storage failed on {key}: {reason}")]
    Failed { key: String, reason: String },
}

/// Where archive batches are kept.
#[derive(Clone)]
pub struct ColdStorage {
    objects: Arc<dyn ObjectStore>,
    description: String,
}

impl std::fmt::Debug for ColdStorage {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.description)
    }
}

fn failed(key: &str, error: object_store::Error) -> ColdError {
    match error {
        object_store::Error::NotFound { .. } => ColdError::Missing { key: key.to_owned() },
        refused @ (object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }) => {
            ColdError::Refused {
                key: key.to_owned(),
                reason: with_causes(&refused),
            }
        }
        other => ColdError::Failed {
            key: key.to_owned(),
            reason: with_causes(&other),
        },
    }
}

/// The error and its causes ("builder error" alone says nothing; its source says what), on one
/// line: S3's XML error bodies carry newlines, and the text ends up in a log line and the API.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl ColdStorage {
    pub fn open(target: &ColdTarget) -> Result<ColdStorage, ColdError> {
        match target {
            ColdTarget::Directory(directory) => {
                std::fs::create_dir_all(directory)
                    .map_err(|error| ColdError::Setup(format!("AUDIT_COLD_DIR {}: {error}", directory.display())))?;
                let objects = LocalFileSystem::new_with_prefix(directory)
                    .map_err(|error| ColdError::Setup(format!("AUDIT_COLD_DIR {}: {error}", directory.display())))?;
                Ok(ColdStorage {
                    objects: Arc::new(objects),
                    description: format!("folder {}", directory.display()),
                })
            }
            ColdTarget::S3(target) => Self::open_s3(target),
        }
    }

    fn open_s3(target: &S3Target) -> Result<ColdStorage, ColdError> {
        // Few, quick retries: a run that cannot reach the bucket should fail and say so within
        // seconds (nothing is lost: events stay hot until a batch is confirmed).
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(20),
            ..RetryConfig::default()
        };
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(&target.endpoint)
            .with_region(&target.region)
            .with_bucket_name(&target.bucket)
            .with_access_key_id(&target.access_key)
            .with_secret_access_key(target.secret_key.expose_secret())
            .with_virtual_hosted_style_request(false)
            .with_retry(retry)
            // allow_http is a client option: set it in the options that are passed, or they
            // would replace it.
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(target.endpoint.starts_with("http://"))
                    .with_timeout(Duration::from_secs(120))
                    .with_connect_timeout(Duration::from_secs(5)),
            );
        if target.server_side_encryption {
            let key: AmazonS3ConfigKey = "aws_server_side_encryption"
                .parse()
                .map_err(|error: object_store::Error| ColdError::Setup(error.to_string()))?;
            builder = builder.with_config(key, "AES256");
        }
        let objects = builder
            .build()
            .map_err(|error| ColdError::Setup(format!("AUDIT_COLD_ENDPOINT: {error}")))?;
        Ok(ColdStorage {
            objects: Arc::new(objects),
            description: format!("bucket {} at {}", target.bucket, target.endpoint),
        })
    }

    pub fn describe(&self) -> &str {
        &self.description
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), ColdError> {
        match self.objects.put(&Path::from(key), PutPayload::from(bytes)).await {
            Ok(_) => Ok(()),
            // "Not found" on a write cannot be the object: S3 answers 404 NoSuchBucket.
            Err(error @ object_store::Error::NotFound { .. }) => Err(ColdError::NoBucket {
                key: key.to_owned(),
                reason: with_causes(&error),
            }),
            Err(error) => Err(failed(key, error)),
        }
    }

    /// The object's size, `Missing` when it does not exist.
    pub async fn size(&self, key: &str) -> Result<u64, ColdError> {
        let meta = self
            .objects
            .head(&Path::from(key))
            .await
            .map_err(|error| failed(key, error))?;
        Ok(meta.size)
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, ColdError> {
        let result = self
            .objects
            .get(&Path::from(key))
            .await
            .map_err(|error| failed(key, error))?;
        result.bytes().await.map_err(|error| failed(key, error))
    }

    /// Deletes an object; a missing one counts as deleted.
    pub async fn delete(&self, key: &str) -> Result<(), ColdError> {
        match self.objects.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(failed(key, error)),
        }
    }
}
