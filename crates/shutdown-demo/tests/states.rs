//! Chapter 5: the TCP close states, observed on the running kernel (Linux only: the state
//! table is read from /proc/net/tcp, which other systems do not have).
#![cfg(target_os = "linux")]

use std::time::Duration;

use shutdown_demo::states::{TcpState::*, watch_orderly_close};
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
