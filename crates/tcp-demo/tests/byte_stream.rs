//! Chapter 1 claims about TCP as a byte stream, checked on the running kernel.

use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use socklab_support::within;
use tcp_demo::stream;

const LIMIT: Duration = Duration::from_secs(20);

/// One `write` of 1 MiB, read with a buffer of 1 MiB, still takes several `read`s: the
/// stream does not deliver the sender's writes as units.
#[test]
fn one_write_arrives_in_several_reads() {
    let seen = within(LIMIT, "one write", || {
        stream::one_write_many_reads(1 << 20).unwrap()
    });
    assert_eq!(
        seen.written,
        1 << 20,
        "a blocking write waits until it has taken everything"
    );
    assert_eq!(
        seen.read_sizes.iter().sum::<usize>(),
        1 << 20,
        "every byte arrived"
    );
    assert!(
        seen.read_sizes.len() > 1,
        "expected several reads, got {:?}",
        seen.read_sizes
    );
}

/// Ten separate writes of ten bytes, each its own segment (`TCP_NODELAY`), come out of a single
/// `read` once they have all arrived: the boundaries between them are gone.
#[test]
fn several_writes_arrive_in_one_read() {
    let seen = within(LIMIT, "many writes", || {
        stream::many_writes_one_read(10, 10).unwrap()
    });
    assert_eq!(seen.first_read, 100);
}

/// Myth: "a byte stream sends one byte at a time". Reads return as much as has arrived: here
/// the typical read of a 1 MiB transfer returns kilobytes, and 1 MiB takes far fewer reads
/// than it has bytes.
#[test]
fn a_stream_is_not_one_byte_at_a_time() {
    let seen = within(LIMIT, "one write", || {
        stream::one_write_many_reads(1 << 20).unwrap()
    });
    let largest = *seen.read_sizes.iter().max().unwrap();
    assert!(
        largest >= 4096,
        "the largest read returned only {largest} bytes"
    );
    assert!(
        seen.read_sizes.len() < (1 << 20) / 1024,
        "{} reads for 1 MiB: fewer than one per KiB",
        seen.read_sizes.len()
    );
}

/// A single `write` of 64 MiB to a peer that never reads returns *fewer* bytes than offered
/// once the buffers are full and the write timeout expires: callers must loop (`write_all`).
#[test]
fn write_may_be_short() {
    let offered = 64 << 20;
    let taken = within(LIMIT, "short write", move || {
        stream::short_write(offered, Duration::from_millis(200)).unwrap()
    });
    assert!(taken > 0, "the empty buffers took something");
    assert!(
        taken < offered,
        "a peer that never reads cannot absorb 64 MiB, yet took {taken}"
    );
}

// ANCHOR: read_zero_means_peer_closed
/// `read` returning 0 is end of stream: the peer closed. It keeps returning 0, never an error
/// and never blocking, because no more bytes can ever come.
#[test]
fn read_zero_means_peer_closed() {
    within(LIMIT, "read after close", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        drop(client);
        let mut buf = [0u8; 64];
        assert_eq!(server.read(&mut buf).unwrap(), 0);
        assert_eq!(
            server.read(&mut buf).unwrap(),
            0,
            "still 0: end of stream is final"
        );
    });
}
// ANCHOR_END: read_zero_means_peer_closed

/// Without any data or close, the same read would block: with a timeout set it fails with
/// `WouldBlock` (Unix) or `TimedOut` (Windows) instead of returning 0, so 0 really is "closed".
#[test]
fn an_open_idle_peer_is_not_end_of_stream() {
    within(LIMIT, "idle read", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let err = server.read(&mut [0u8; 8]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{err:?}"
        );
    });
}
