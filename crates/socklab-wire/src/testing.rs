//! Getting a lab inside a test: made here, made in a child process, or skipped out loud.
//!
//! A test calls [`lab`] and returns when it gets `None`:
//!
//! ```no_run
//! # use socklab_wire::{LinkConfig, testing};
//! let Some(lab) = testing::lab("my_test", LinkConfig::default()) else { return };
//! ```
//!
//! - As root, the lab is made here and the test goes on.
//! - Without root, where unprivileged user namespaces work, the test binary runs this one test
//!   again in a child process started by `unshare --user --map-root-user`, where it *is* root
//!   of its own namespaces; the child's output is printed, its failure is this test's failure,
//!   and this copy returns.
//! - Where no lab can be made, the test is reported skipped with the exact reason and fix
//!   (`socklab_support::skip`), never passed in silence.

use std::time::Duration;

use socklab_support::process;
use socklab_support::skip::skip;

use crate::access::CHILD_VAR;
use crate::impair::LinkConfig;
use crate::lab::Lab;

/// How long a test re-run in a user namespace may take.
const CHILD_LIMIT: Duration = Duration::from_secs(120);

// ANCHOR: lab
/// A lab for test `name`, or `None` when the test has been run in a child process or skipped
/// (then the test returns at once). Panics if a lab should be possible here and fails.
pub fn lab(name: &str, config: LinkConfig) -> Option<Lab> {
    match Lab::available() {
        Ok(()) => match Lab::new(config) {
            Ok(lab) => Some(lab),
            Err(e) => panic!("{name}: the lab is allowed here but could not be made: {e}"),
        },
        Err(u) if u.user_namespace_works && std::env::var_os(CHILD_VAR).is_none() => {
            rerun_in_user_namespace(name);
            None
        }
        Err(u) => {
            skip(name, &format!("no wire lab: {u}"));
            None
        }
    }
}
// ANCHOR_END: lab

/// Runs test `name` of this test binary again, alone, as root of a new user namespace, and
/// fails if it fails there (or did not run there at all).
fn rerun_in_user_namespace(name: &str) {
    // libtest names each test's thread after the test's full path; `name` is the fallback.
    let current = std::thread::current();
    let path = current
        .name()
        .filter(|n| *n != "main" && n.ends_with(name))
        .unwrap_or(name)
        .to_string();
    let exe = std::env::current_exe().expect("the test binary's path");
    let exe = exe.to_string_lossy();
    let marker = format!("{CHILD_VAR}=1");
    let out = process::run(
        "unshare",
        &[
            "--user",
            "--map-root-user",
            "--",
            "env",
            &marker,
            &exe,
            &path,
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ],
        CHILD_LIMIT,
    );
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    assert!(
        out.code == Some(0) && out.stdout.contains("1 passed"),
        "{path}: failed when re-run in a user namespace (exit code {:?})",
        out.code
    );
}
