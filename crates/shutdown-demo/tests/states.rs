//! Chapter 5: the TCP close states, observed on the running kernel (Linux only: the state
//! table is read from /proc/net/tcp, which other systems do not have).
#![cfg(target_os = "linux")]

use std::time::Duration;

use std::io::Read;
use std::net::Shutdown;

use shutdown_demo::states::{TcpState::*, time_wait_left, wait_for, watch_orderly_close};
use socklab_support::within;

// ANCHOR: orderly_close_states
/// An orderly close, client first: both ESTABLISHED; after the client's FIN, the client is in
/// FIN-WAIT-2 and the server in CLOSE-WAIT; after the server's close, the client (the side
/// that closed first) is in TIME-WAIT and the server's entry is gone.
#[test]
fn orderly_close_passes_through_the_rfc_states() {
    let seen = within(Duration::from_secs(30), "orderly close", || {
        watch_orderly_close().unwrap()
    });
    let pairs: Vec<_> = seen.iter().map(|o| (o.client, o.server)).collect();
    assert_eq!(
        pairs,
        vec![
            (Some(Established), Some(Established)),
            (Some(FinWait2), Some(CloseWait)),
            (Some(TimeWait), None),
            (Some(TimeWait), None),
        ],
        "{seen:#?}"
    );
}
// ANCHOR_END: orderly_close_states

// ANCHOR: time_wait_lasts_a_minute
/// Linux keeps TIME-WAIT for 60 s: the kernel's own timer for the entry, read from
/// `/proc/net/tcp` right after the close, is at most 60 s and well above 50 s (RFC 793's
/// 2 × MSL would be 4 minutes).
#[test]
fn time_wait_lasts_sixty_seconds_on_linux() {
    let left = within(Duration::from_secs(30), "orderly close", || {
        let (client, mut server) = shutdown_demo::loopback_pair().unwrap();
        let (c, s) = (client.local_addr().unwrap(), server.local_addr().unwrap());
        client.shutdown(Shutdown::Write).unwrap(); // The client closes first...
        assert_eq!(server.read(&mut [0u8; 8]).unwrap(), 0);
        drop(server); // ...so the client ends in TIME-WAIT.
        let state = wait_for(c, s, Some(TimeWait), Duration::from_secs(5)).unwrap();
        assert_eq!(state, Some(TimeWait));
        time_wait_left(c, s).unwrap()
    });
    let left = left.expect("the TIME-WAIT entry has a timer");
    assert!(left <= Duration::from_secs(60), "{left:?}");
    assert!(left > Duration::from_secs(50), "{left:?}");
}
// ANCHOR_END: time_wait_lasts_a_minute
