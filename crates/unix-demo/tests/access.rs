//! Chapter 8: permissions on the socket file, and on its folder, decide who may connect.
//!
//! As root, the stranger is the user `nobody` (the crate's binary run as that user); as an
//! ordinary user, the stranger is this process with the owner's own bits removed.

use std::fs::{self, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use socklab_support::skip::skip;
use unix_demo::access::{self, Probe, Stranger};
use unix_demo::scratch::Scratch;

const BIN: &str = env!("CARGO_BIN_EXE_unix-demo");

/// The stranger of these tests, or `None` (after a loud skip) where there can be none: as
/// root, when user `nobody` cannot run the test's binary.
fn stranger(test: &str) -> Option<Stranger> {
    let who = Stranger::here(Path::new(BIN));
    if who.is_none() {
        skip(
            test,
            "running as root, and user nobody cannot run the binary from here",
        );
    }
    who
}

// ANCHOR: write_permission_decides_who_may_connect
/// Linux: `connect` needs write permission on the socket file. With the stranger's write bit
/// off it gets `EACCES` (`PermissionDenied`); with it on, the same socket lets it in.
#[cfg(target_os = "linux")]
#[test]
fn write_permission_decides_who_may_connect() {
    let scratch = Scratch::new("access").unwrap();
    let path = scratch.path("guarded.sock");
    let Some(who) = stranger("write_permission_decides_who_may_connect") else {
        return;
    };
    let (deny, allow) = who.modes();
    let _listener = access::bind_with_mode(&path, deny).unwrap();
    assert_eq!(
        who.try_connect(&path).unwrap(),
        Probe::Refused(ErrorKind::PermissionDenied),
        "{}, mode {deny:o}",
        who.describe()
    );
    fs::set_permissions(&path, Permissions::from_mode(allow)).unwrap();
    assert_eq!(
        who.try_connect(&path).unwrap(),
        Probe::Connected,
        "mode {allow:o}"
    );
}
// ANCHOR_END: write_permission_decides_who_may_connect

// ANCHOR: a_private_folder_shuts_out_everyone_else
/// A socket inside a folder the stranger may not search cannot be reached, whatever the
/// socket's own bits (here 0777): the portable guard, with no moment of exposure.
#[test]
fn a_private_folder_shuts_out_everyone_else() {
    let scratch = Scratch::new("access").unwrap();
    let folder = scratch.path("private");
    let _listener = access::bind_in_private_folder(&folder, "s.sock").unwrap();
    let path = folder.join("s.sock");
    fs::set_permissions(&path, Permissions::from_mode(0o777)).unwrap();
    let Some(who) = stranger("a_private_folder_shuts_out_everyone_else") else {
        return;
    };
    fs::set_permissions(&folder, Permissions::from_mode(who.closed_folder_mode())).unwrap();
    let outcome = who.try_connect(&path).unwrap();
    // Searchable again, so that the scratch folder can be removed.
    fs::set_permissions(&folder, Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        outcome,
        Probe::Refused(ErrorKind::PermissionDenied),
        "{}",
        who.describe()
    );
    assert_eq!(
        who.try_connect(&path).unwrap(),
        Probe::Connected,
        "folder 0755"
    );
}
// ANCHOR_END: a_private_folder_shuts_out_everyone_else

// ANCHOR: root_passes_every_permission_check
/// Root passes the check: a socket file with mode 0000, in a folder with mode 0000, still
/// lets root connect. (Runs only as root.)
#[test]
fn root_passes_every_permission_check() {
    if !access::running_as_root() {
        skip("root_passes_every_permission_check", "not running as root");
        return;
    }
    let scratch = Scratch::new("access").unwrap();
    let folder = scratch.path("private");
    let _listener = access::bind_in_private_folder(&folder, "s.sock").unwrap();
    let path = folder.join("s.sock");
    fs::set_permissions(&path, Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(&folder, Permissions::from_mode(0o000)).unwrap();
    assert_eq!(access::probe(&path), Probe::Connected);
}
// ANCHOR_END: root_passes_every_permission_check
