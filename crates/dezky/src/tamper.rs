//! `dezky keygen` and `dezky verify`: the auditor's tools. `verify` needs only the public key,
//! and with `--jsonl` not even the database.

use crate::output::outln;
use anyhow::{Context, bail};
use dezky_chain::checkpoint::{Checkpoint, NoteSigner, NoteVerifier, verify_checkpoint};
use dezky_chain::verify::{CheckpointKeys, Report, StoredCheckpoint, Verifier};
use dezky_core::AuditEvent;
use dezky_server::config::Config;
use std::io::BufRead;
use std::path::PathBuf;

pub fn keygen(config: &Config, origin: Option<String>, out: Option<PathBuf>) -> anyhow::Result<()> {
    let origin = origin.unwrap_or_else(|| config.checkpoints.origin.clone());
    let path = out.unwrap_or_else(|| config.checkpoints.signing_key_file.clone());
    if path.exists() {
        bail!("{} exists already; refusing to overwrite a signing key", path.display());
    }
    let signer =
        NoteSigner::from_seed(&origin, rand::random()).map_err(|error| anyhow::anyhow!("--origin: {error}"))?;
    dezky_server::signing::write_key(&path, &signer).map_err(anyhow::Error::msg)?;
    eprintln!(
        "wrote the private key to {} (mode 0600); the public verifier key is:",
        path.display()
    );
    outln!("{}", signer.verifier().to_vkey());
    Ok(())
}

pub fn verifier_key(config: &Config, key: Option<String>) -> anyhow::Result<Option<NoteVerifier>> {
    match key {
        Some(text) => NoteVerifier::parse_vkey(text.trim())
            .map(Some)
            .map_err(|error| anyhow::anyhow!("--key: {error}")),
        None if config.checkpoints.signing_key_file.exists() => {
            let signer =
                dezky_server::signing::read_key(&config.checkpoints.signing_key_file).map_err(anyhow::Error::msg)?;
            Ok(Some(signer.verifier()))
        }
        None => Ok(None),
    }
}

pub async fn verify(
    config: &Config,
    jsonl: Option<PathBuf>,
    key: Option<String>,
    notes: Vec<PathBuf>,
) -> anyhow::Result<()> {
    let verifier = verifier_key(config, key)?;
    let keys = verifier
        .as_ref()
        .map(|verifier| CheckpointKeys { verifier, hmac: None });
    if verifier.is_none() {
        eprintln!("no verifier key (--key or AUDIT_SIGNING_KEY_FILE): checkpoint signatures are not checked");
    }
    let report = match jsonl {
        Some(path) => {
            let report = verify_jsonl(&path, &notes, keys)?;
            outln!("{}", serde_json::to_string_pretty(&report)?);
            report
        }
        None => {
            if !notes.is_empty() {
                bail!("--checkpoint goes with --jsonl; the database holds its own checkpoints");
            }
            let store = dezky_store::open_with(&config.database_url, dezky_store::Indexing::Off)
                .await
                .context("DATABASE_URL")?;
            // Across tiers: the archive batches in cold storage (when configured), then hot.
            let cold = config
                .archive
                .target
                .as_ref()
                .map(dezky_server::archive::cold::ColdStorage::open)
                .transpose()
                .context("cold storage")?;
            let tiered =
                dezky_server::archive::verify::verify_across_tiers(store.as_ref(), cold.as_ref(), keys).await?;
            outln!("{}", serde_json::to_string_pretty(&tiered)?);
            tiered.report
        }
    };
    if !report.ok {
        bail!("verification found {} break(s)", report.breaks.len());
    }
    Ok(())
}

/// Exported events hashed together, in parallel.
const JSONL_RUN: usize = 5_000;

fn verify_jsonl(path: &PathBuf, notes: &[PathBuf], keys: Option<CheckpointKeys<'_>>) -> anyhow::Result<Report> {
    let mut checkpoints = vec![];
    for note_path in notes {
        let note =
            std::fs::read_to_string(note_path).with_context(|| format!("--checkpoint {}", note_path.display()))?;
        let Some(keys) = &keys else {
            bail!("--checkpoint needs a verifier key (--key)")
        };
        // A note whose signature fails still enters the walk (by its unverified body), so the
        // report names it as a signature mismatch instead of the command stopping here.
        let body = note
            .split_once("\n\n")
            .map(|(body, _)| format!("{body}\n"))
            .unwrap_or_default();
        let parsed = verify_checkpoint(&note, keys.verifier).or_else(|_| Checkpoint::parse_body(&body));
        let parsed = parsed.map_err(|error| anyhow::anyhow!("--checkpoint {}: {error}", note_path.display()))?;
        checkpoints.push(StoredCheckpoint {
            tree_size: parsed.tree_size,
            root_hash: parsed.root_hash,
            note,
        });
    }
    let file = std::fs::File::open(path).with_context(|| format!("--jsonl {}", path.display()))?;
    let mut verifier = Verifier::new(checkpoints, keys);
    // Events are hashed a run at a time, in parallel (constant memory: one run).
    let mut run: Vec<AuditEvent> = Vec::with_capacity(JSONL_RUN);
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let event: AuditEvent = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}: not an exported audit event", path.display(), number + 1))?;
        run.push(event);
        if run.len() == JSONL_RUN {
            dezky_server::verification::push_events(&mut verifier, &run);
            run.clear();
        }
    }
    dezky_server::verification::push_events(&mut verifier, &run);
    Ok(verifier.finish())
}
