//! Physical limits measured in the same run as everything else: what one core hashes per second
//! (every event costs a commitment, a leaf, a chain hash and about one Merkle node) and how many
//! durable writes per second the disk under the data directory takes (each group commit needs
//! at least one).

use crate::results::{Fsync, HashRate};
use crate::stats::percentile;
use sha2::{Digest, Sha256};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Input sizes: a chain or Merkle hash (64/65 bytes) and the event-sized leaf and commitment inputs.
pub const HASH_INPUTS: [usize; 4] = [64, 300, 450, 600];

/// SHA-256 hashes per second of `input_bytes`-byte inputs on one core, for about `duration`.
pub fn sha256_rate(input_bytes: usize, duration: Duration) -> HashRate {
    let mut input: Vec<u8> = (0..input_bytes).map(|i| (i * 31 % 251) as u8).collect();
    let started = Instant::now();
    let mut hashes = 0u64;
    while started.elapsed() < duration {
        for _ in 0..1_000 {
            let digest = Sha256::digest(&input);
            // Feed the digest back so the compiler cannot hoist the hashing out of the loop.
            input[0] ^= digest[0];
        }
        hashes += 1_000;
    }
    let seconds = started.elapsed().as_secs_f64();
    HashRate {
        input_bytes,
        hashes_per_second: hashes as f64 / seconds,
        mib_per_second: (hashes as f64 * input_bytes as f64) / (1024.0 * 1024.0) / seconds,
    }
}

/// Overwrites `write_bytes` at the start of a file in `directory` and fsyncs it, in a loop, for
/// about `duration`: the rate of durable commits this disk allows one writer.
pub fn fsync_rate(directory: &Path, write_bytes: usize, duration: Duration) -> std::io::Result<Fsync> {
    let path = directory.join(format!("dezky-bench-fsync-{}.tmp", std::process::id()));
    let result = measure_fsync(&path, write_bytes, duration);
    let _ = std::fs::remove_file(&path);
    let mut latencies = result?;
    let total: f64 = latencies.iter().sum();
    latencies.sort_by(f64::total_cmp);
    Ok(Fsync {
        directory: directory.display().to_string(),
        write_bytes,
        fsyncs_per_second: latencies.len() as f64 / (total / 1_000.0),
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
    })
}

fn measure_fsync(path: &Path, write_bytes: usize, duration: Duration) -> std::io::Result<Vec<f64>> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)?;
    let mut block = vec![0u8; write_bytes];
    let started = Instant::now();
    let mut latencies = vec![];
    while started.elapsed() < duration || latencies.len() < 10 {
        block[0] = block[0].wrapping_add(1);
        let write = Instant::now();
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&block)?;
        file.sync_all()?;
        latencies.push(write.elapsed().as_secs_f64() * 1_000.0);
    }
    Ok(latencies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_counts_whole_rounds_and_reports_consistent_units() {
        let rate = sha256_rate(300, Duration::from_millis(5));
        assert_eq!(rate.input_bytes, 300);
        assert!(rate.hashes_per_second > 0.0);
        let mib = rate.hashes_per_second * 300.0 / (1024.0 * 1024.0);
        assert!((mib - rate.mib_per_second).abs() < 1e-6 * mib.max(1.0));
    }

    #[test]
    fn fsync_leaves_no_file_behind_and_names_a_missing_directory() {
        let folder = dezky_testkit::temp_folder("bench-fsync");
        let fsync = fsync_rate(&folder, 4096, Duration::from_millis(1)).unwrap();
        assert!(fsync.fsyncs_per_second > 0.0);
        assert!(fsync.p50_ms <= fsync.p99_ms);
        assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
        let missing = folder.join("missing");
        assert!(fsync_rate(&missing, 4096, Duration::from_millis(1)).is_err());
        std::fs::remove_dir_all(folder).unwrap();
    }
}
