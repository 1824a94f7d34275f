//! `dezky archive bundle` and `dezky verify --bundle`: relocation-proof evidence. Writing needs
//! the database (and cold storage for archived seqs); verifying needs only the file.

use crate::output::outln;
use crate::tamper::verifier_key;
use anyhow::{Context, bail};
use dezky_chain::bundle::{BundleVerifier, parse_header};
use dezky_chain::checkpoint::NoteVerifier;
use dezky_server::archive::bundle::write_bundle;
use dezky_server::archive::cold::ColdStorage;
use dezky_server::clock::{Clock, SystemClock};
use dezky_server::config::Config;
use std::io::BufRead;
use std::path::Path;

pub async fn write(config: &Config, range: (u64, u64), out: &Path, key: Option<String>) -> anyhow::Result<()> {
    if out.exists() {
        bail!("-o {}: the file exists already; choose another name", out.display());
    }
    let Some(key) = verifier_key(config, key)? else {
        bail!(
            "a bundle carries the log's public key: pass --key or set AUDIT_SIGNING_KEY_FILE ({} does not exist)",
            config.checkpoints.signing_key_file.display()
        );
    };
    let store = dezky_server::serve::open_store(config).await?;
    let cold = config
        .archive
        .target
        .as_ref()
        .map(ColdStorage::open)
        .transpose()
        .context("cold storage")?;
    // Written beside the target and renamed at the end: a failed run leaves no bundle that
    // looks whole.
    let partial = out.with_extension("partial");
    let file = std::fs::File::create(&partial).with_context(|| format!("-o {}", out.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let written = write_bundle(
        store.as_ref(),
        cold.as_ref(),
        &key,
        range,
        SystemClock.now(),
        &mut writer,
    )
    .await;
    drop(writer);
    let summary = match written {
        Ok(summary) => summary,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error.into());
        }
    };
    std::fs::rename(&partial, out).with_context(|| format!("-o {}", out.display()))?;
    eprintln!(
        "wrote {}: seqs {}..={} ({} events, {} manifests, {} checkpoints)",
        out.display(),
        range.0,
        range.1,
        summary.events,
        summary.manifests,
        summary.checkpoints
    );
    Ok(())
}

pub fn verify(path: &Path, key: Option<String>) -> anyhow::Result<()> {
    let pinned = key
        .map(|text| NoteVerifier::parse_vkey(text.trim()).map_err(|error| anyhow::anyhow!("--key: {error}")))
        .transpose()?;
    let file = std::fs::File::open(path).with_context(|| format!("--bundle {}", path.display()))?;
    let mut lines = std::io::BufReader::new(file).split(b'\n');
    let first = match lines.next() {
        Some(line) => line.with_context(|| format!("reading {}", path.display()))?,
        None => bail!("--bundle {}: the file is empty", path.display()),
    };
    let header = parse_header(&first).with_context(|| format!("--bundle {}", path.display()))?;
    if pinned.is_none() {
        eprintln!(
            "no --key: the signatures are checked with the key the bundle names ({}); pin the log's key to trust the result",
            header.verifier_key
        );
    }
    let mut verifier = BundleVerifier::new(header, pinned).with_context(|| format!("--bundle {}", path.display()))?;
    for line in lines {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        verifier.push_line(&line);
    }
    let report = verifier.finish();
    outln!("{}", serde_json::to_string_pretty(&report)?);
    if !report.report.ok {
        bail!("verification found {} break(s)", report.report.breaks.len());
    }
    Ok(())
}
