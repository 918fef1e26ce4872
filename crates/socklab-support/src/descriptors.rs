//! A process's descriptor numbers: using them up on purpose, for the tests that show what a
//! server does when they run out (`EMFILE` from `accept(2)`) or run high (select's
//! `FD_SETSIZE`); and raising the limit, for the load tests and benchmarks that hold
//! thousands of connections.
//!
//! Descriptors belong to the whole process, so a test that calls these belongs in a test
//! binary of its own, or must take turns with the other tests in its binary.
//! `getrlimit(2)`/`setrlimit(2)` with `RLIMIT_NOFILE` are the calls behind [`exhaust`] and
//! [`raise_fd_limit`]; `/dev/null` is opened because it is the cheapest file there is.

use std::fs::File;
use std::io;

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Opens `n` files, pushing every descriptor opened after them to a number above `n`. Dropping
/// the returned files frees the numbers again.
pub fn open_files(n: usize) -> io::Result<Vec<File>> {
    (0..n).map(|_| File::open("/dev/null")).collect()
}

/// Lowers this process's soft descriptor limit to `limit` (the hard limit is kept, so it can
/// be raised again), then opens files until the next open fails with `EMFILE`, and closes
/// `spare` of them: afterwards exactly `spare` more descriptors can be opened. Dropping the
/// returned files frees the rest.
pub fn exhaust(limit: u64, spare: usize) -> io::Result<Vec<File>> {
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    setrlimit(Resource::RLIMIT_NOFILE, limit.min(hard), hard)?;
    let mut files = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => files.push(f),
            // EMFILE: the limit is reached, which is the point.
            Err(e) if e.raw_os_error() == Some(nix::libc::EMFILE) => break,
            Err(e) => return Err(e),
        }
    }
    files.truncate(files.len().saturating_sub(spare));
    Ok(files)
}

/// Raises this process's soft descriptor limit to at least `wanted` if the hard limit (or,
/// for root, raising the hard limit) allows; returns the soft limit now in force, which may
/// be less than `wanted`: the caller decides whether that is enough, and says so.
pub fn raise_fd_limit(wanted: u64) -> io::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft >= wanted {
        return Ok(soft);
    }
    if hard >= wanted {
        setrlimit(Resource::RLIMIT_NOFILE, wanted, hard)?;
        return Ok(wanted);
    }
    // Raising the hard limit needs privilege (CAP_SYS_RESOURCE); try, and settle otherwise.
    if setrlimit(Resource::RLIMIT_NOFILE, wanted, wanted).is_ok() {
        return Ok(wanted);
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    Ok(hard)
}
