//! Probe first: is io_uring usable here, and if not, why not?
//!
//! io_uring is Linux only (5.1 and later), and even there it may be missing or forbidden:
//!
//! - **An old kernel.** This crate uses multishot accept and provided buffer rings (5.19) and
//!   multishot receive (6.0).
//! - **`/proc/sys/kernel/io_uring_disabled`** (Linux 6.6): `0` allows it, `1` allows it only
//!   to processes in the group named by `io_uring_group` (and to root), `2` forbids it to
//!   everyone; `io_uring_setup(2)` then fails with `EPERM`.
//! - **A seccomp profile** that blocks the three io_uring system calls, as Docker's default
//!   profile and many sandboxes do (io_uring has been a rich source of kernel bugs): the
//!   call fails with `EPERM` or `ENOSYS`.
//!
//! [`support`] asks once per process: it reads the kernel's version and the sysctl, builds a
//! real ring with a buffer pool, and asks the kernel which operations it has
//! (`IORING_REGISTER_PROBE`). Tests call [`available`], which reports a loud skip with the
//! reason (`socklab_support::skip`) when the answer is no. Setting `SOCKLAB_NO_URING=1` makes
//! the probe answer no, so the skip path itself can be tested on a machine that has io_uring.

use std::sync::OnceLock;

use io_uring::{IoUring, Probe, opcode};

use crate::ring::{Options, Ring};

/// The variable that makes [`support`] answer no, for testing the skip path.
pub const DISABLE_VAR: &str = "SOCKLAB_NO_URING";

/// `Ok` if this crate's io_uring features work here, or the reason they do not.
pub fn support() -> Result<(), String> {
    static ANSWER: OnceLock<Result<(), String>> = OnceLock::new();
    ANSWER.get_or_init(ask).clone()
}

/// For tests: `true` if io_uring works here; otherwise reports `test` as skipped with the
/// reason and returns `false` (the test then returns).
pub fn available(test: &str) -> bool {
    match support() {
        Ok(()) => true,
        Err(reason) => {
            socklab_support::skip::skip(test, &reason);
            false
        }
    }
}

fn ask() -> Result<(), String> {
    if std::env::var_os(DISABLE_VAR).is_some_and(|v| !v.is_empty() && v != "0") {
        return Err(format!("io_uring switched off by {DISABLE_VAR}"));
    }
    if !cfg!(target_os = "linux") {
        return Err("io_uring is Linux only".into());
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let release = release.trim();
    if let Some((major, minor)) = version(release)
        && (major, minor) < (6, 0)
    {
        return Err(format!(
            "kernel {release} is older than 6.0, which multishot receive needs"
        ));
    }
    let disabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok());
    if disabled == Some(2) {
        return Err(
            "io_uring is disabled for every process (/proc/sys/kernel/io_uring_disabled = 2)"
                .into(),
        );
    }
    let uring = IoUring::new(8).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::EPERM) if disabled == Some(1) => {
                "forbidden to this process (/proc/sys/kernel/io_uring_disabled = 1 and it is \
                 not in io_uring_group)"
            }
            Some(libc::EPERM) => {
                "forbidden, most likely by a seccomp profile (Docker's default blocks io_uring)"
            }
            Some(libc::ENOSYS) => "not in this kernel, or blocked by a seccomp profile",
            _ => "refused",
        };
        format!("io_uring_setup(2) failed: {e}: {why}")
    })?;
    let mut probe = Probe::new();
    uring
        .submitter()
        .register_probe(&mut probe)
        .map_err(|e| format!("cannot ask the kernel which io_uring operations it has: {e}"))?;
    for (code, name) in [
        (opcode::AcceptMulti::CODE, "ACCEPT"),
        (opcode::Recv::CODE, "RECV"),
        (opcode::Send::CODE, "SEND"),
        (opcode::PollAdd::CODE, "POLL_ADD"),
        (opcode::AsyncCancel::CODE, "ASYNC_CANCEL"),
    ] {
        if !probe.is_supported(code) {
            return Err(format!("this kernel's io_uring has no IORING_OP_{name}"));
        }
    }
    drop(uring);
    Ring::new(Options::default())
        .map(drop)
        .map_err(|e| format!("cannot set up a ring with a provided buffer pool: {e}"))
}

/// `(major, minor)` of a kernel release such as `6.18.44-fc`.
fn version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kernel releases parse to (major, minor) whatever their suffix.
    #[test]
    fn kernel_versions_parse() {
        assert_eq!(version("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(version("5.15.0-91-generic"), Some((5, 15)));
        assert_eq!(version("garbage"), None);
    }
}
