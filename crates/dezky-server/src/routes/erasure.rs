//! Erasure of one person's data (GDPR Art. 17) without breaking any hash or proof.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::State;
use dezky_chain::verify::{ERASURE_ACTION, to_ranges};
use dezky_core::Action;
use dezky_store::ErasureSubject;
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
}

/// Erases the personal fields of every event of one subject and records `audit.erased`.
#[utoipa::path(post, path = "/api/v1/audit/erasure", tag = "tamper evidence", request_body = ErasureRequest,
    responses((status = 200, body = ErasureResponse), (status = 400, body = crate::routes::openapi::ErrorBody)),
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
    let outcome = state.store.erase_personal_data(&subject, &build_record, now).await?;
    Ok(Json(ErasureResponse {
        erased_events: outcome.erased_seqs.len(),
        erased_seqs: to_ranges(&outcome.erased_seqs),
        record_seq: outcome.record_seq,
    }))
}
