//! Command-line grammar.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "dezky",
    version,
    about = "Control plane and tamper-evident audit log for self-hosted workspaces"
)]
pub struct Cli {
    /// Data directory for the embedded SQLite database [env: DEZKY_DATA_DIR] [default: ./data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    pub fn listen_flag(&self) -> Option<String> {
        match &self.command {
            Command::Serve { listen }
            | Command::Config {
                command: ConfigCommand::Check { listen },
            } => listen.clone(),
            _ => None,
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP API (applies pending migrations first)
    Serve {
        /// Address to listen on [env: DEZKY_LISTEN] [default: 127.0.0.1:3001]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Apply pending database migrations and exit
    Migrate,
    /// Inspect the configuration
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage API tokens (works while `dezky serve` runs on the same database)
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Create a checkpoint signing key file and print its public verifier key
    Keygen {
        /// Key name and checkpoint origin [env: AUDIT_LOG_ORIGIN] [default: dezky.local/audit]
        #[arg(long)]
        origin: Option<String>,
        /// Where to write the private key [env: AUDIT_SIGNING_KEY_FILE] [default: <data dir>/audit-signing.key]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Verify the audit log: every event, the hash chain and every signed checkpoint
    Verify {
        /// Verify a JSON Lines export (GET /api/v1/audit/export?format=jsonl&order=asc) instead of the database
        #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
        jsonl: Option<PathBuf>,
        /// Verify an offline bundle (dezky archive bundle): no database, no network
        #[arg(long, value_name = "FILE", conflicts_with = "checkpoints")]
        bundle: Option<PathBuf>,
        /// Public verifier key (name+keyid+base64); default: the key of AUDIT_SIGNING_KEY_FILE
        #[arg(long, value_name = "VKEY")]
        key: Option<String>,
        /// A signed checkpoint note to check the export against (repeatable; with --jsonl)
        #[arg(long = "checkpoint", value_name = "FILE")]
        checkpoints: Vec<PathBuf>,
    },
    /// Cold storage: offline bundles of archived and hot events
    Archive {
        #[command(subcommand)]
        command: ArchiveCommand,
    },
    /// Grant or revoke platform-admin rights of a user who has signed in through OIDC
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and check that the database answers
    Check {
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print only the token on stdout (shown once)
    Create(TokenCreate),
    /// List tokens (never their secrets)
    List,
    /// Revoke a token by id
    Revoke { id: String },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct TokenScopeArgs {
    /// May do everything an operator may
    #[arg(long)]
    pub operator: bool,
    /// Reads one tenant's audit log
    #[arg(long, value_name = "SLUG")]
    pub tenant: Option<String>,
    /// Publishes events as SOURCE through POST /api/v1/ingest/events
    #[arg(long, value_name = "SOURCE")]
    pub ingest: Option<String>,
}

#[derive(Args)]
pub struct TokenCreate {
    #[command(flatten)]
    pub scope: TokenScopeArgs,
    /// A label to recognise the token by
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Subcommand)]
pub enum ArchiveCommand {
    /// Write a self-contained bundle of seqs FROM..=TO (events, manifests, checkpoints with
    /// range proofs, the public key) that `dezky verify --bundle` checks on any machine
    Bundle {
        /// First seq of the range
        #[arg(long, value_name = "SEQ")]
        from: u64,
        /// Last seq of the range (must be covered by a signed checkpoint)
        #[arg(long, value_name = "SEQ")]
        to: u64,
        /// The bundle file to write (never overwritten)
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: PathBuf,
        /// Public verifier key to put in the bundle; default: the key of AUDIT_SIGNING_KEY_FILE
        #[arg(long, value_name = "VKEY")]
        key: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Make the user with this e-mail a platform admin
    Grant {
        #[arg(long)]
        email: String,
    },
    /// Take platform-admin rights away
    Revoke {
        #[arg(long)]
        email: String,
    },
}
