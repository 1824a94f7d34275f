//! The allocator of the dezky processes: jemalloc, installed by each binary with
//! `dezky_server::install_allocator!()` (a library does not choose its program's allocator).
//!
//! The crate exports jemalloc's unprefixed `malloc` symbols, so SQLite's C code allocates from
//! it too. (Those symbols come with linking this crate: a test binary that links it also gets
//! jemalloc's `malloc`, under Rust's default allocator too; the macro makes Rust call jemalloc
//! directly.) FTS5 allocates and frees a small block per term of every event it indexes; under
//! glibc's allocator that was about a sixth of the SQLite writer thread's time, and that thread
//! bounds SQLite appends and the webhook (docs/PERFORMANCE.md, "Ninth session").
//!
//! One option is set at build time, in `.cargo/config.toml` (jemalloc reads its options before
//! the program runs; the other ways to set them need `unsafe`), so a build outside this
//! workspace would not have it; the `MALLOC_CONF` environment variable also sets it: `oversize_threshold` is raised
//! from 8 MiB to 64 MiB. jemalloc returns an allocation above the threshold to the system as
//! soon as it is freed, and verification allocates a page buffer of about 8 MiB per 5,000
//! events: refaulting them cost ~10 % of a verification's wall time (75,000 page faults for
//! 300,000 events on SQLite, 15,000 with the option). Below the threshold, freed memory is
//! reused for jemalloc's usual ten seconds before it goes back to the system.

pub use tikv_jemallocator::Jemalloc;

/// Makes jemalloc the allocator of the calling binary.
#[macro_export]
macro_rules! install_allocator {
    () => {
        #[global_allocator]
        static ALLOCATOR: $crate::allocator::Jemalloc = $crate::allocator::Jemalloc;
    };
}
