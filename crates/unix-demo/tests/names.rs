//! Chapter 8: path names are files that outlive their socket; Linux's abstract names are not
//! files and vanish with the socket.

use std::io::ErrorKind;

use unix_demo::names;
use unix_demo::scratch::Scratch;

// ANCHOR: a_path_name_is_a_file_that_outlives_its_socket
/// `bind` to a path creates a socket file, and a client connects by that path; closing the
/// listener leaves the file, and a new `bind` to the path fails with `EADDRINUSE`.
#[test]
fn a_path_name_is_a_file_that_outlives_its_socket() {
    let scratch = Scratch::new("names").unwrap();
    let path = scratch.path("listener.sock");
    let life = names::path_name_life(&path).unwrap();
    assert!(life.visible_while_open, "bind made a socket file");
    assert!(life.connected);
    assert!(life.visible_after_close, "the file outlived the socket");
    assert_eq!(life.rebind_error, Some(ErrorKind::AddrInUse));
}
// ANCHOR_END: a_path_name_is_a_file_that_outlives_its_socket

// ANCHOR: abstract_names_vanish_with_their_socket
/// Linux: an abstract name is listed in the kernel's table (`/proc/net/unix`, as `@name`)
/// while its socket is open, reaches the listener, and is gone the moment the socket closes:
/// binding it again succeeds at once, with nothing to clean up.
#[cfg(target_os = "linux")]
#[test]
fn abstract_names_vanish_with_their_socket() {
    let scratch = Scratch::new("names").unwrap();
    let name = scratch.unique_name("abstract");
    let life = names::abstract_name_life(&name).unwrap();
    assert!(life.visible_while_open, "@{name} was not in /proc/net/unix");
    assert!(life.connected);
    assert!(!life.visible_after_close, "the name outlived the socket");
    assert_eq!(life.rebind_error, None, "the name was free again");
}
// ANCHOR_END: abstract_names_vanish_with_their_socket
