//! Random identifiers for rows dezky creates.

use rand::RngCore;

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    buffer.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn token_id() -> String {
    format!("tok_{}", random_hex(8))
}

pub fn user_id() -> String {
    format!("usr_{}", random_hex(8))
}

pub fn invite_id() -> String {
    format!("inv_{}", random_hex(8))
}

pub fn random_32_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// This instance's name as a worker-lease holder: the host and the configured listen address.
/// Stable across restarts, so a restarted instance takes its own lease back at once instead of
/// waiting for it to expire; distinct between instances (no two listen on one host and port).
pub fn lease_holder(listen: std::net::SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("host-{}", random_hex(4)));
    format!("{host}/{listen}")
}

pub fn archive_batch_id() -> String {
    format!("arc_{}", random_hex(8))
}
