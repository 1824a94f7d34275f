//! Verification of the whole log, and RFC 9162 inclusion and consistency proofs.

use crate::AppState;
use crate::archive::verify::{TieredReport, verify_across_tiers};
use crate::auth::Caller;
use crate::checkpoints::root_at;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use dezky_chain::merkle::{Hash, consistency_ranges, inclusion_ranges};
use dezky_chain::verify::CheckpointKeys;
use dezky_store::Store;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InclusionQuery {
    pub seq: u64,
    /// Defaults to the current tree size.
    pub tree_size: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub from: u64,
    /// Defaults to the current tree size.
    pub to: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    pub seq: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    /// RFC 9162 §2.1.3 audit path, lowercase hex, deepest first.
    pub path: Vec<String>,
    /// The root the path leads to, for convenience (check it against a signed checkpoint).
    pub root_hash: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// RFC 9162 §2.1.4 consistency path, lowercase hex.
    pub path: Vec<String>,
    pub from_root: String,
    pub to_root: String,
}

async fn range_hashes(store: &dyn Store, ranges: &[(u64, u64)]) -> Result<Vec<Hash>, ApiError> {
    Ok(crate::verification::range_hashes(store, ranges).await?)
}

fn hex_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

async fn size_or_current(state: &AppState, requested: Option<u64>, parameter: &str) -> Result<u64, ApiError> {
    let current = state.store.next_seq().await?;
    match requested {
        None => Ok(current),
        Some(size) if size <= current => Ok(size),
        Some(size) => Err(ApiError::bad_request(
            "invalid_query",
            format!("query parameter '{parameter}': {size} is beyond the log's size {current}"),
        )),
    }
}

/// Walks the whole log and every checkpoint and reports every break (operators).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "tamper evidence",
    responses((status = 200, description = "The verification report across the cold and hot tiers (oldestHotSeq, highestArchivedSeq); ok is false when any break was found")),
    security(("bearer" = [])))]
pub async fn verify(State(state): State<AppState>, caller: Caller) -> Result<Json<TieredReport>, ApiError> {
    caller.require_operator()?;
    let _turn = state.verification_turn.lock().await;
    let signer = state.checkpointer.signer();
    let verifier = signer.verifier();
    let keys = CheckpointKeys {
        verifier: &verifier,
        hmac: signer.hmac(),
    };
    let archiver = state.archiver.as_ref().ok().and_then(Option::as_ref);
    let report = verify_across_tiers(
        state.store.as_ref(),
        archiver.map(|archiver| archiver.cold()),
        Some(keys),
    )
    .await?;
    Ok(Json(report))
}

/// Proof that event `seq` is leaf `seq` of the tree of `treeSize` events (operators).
#[utoipa::path(get, path = "/api/v1/audit/proof/inclusion", tag = "tamper evidence",
    params(("seq" = u64, Query), ("treeSize" = Option<u64>, Query, description = "default: current size")),
    responses((status = 200, body = InclusionProof), (status = 400, body = crate::routes::openapi::ErrorBody)),
    security(("bearer" = [])))]
pub async fn inclusion(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    caller.require_operator()?;
    let tree_size = size_or_current(&state, query.tree_size, "treeSize").await?;
    let ranges = inclusion_ranges(query.seq, tree_size)
        .map_err(|error| ApiError::bad_request("invalid_query", error.to_string()))?;
    let path = range_hashes(state.store.as_ref(), &ranges).await?;
    let leaf = range_hashes(state.store.as_ref(), &[(query.seq, query.seq + 1)]).await?;
    let root = root_at(state.store.as_ref(), tree_size).await?;
    Ok(Json(InclusionProof {
        seq: query.seq,
        tree_size,
        leaf_hash: hex::encode(leaf[0]),
        path: hex_all(&path),
        root_hash: hex::encode(root),
    }))
}

/// Proof that the tree of `to` events extends the tree of `from` events (operators).
#[utoipa::path(get, path = "/api/v1/audit/proof/consistency", tag = "tamper evidence",
    params(("from" = u64, Query), ("to" = Option<u64>, Query, description = "default: current size")),
    responses((status = 200, body = ConsistencyProof), (status = 400, body = crate::routes::openapi::ErrorBody)),
    security(("bearer" = [])))]
pub async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    caller.require_operator()?;
    let to = size_or_current(&state, query.to, "to").await?;
    let ranges = consistency_ranges(query.from, to)
        .map_err(|error| ApiError::bad_request("invalid_query", error.to_string()))?;
    let path = range_hashes(state.store.as_ref(), &ranges).await?;
    Ok(Json(ConsistencyProof {
        from: query.from,
        to,
        path: hex_all(&path),
        from_root: hex::encode(root_at(state.store.as_ref(), query.from).await?),
        to_root: hex::encode(root_at(state.store.as_ref(), to).await?),
    }))
}
