//! The checkpoint signing key: an Ed25519 key in the C2SP private-key text format, loaded from
//! AUDIT_SIGNING_KEY_FILE or, for the zero-setup single machine, created there on first start.
//! Several instances on one database must share one key file (set the variable explicitly).

use crate::config::CheckpointConfig;
use dezky_chain::checkpoint::{NoteSigner, NoteVerifier};
use secrecy::{ExposeSecret, SecretString};
use std::io::Write;
use std::path::Path;

/// Everything that signs checkpoints.
pub struct AuditSigner {
    pub signer: NoteSigner,
    /// The HMAC line's key name and secret (AUDIT_SIGNING_KEY), if configured.
    hmac: Option<(String, SecretString)>,
}

impl AuditSigner {
    pub fn new(signer: NoteSigner, hmac_secret: Option<SecretString>) -> AuditSigner {
        let hmac = hmac_secret.map(|secret| (format!("{}/hmac", signer.name()), secret));
        AuditSigner { signer, hmac }
    }

    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    pub fn hmac(&self) -> Option<(&str, &[u8])> {
        self.hmac
            .as_ref()
            .map(|(name, secret)| (name.as_str(), secret.expose_secret().as_bytes()))
    }
}

/// Reads the key file, or creates it (mode 0600) with a fresh key when it does not exist.
pub fn load_or_create(config: &CheckpointConfig) -> Result<AuditSigner, String> {
    let path = &config.signing_key_file;
    let signer = if path.exists() {
        read_key(path)?
    } else {
        let signer = NoteSigner::from_seed(&config.origin, crate::ids::random_32_bytes())
            .map_err(|error| format!("AUDIT_LOG_ORIGIN: {error}"))?;
        write_key(path, &signer)?;
        tracing::info!(path = %path.display(), vkey = %signer.verifier().to_vkey(), "created a checkpoint signing key");
        signer
    };
    Ok(AuditSigner::new(signer, config.hmac_secret.clone()))
}

pub fn read_key(path: &Path) -> Result<NoteSigner, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("AUDIT_SIGNING_KEY_FILE: cannot read {}: {error}", path.display()))?;
    NoteSigner::parse_private_key_text(text.trim()).map_err(|error| {
        format!(
            "AUDIT_SIGNING_KEY_FILE: {} is not a signing key: {error}",
            path.display()
        )
    })
}

/// Writes a new key file; refuses to overwrite an existing one.
pub fn write_key(path: &Path, signer: &NoteSigner) -> Result<(), String> {
    if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
    writeln!(file, "{}", signer.to_private_key_text())
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}
