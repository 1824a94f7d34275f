//! Erasure of one person's data (GDPR Art. 17) without breaking any hash or proof.

use crate::AppState;
use crate::archive::erase::{ColdErasureError, delete_objects, prepare_cold_erasure};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dezky_chain::verify::{ERASURE_ACTION, to_ranges};
use dezky_core::Action;
use dezky_store::{ErasureSubject, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ErasureRequest {
    /// Erase the events this actor id performed. Give exactly one of actorId and actorEmail.
    pub actor_id: Option<String>,
    /// Erase the events this e-mail address performed (case-insensitive).
    pub actor_email: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErasureResponse {
    pub erased_events: usize,
    /// Inclusive `[first, last]` seq ranges that were erased.
    pub erased_seqs: Vec<(u64, u64)>,
    /// The seq of the `audit.erased` event that records this erasure (null when nothing matched).
    pub record_seq: Option<u64>,
    /// Archive batches rewritten without the erased fields (new data object and superseding
    /// manifest; the old objects are deleted).
    pub archive_batches_rewritten: usize,
}

/// How often an erasure is prepared again when an archive run or another erasure changed the
/// archive while it was being prepared.
const ATTEMPTS: usize = 3;

fn cold_erasure_error(error: ColdErasureError) -> ApiError {
    match error {
        ColdErasureError::Store(error) => error.into(),
        ColdErasureError::NoColdStorage => {
            ApiError::new(StatusCode::CONFLICT, "archive_not_configured", error.to_string())
        }
        other => {
            tracing::error!(error = %other, "the erasure cannot rewrite the archive; nothing was erased");
            ApiError::new(StatusCode::BAD_GATEWAY, "archive_unreadable", other.to_string())
        }
    }
}

/// Erases the personal fields of every event of one subject, in hot storage and in every archive
/// batch (rewritten with a superseding manifest), and records `audit.erased`.
#[utoipa::path(post, path = "/api/v1/audit/erasure", tag = "tamper evidence", request_body = ErasureRequest,
    responses((status = 200, body = ErasureResponse), (status = 400, body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Events are archived but no cold storage is configured", body = crate::routes::openapi::ErrorBody),
        (status = 502, description = "An archive batch could not be read or rewritten; nothing was erased", body = crate::routes::openapi::ErrorBody)),
    security(("bearer" = [])))]
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ErasureRequest>,
) -> Result<Json<ErasureResponse>, ApiError> {
    caller.require_operator()?;
    let subject = match (request.actor_id, request.actor_email) {
        (Some(id), None) if !id.trim().is_empty() => ErasureSubject::ActorId(id),
        (None, Some(email)) if !email.trim().is_empty() => ErasureSubject::ActorEmail(email),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_erasure",
                "give exactly one non-empty actorId or actorEmail",
            ));
        }
    };
    // The record names the subject only by a hash: writing the e-mail into the log would undo
    // the erasure. Whoever knows the subject can still find the record by hashing it.
    let (subject_type, subject_value) = match &subject {
        ErasureSubject::ActorId(id) => ("actorId", id.clone()),
        ErasureSubject::ActorEmail(email) => ("actorEmail", email.to_lowercase()),
    };
    let subject_sha256 = hex::encode(Sha256::digest(subject_value.as_bytes()));
    let now = state.clock.now();
    let actor = caller.actor();
    let build_record = |seqs: &[u64]| {
        let mut event = actor.event(now, Action::parse(ERASURE_ACTION).expect("valid verb"));
        event.resource_type = Some("audit_subject".to_owned());
        event.metadata.insert("subjectType".into(), json!(subject_type));
        event.metadata.insert("subjectSha256".into(), json!(subject_sha256));
        event.metadata.insert("events".into(), json!(seqs.len()));
        event.metadata.insert("erasedSeqs".into(), json!(to_ranges(seqs)));
        event
    };
    let cold = state
        .archiver
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .map(|archiver| archiver.cold().clone());
    let signer = state.checkpointer.signer();
    for attempt in 1..=ATTEMPTS {
        let prepared = prepare_cold_erasure(state.store.as_ref(), cold.as_ref(), signer, &subject, now)
            .await
            .map_err(cold_erasure_error)?;
        match state
            .store
            .erase_personal_data(&subject, &prepared.cold, &build_record, now)
            .await
        {
            Ok(outcome) => {
                delete_objects(cold.as_ref(), &prepared.superseded_keys).await;
                return Ok(Json(ErasureResponse {
                    erased_events: outcome.erased_seqs.len(),
                    erased_seqs: to_ranges(&outcome.erased_seqs),
                    record_seq: outcome.record_seq,
                    archive_batches_rewritten: prepared.cold.revisions.len(),
                }));
            }
            Err(error) => {
                // Nothing refers to the new objects: remove them (they hold no personal data).
                delete_objects(cold.as_ref(), &prepared.uploaded_keys).await;
                match error {
                    StoreError::Conflict(reason) if attempt < ATTEMPTS => {
                        tracing::info!(%reason, attempt, "erasure prepared again");
                    }
                    other => return Err(other.into()),
                }
            }
        }
    }
    Err(ApiError::internal("the erasure could not be prepared"))
}
