//! Chapter 4: one thread serves several connections by polling non-blocking sockets in turn.

use std::time::Duration;

use nonblocking_demo::interleave::interleave;
use socklab_support::within;

/// Six clients each echo 4 MiB (more than the socket buffers hold, so each needs many turns)
/// through server connections driven by the same single thread; every byte comes back in
/// order, and some visits found nothing to do, which is the waste chapter 7 removes.
#[test]
fn one_thread_serves_several_connections() {
    let report = within(Duration::from_secs(60), "interleave", || {
        interleave(6, 4 << 20, Duration::from_secs(50)).unwrap()
    });
    assert_eq!(report.digests.len(), 6);
    for [sent, got] in &report.digests {
        assert_eq!(sent.0, 4 << 20);
        assert_eq!(sent, got);
    }
    assert!(
        report.rounds > 1,
        "4 MiB each cannot fit the buffers in one round"
    );
    assert!(report.would_blocks > 0);
}
