//! Chapter 8: `socketpair(2)`, a connected pair with no name.

use std::time::Duration;

use socklab_support::within;
use unix_demo::pair;

// ANCHOR: socketpair_is_connected_and_nameless
/// A socketpair is connected from the start (a question goes one way, the answer the other,
/// with no bind, listen or connect), and neither end has an address.
#[test]
fn socketpair_is_connected_and_nameless() {
    let r = within(Duration::from_secs(20), "socketpair", || {
        pair::talk_over_a_pair().unwrap()
    });
    assert!(r.both_unnamed, "getsockname gave an address");
    assert_eq!(r.there, b"question?");
    assert_eq!(r.back, b"answer");
}
// ANCHOR_END: socketpair_is_connected_and_nameless
