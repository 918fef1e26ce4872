//! Chapter 7: the load generator measures only what really happened. It counts exactly the
//! round trips it was asked for, runs for the time it was given, and counts as an error a
//! reply meant for another connection, a changed reply, and a connection the server closed.
//! (Found by `cargo mutants`: without these, a generator sending the same payload on every
//! connection, or stopping after one round trip, passed every test.)

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use multiplex_demo::Api;
use multiplex_demo::load::{self, Load, Report, Stop};
use multiplex_demo::server::{self, Config};
use socklab_support::{Narrator, wait, within};
use tcp_demo::frame::{MAX_FRAME, read_frame, write_frame};

const LIMIT: Duration = Duration::from_secs(60);

/// The course's event-loop echo server (poll: every platform), on port 0.
fn echo_server() -> SocketAddr {
    echo_server_with_stats().0
}

fn echo_server_with_stats() -> (SocketAddr, Arc<server::Stats>) {
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    server::spawn(
        Api::Poll,
        listener,
        Config::default(),
        Arc::new(Narrator::silent()),
    )
    .unwrap()
}

fn run(addr: SocketAddr, load: Load) -> Report {
    within(LIMIT, "the load run", move || load::run(addr, load)).unwrap()
}

/// A deliberately wrong server on port 0: it accepts `n` connections (in the order the load
/// generator opens them), reads one request from each, and answers connection `i` with
/// `answer(i, &requests)`, or closes it unanswered if that is `None`. It then holds the
/// connections until the client closes them. Every read is bounded.
fn wrong_server(
    n: usize,
    answer: impl Fn(usize, &[Vec<u8>]) -> Option<Vec<u8>> + Send + 'static,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut streams: Vec<TcpStream> = (0..n)
            .map(|_| {
                let (s, _) = listener.accept().unwrap();
                s.set_read_timeout(Some(LIMIT)).unwrap();
                s
            })
            .collect();
        let requests: Vec<Vec<u8>> = streams
            .iter_mut()
            .map(|s| read_frame(s, MAX_FRAME).unwrap().unwrap())
            .collect();
        let mut open = Vec::new();
        for (i, mut s) in streams.into_iter().enumerate() {
            if let Some(reply) = answer(i, &requests) {
                write_frame(&mut s, &reply).unwrap();
                open.push(s);
            } // Otherwise dropped here: closed without a reply.
        }
        for mut s in open {
            let _ = read_frame(&mut s, MAX_FRAME); // Until the client closes (or the bound).
        }
    });
    addr
}

/// `Stop::Requests(n)` on `c` connections makes exactly `c × n` round trips, none in error,
/// with empty frames as well as with payloads. (What the call returned: the report's counts.)
#[test]
fn a_run_of_n_requests_makes_exactly_c_times_n_round_trips() {
    let addr = echo_server();
    for message_size in [0, 1, 100] {
        let r = run(
            addr,
            Load {
                connections: 4,
                message_size,
                stop: Stop::Requests(3),
            },
        );
        assert_eq!(
            (r.connections, r.requests, r.errors),
            (4, 12, 0),
            "{message_size}-byte frames: {r:?}"
        );
        assert!(r.p50 <= r.p99 && r.p99 > Duration::ZERO, "{r:?}");
        let rate = r.requests as f64 / r.elapsed.as_secs_f64();
        assert!(
            (r.requests_per_sec - rate).abs() <= rate * 1e-9,
            "requests/s {} is not requests / elapsed {rate}",
            r.requests_per_sec
        );
    }
}

/// Frames of 1 MiB, more than one `write(2)` or `read(2)` moves on loopback: the generator
/// keeps write interest while a request is partly sent and reassembles replies that arrive
/// in pieces (chapter 4's partial writes, chapter 1's framing), and still counts exactly.
#[test]
fn large_frames_go_out_and_come_back_in_pieces() {
    let addr = echo_server();
    let r = run(
        addr,
        Load {
            connections: 2,
            message_size: MAX_FRAME,
            stop: Stop::Requests(3),
        },
    );
    assert_eq!((r.requests, r.errors), (6, 0), "{r:?}");
}

/// `Stop::Time(d)` keeps every connection busy for at least `d` (a lower bound on time), so
/// it makes many more round trips than one per connection.
#[test]
fn a_timed_run_lasts_its_time() {
    let addr = echo_server();
    let d = Duration::from_millis(300);
    let r = run(
        addr,
        Load {
            connections: 2,
            message_size: 16,
            stop: Stop::Time(d),
        },
    );
    assert!(r.elapsed >= d, "stopped after {:?}: {r:?}", r.elapsed);
    assert!(
        r.requests > 2 * 10,
        "only {} round trips: {r:?}",
        r.requests
    );
    assert_eq!(r.errors, 0, "{r:?}");
}

/// Each connection sends its own payload, so a server that answers connection 0 with
/// connection 1's request and the other way round is caught: two errors, though every reply
/// is a well-formed frame of the right length.
#[test]
fn a_reply_meant_for_another_connection_is_an_error() {
    let addr = wrong_server(2, |i, requests| Some(requests[1 - i].clone()));
    let r = run(
        addr,
        Load {
            connections: 2,
            message_size: 32,
            stop: Stop::Requests(1),
        },
    );
    assert_eq!((r.requests, r.errors), (2, 2), "{r:?}");
}

/// One changed byte is an error too; the faithful reply on the other connection is not.
#[test]
fn a_changed_reply_is_an_error() {
    let addr = wrong_server(2, |i, requests| {
        let mut reply = requests[i].clone();
        if i == 1 {
            reply[7] ^= 0x20;
        }
        Some(reply)
    });
    let r = run(
        addr,
        Load {
            connections: 2,
            message_size: 32,
            stop: Stop::Requests(1),
        },
    );
    assert_eq!((r.requests, r.errors), (2, 1), "{r:?}");
}

/// A connection the server closes without answering is an error and ends that connection's
/// part of the run; the run itself finishes with the others' round trips counted.
#[test]
fn a_connection_closed_by_the_server_is_an_error_not_a_hang() {
    let addr = wrong_server(3, |i, requests| (i != 1).then(|| requests[i].clone()));
    let r = run(
        addr,
        Load {
            connections: 3,
            message_size: 8,
            stop: Stop::Requests(1),
        },
    );
    assert_eq!((r.requests, r.errors), (2, 1), "{r:?}");
}

/// An echo server on port 0 for one connection, whose accepted socket has a 4 KiB
/// `SO_RCVBUF` (inherited from the listener): a small window, so a large request cannot leave
/// the client as fast as the client can queue it. Frames up to `max` bytes.
fn small_window_echo_server(max: usize) -> SocketAddr {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(8).unwrap();
    let listener: TcpListener = socket.into();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        while let Ok(Some(frame)) = read_frame(&mut s, max) {
            if write_frame(&mut s, &frame).is_err() {
                break;
            }
        }
    });
    addr
}

/// A request bigger than the client's send buffer (which Linux grows to 4 MiB) and the
/// server's small window together: `write(2)` takes only part of it and says `WouldBlock`.
/// The generator must then watch the socket for writability until the rest is gone (chapter
/// 4's unsent tail); without that it waits for a reply to a request it never finished
/// sending. Bounded: a stall fails the test after 20 s.
#[test]
fn a_request_larger_than_the_socket_buffers_is_sent_in_pieces() {
    let size = 16 << 20;
    let addr = small_window_echo_server(size);
    let load = Load {
        connections: 1,
        message_size: size,
        stop: Stop::Requests(2),
    };
    let r = within(Duration::from_secs(20), "16 MiB requests", move || {
        load::run(addr, load)
    })
    .unwrap();
    assert_eq!((r.requests, r.errors), (2, 0), "{r:?}");
}

/// The two tools behind the memory-per-connection figure: `hold` opens and keeps exactly the
/// connections asked for (the server accepts them all), and `rss_bytes` is this process's
/// resident memory in bytes, which grows by about what a buffer we fill takes.
#[test]
fn idle_connections_and_resident_memory_are_what_they_say() {
    let (addr, stats) = echo_server_with_stats();
    let held = load::hold(addr, 3).unwrap();
    assert_eq!(held.len(), 3);
    wait::until(LIMIT, "3 accepted", || {
        stats.accepted.load(Ordering::Relaxed) == 3
    })
    .unwrap();
    let before = load::rss_bytes();
    assert!(
        before.is_some() || !cfg!(target_os = "linux"),
        "Linux always has VmRSS in /proc/self/status"
    );
    if before.is_none() {
        socklab_support::skip::skip(
            "idle_connections_and_resident_memory_are_what_they_say",
            "no /proc/self/status VmRSS here",
        );
        return;
    }
    // 64 MiB, every page written, so resident while it lives. (Other tests in this process
    // allocate and free meanwhile, so only a lower bound holds, not a difference.)
    let filled = std::hint::black_box(vec![1u8; 64 << 20]);
    let now = load::rss_bytes().unwrap();
    assert!(now >= 64 << 20, "resident {now} bytes while holding 64 MiB");
    drop(filled);
}

/// The load always stops by itself: against a server that accepts every connection, reads its
/// requests and never answers, a run of `200 ms` with a grace of `300 ms` gives up with
/// `TimedOut` ("the server stopped answering") once both have passed, and not before.
#[test]
fn a_server_that_never_answers_ends_the_run_after_its_grace() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts two connections and holds them open, reading nothing and answering nothing,
    // until the run is over (the test's end closes the listener's thread with the process).
    thread::spawn(move || {
        let held: Vec<TcpStream> = listener.incoming().take(2).filter_map(Result::ok).collect();
        thread::park();
        drop(held);
    });
    let time = Duration::from_millis(200);
    let grace = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let result = within(LIMIT, "a run against a silent server", move || {
        load::run_with_grace(
            addr,
            Load {
                connections: 2,
                message_size: 64,
                stop: Stop::Time(time),
            },
            grace,
        )
    });
    let took = started.elapsed();
    let err = result.expect_err("a run with no replies cannot succeed");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(
        took >= time + grace,
        "gave up after {took:?}, before time and grace"
    );
}
