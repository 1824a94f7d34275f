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

pub fn random_32_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

pub fn archive_batch_id() -> String {
    format!("arc_{}", random_hex(8))
}
