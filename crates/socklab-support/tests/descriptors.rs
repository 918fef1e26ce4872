//! The descriptor helpers, in a test binary of their own: they lower this process's limit and
//! fill its descriptor table, which would break any test running beside them.
#![cfg(unix)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Mutex;

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use socklab_support::descriptors::{exhaust, open_files, raise_fd_limit};

/// The limit belongs to the process: the tests here take turns with it.
static LIMIT: Mutex<()> = Mutex::new(());

/// A file opened after `open_files(n)` gets a descriptor numbered at least `n`. After
/// `exhaust(_, 1)` exactly one more file opens, the one after fails with `EMFILE`, and
/// dropping the filler makes room again. (One test, because the two steps must not overlap.)
#[test]
fn open_files_pushes_numbers_up_and_exhaust_leaves_exactly_the_spare() {
    let _turn = LIMIT.lock().unwrap_or_else(|e| e.into_inner());
    let filler = open_files(300).unwrap();
    let next = File::open("/dev/null").unwrap();
    assert!(next.as_raw_fd() >= 300, "{}", next.as_raw_fd());
    drop((filler, next));

    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let filler = exhaust(256, 1).unwrap();
    let last = File::open("/dev/null").expect("one spare descriptor");
    let err = File::open("/dev/null").expect_err("no descriptor left");
    assert_eq!(err.raw_os_error(), Some(nix::libc::EMFILE));
    drop((filler, last));
    File::open("/dev/null").expect("room again");
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
}

/// `raise_fd_limit` lifts a low soft limit up to what was asked (read back with
/// `getrlimit(2)`), never lowers one that is already high enough, and settles for the hard
/// limit when more is asked than an unprivileged process may have.
#[test]
fn raise_fd_limit_lifts_the_soft_limit_and_never_lowers_it() {
    let _turn = LIMIT.lock().unwrap_or_else(|e| e.into_inner());
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let wanted = 512.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, 256.min(hard), hard).unwrap();
    assert_eq!(raise_fd_limit(wanted).unwrap(), wanted);
    assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap().0, wanted);
    assert_eq!(
        raise_fd_limit(64).unwrap(),
        wanted,
        "already enough: unchanged"
    );
    assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap().0, wanted);
    if hard < u64::MAX / 2 {
        // More than the hard limit: root gets it, anyone else gets the hard limit.
        let got = raise_fd_limit(hard + 1).unwrap();
        assert!(got == hard || got == hard + 1, "{got}");
    }
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
}
