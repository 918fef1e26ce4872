//! The descriptor helpers, in a test binary of their own: they lower this process's limit and
//! fill its descriptor table, which would break any test running beside them.
#![cfg(unix)]

use std::fs::File;
use std::os::fd::AsRawFd;

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use socklab_support::descriptors::{exhaust, open_files};

/// A file opened after `open_files(n)` gets a descriptor numbered at least `n`. After
/// `exhaust(_, 1)` exactly one more file opens, the one after fails with `EMFILE`, and
/// dropping the filler makes room again. (One test, because the two steps must not overlap.)
#[test]
fn open_files_pushes_numbers_up_and_exhaust_leaves_exactly_the_spare() {
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
