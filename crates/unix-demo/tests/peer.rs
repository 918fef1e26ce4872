//! Chapter 8: the kernel tells a server who is at the other end of a Unix socket.

use std::os::unix::net::UnixStream;
use std::path::Path;

use unix_demo::access;
use unix_demo::peer;
use unix_demo::scratch::Scratch;

const BIN: &str = env!("CARGO_BIN_EXE_unix-demo");

// ANCHOR: the_kernel_names_the_process_at_the_other_end
/// A server asks who connected, and the kernel names the *other* process: its pid (Linux),
/// and its user: `nobody` (65534) when we, root, run the client as that user; our own user
/// otherwise.
#[test]
fn the_kernel_names_the_process_at_the_other_end() {
    let scratch = Scratch::new("peer").unwrap();
    let as_nobody = access::other_user(Path::new(BIN));
    let (peer, child_pid) =
        peer::peer_of_child(Path::new(BIN), &scratch.path("who.sock"), as_nobody).unwrap();
    let expected = as_nobody.unwrap_or((peer::me().uid, peer::me().gid));
    assert_eq!((peer.uid, peer.gid), expected);
    #[cfg(target_os = "linux")]
    {
        assert_eq!(peer.pid, Some(child_pid as i32), "the child's pid");
        assert_ne!(peer.pid, peer::me().pid, "not ours");
    }
    let _ = child_pid;
}
// ANCHOR_END: the_kernel_names_the_process_at_the_other_end

// ANCHOR: a_socketpair_peer_is_ourselves
/// Both ends of a `socketpair` belong to the process that made it: the credentials are ours.
#[test]
fn a_socketpair_peer_is_ourselves() {
    let (a, _b) = UnixStream::pair().unwrap();
    assert_eq!(peer::peer_of(&a).unwrap(), peer::me());
}
// ANCHOR_END: a_socketpair_peer_is_ourselves
