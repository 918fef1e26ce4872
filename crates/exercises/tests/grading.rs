//! Grading tests: one per exercise, named after it. In the student kit each fails with
//! "not yet implemented" until its exercise is solved.

use std::io::{Cursor, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use exercises::*;
use socklab_support::{Narrator, net, wait, within};
use tcp_demo::frame::FrameError;

const LIMIT: Duration = Duration::from_secs(30);

/// A connected loopback pair whose blocking reads and writes give up after 10 s, so that an
/// unsolved exercise fails instead of hanging.
fn pair() -> (TcpStream, TcpStream) {
    net::loopback_pair_with_timeouts(Duration::from_secs(10)).unwrap()
}

/// How long a test waits for something loopback delivers in microseconds.
const SOON: Duration = Duration::from_secs(5);

/// 1.1: typed frames round-trip over a real connection; a kind-less frame is refused.
#[test]
fn ch1_typed_frame() {
    within(LIMIT, "typed frames", || {
        let (mut a, mut b) = pair();
        ch1::write_typed_frame(&mut a, 7, b"hello").unwrap();
        ch1::write_typed_frame(&mut a, 0, b"").unwrap();
        drop(a);
        assert_eq!(
            ch1::read_typed_frame(&mut b, 100).unwrap(),
            Some((7, b"hello".to_vec()))
        );
        assert_eq!(
            ch1::read_typed_frame(&mut b, 100).unwrap(),
            Some((0, vec![]))
        );
        assert_eq!(ch1::read_typed_frame(&mut b, 100).unwrap(), None);
        let mut empty = Cursor::new(vec![0, 0, 0, 0]);
        assert_eq!(
            ch1::read_typed_frame(&mut empty, 100).unwrap_err().kind(),
            ErrorKind::InvalidData
        );
    });
}

/// 1.2: newline-delimited messages survive any split, and the limits are errors.
#[test]
fn ch1_delimited() {
    within(LIMIT, "delimited", || {
        let (mut a, mut b) = pair();
        let writer = thread::spawn(move || {
            for piece in [&b"he"[..], b"llo\nwor", b"ld\n", b"\n", b"tail"] {
                a.write_all(piece).unwrap();
            }
        });
        assert_eq!(
            ch1::read_delimited(&mut b, 100).unwrap(),
            Some(b"hello".to_vec())
        );
        assert_eq!(
            ch1::read_delimited(&mut b, 100).unwrap(),
            Some(b"world".to_vec())
        );
        assert_eq!(ch1::read_delimited(&mut b, 100).unwrap(), Some(vec![]));
        writer.join().unwrap();
        assert!(matches!(
            ch1::read_delimited(&mut b, 100),
            Err(FrameError::Truncated { .. })
        ));
        let mut long = Cursor::new(b"abcdef\n".to_vec());
        assert!(matches!(
            ch1::read_delimited(&mut long, 3),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(
            ch1::read_delimited(&mut Cursor::new(vec![]), 3)
                .unwrap()
                .is_none()
        );
    });
}

/// 2.1: exponential back-off doubles from the base and stops at the cap, without overflow.
#[test]
fn ch2_backoff() {
    let (base, cap) = (Duration::from_millis(10), Duration::from_millis(100));
    let got: Vec<_> = (0..6)
        .map(|a| ch2::backoff(a, base, cap).as_millis())
        .collect();
    assert_eq!(got, vec![10, 20, 40, 80, 100, 100]);
    assert_eq!(
        ch2::backoff(200, base, cap),
        cap,
        "no overflow for large attempts"
    );
}

/// 2.2: against a server that drops half of all requests, every request gets its reply, and a
/// dead server ends in `TimedOut` (or the ICMP `ConnectionRefused`) after the tries.
#[test]
fn ch2_retry() {
    let faults = udp_demo::echo::Faults {
        drop: 0.5,
        duplicate: 0.0,
        seed: 3,
    };
    let (addr, _) = udp_demo::echo::spawn(
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        faults,
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    within(LIMIT, "retry", move || {
        for i in 0..20u8 {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.connect(addr).unwrap();
            let reply = ch2::request_with_backoff(
                &socket,
                &[i],
                12,
                Duration::from_millis(10),
                Duration::from_millis(80),
            )
            .unwrap();
            assert_eq!(reply, [i]);
        }
        let dead = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(dead).unwrap();
        let err = ch2::request_with_backoff(
            &socket,
            b"?",
            3,
            Duration::from_millis(10),
            Duration::from_millis(20),
        )
        .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::TimedOut | ErrorKind::ConnectionRefused
            ),
            "{err:?}"
        );
    });
}

/// 3.1: the bandwidth-delay product of a 1 Gbit/s, 100 ms path is 12.5 MB.
#[test]
fn ch3_bdp() {
    assert_eq!(ch3::bdp_bytes(1e9, Duration::from_millis(100)), 12_500_000);
    assert_eq!(ch3::bdp_bytes(8e6, Duration::from_millis(1)), 1000);
}

/// 3.2: the model predicts what this kernel really reads back, across the range.
#[test]
#[cfg(target_os = "linux")] // The doubling, the cap and the floor are Linux's rules.
fn ch3_effective() {
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let floor = {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_recv_buffer_size(1).unwrap();
        s.recv_buffer_size().unwrap()
    };
    for requested in [1, 1000, 4096, 50_000, rmem_max / 2, rmem_max, rmem_max * 3] {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_recv_buffer_size(requested).unwrap();
        assert_eq!(
            ch3::linux_effective_rcvbuf(requested, rmem_max, floor),
            s.recv_buffer_size().unwrap(),
            "asked for {requested}"
        );
    }
}

/// 4.1: nothing yet, then data, then the end of the stream: each reported without blocking.
#[test]
fn ch4_read_now() {
    within(LIMIT, "read now", || {
        let (mut a, mut b) = pair();
        assert_eq!(ch4::read_now(&mut b).unwrap(), ch4::ReadNow::NotYet);
        a.write_all(b"hi").unwrap();
        let first = wait::last(
            SOON,
            || ch4::read_now(&mut b).unwrap(),
            |r| *r != ch4::ReadNow::NotYet,
        );
        assert_eq!(
            first,
            ch4::ReadNow::Data(b"hi".to_vec()),
            "NotYet means the bytes never came"
        );
        drop(a);
        wait::until(SOON, "the close to show", || {
            ch4::read_now(&mut b).unwrap() == ch4::ReadNow::Closed
        })
        .unwrap();
    });
}

/// 4.2: 8 MiB written non-blocking to a slow reader arrive whole and in order; a reader that
/// never reads makes it give up with `TimedOut`.
#[test]
fn ch4_write_all() {
    within(LIMIT, "write all", || {
        let (mut a, mut b) = pair();
        let data = socklab_support::data::payload(5, 8 << 20);
        let expected = data.clone();
        let reader = thread::spawn(move || {
            let mut got = Vec::new();
            b.read_to_end(&mut got).unwrap();
            got
        });
        ch4::write_all_nonblocking(&mut a, &data, Duration::from_secs(20)).unwrap();
        drop(a);
        assert_eq!(reader.join().unwrap(), expected);
        let (mut c, _silent) = pair();
        let err =
            ch4::write_all_nonblocking(&mut c, &vec![0; 64 << 20], Duration::from_millis(200))
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
    });
}

/// 5.1: the whole reply comes back after the half-close, from chapter 5's server.
#[test]
fn ch5_ask() {
    within(LIMIT, "ask", || {
        let (addr, server) = shutdown_server();
        let reply = ch5::ask(addr, b"question").unwrap();
        assert_eq!(reply, b"8 bytes received\nquestion");
        server.join().unwrap();
    });
}

/// A one-shot half-close server: reads to end of stream, answers, closes.
fn shutdown_server() -> (std::net::SocketAddr, thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = Vec::new();
        s.read_to_end(&mut req).unwrap();
        s.write_all(format!("{} bytes received\n", req.len()).as_bytes())
            .unwrap();
        s.write_all(&req).unwrap();
    });
    (addr, h)
}

/// 5.2: after a hang-up, the peer's read is a reset, not an orderly end of stream.
#[test]
fn ch5_hang_up() {
    within(LIMIT, "hang up", || {
        let (a, mut b) = pair();
        ch5::hang_up(a).unwrap();
        assert_eq!(
            b.read(&mut [0u8; 8]).unwrap_err().kind(),
            ErrorKind::ConnectionReset
        );
    });
}

/// 6.1: a slow peer cannot stretch the read past its deadline; a prompt one fills the buffer.
#[test]
fn ch6_read_exact_by() {
    within(LIMIT, "read by", || {
        let (mut a, mut b) = pair();
        a.write_all(b"12345678").unwrap();
        let mut buf = [0u8; 8];
        ch6::read_exact_by(&mut b, &mut buf, Instant::now() + Duration::from_secs(5)).unwrap();
        assert_eq!(&buf, b"12345678");
        let drip = thread::spawn(move || {
            for _ in 0..30 {
                if a.write_all(b"x").is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(50)); // A slow peer, on purpose.
            }
        });
        let started = Instant::now();
        let mut big = [0u8; 100];
        let err = ch6::read_exact_by(
            &mut b,
            &mut big,
            Instant::now() + Duration::from_millis(300),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "gave up early"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the slow peer stretched the deadline"
        );
        drop(b);
        drip.join().unwrap();
    });
}

/// 6.2: writing to a peer that never reads ends at the deadline, not before.
#[test]
fn ch6_write_all_by() {
    within(LIMIT, "write by", || {
        let (mut a, _silent) = pair();
        let started = Instant::now();
        let err = ch6::write_all_by(
            &mut a,
            &vec![0; 64 << 20],
            Instant::now() + Duration::from_millis(300),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(300));
        let (mut c, mut d) = pair();
        ch6::write_all_by(&mut c, b"fine", Instant::now() + Duration::from_secs(5)).unwrap();
        let mut buf = [0u8; 4];
        d.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"fine");
    });
}

/// 7.1: only the socket with data (or a closed peer) is reported, and nothing after a timeout.
#[test]
fn ch7_readable() {
    within(LIMIT, "readable", || {
        let (mut a1, b1) = pair();
        let (a2, b2) = pair();
        let (_a3, b3) = pair();
        assert!(
            ch7::readable(&[&b1, &b2, &b3], Duration::from_millis(50))
                .unwrap()
                .is_empty()
        );
        a1.write_all(b"x").unwrap();
        drop(a2);
        let ready = wait::last(
            SOON,
            || ch7::readable(&[&b1, &b2, &b3], SOON).unwrap(),
            |ready| ready.len() >= 2,
        );
        assert_eq!(ready, vec![0, 1]);
    });
}

/// 7.2: everything queued is read in one call, and the peer's close is reported.
#[test]
fn ch7_drain() {
    within(LIMIT, "drain", || {
        let (mut a, mut b) = pair();
        a.write_all(&[1u8; 300_000]).unwrap_or(());
        b.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        wait::until(SOON, "all 300,000 bytes", || {
            assert!(!ch7::drain(&mut b, &mut got).unwrap(), "not closed yet");
            got.len() >= 300_000
        })
        .unwrap();
        drop(a);
        wait::until(SOON, "the close to show", || {
            ch7::drain(&mut b, &mut got).unwrap()
        })
        .unwrap();
        assert_eq!(got.len(), 300_000);
    });
}

/// 8.1: a stale socket file is replaced; a live server and a file that is not a socket are
/// refused and left as they were.
#[test]
fn ch8_listen_replacing_stale() {
    use std::os::unix::net::{UnixListener, UnixStream};
    let dir = std::env::temp_dir().join(format!("socklab-grading-ch8-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.sock");
    drop(UnixListener::bind(&path).unwrap()); // A crashed server's leftover.
    let listener = ch8::listen_replacing_stale(&path).unwrap();
    let err = ch8::listen_replacing_stale(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    UnixStream::connect(&path).expect("the live server kept its socket");
    drop(listener);
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "keep").unwrap();
    let err = ch8::listen_replacing_stale(&notes).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "keep");
    let _ = std::fs::remove_dir_all(&dir);
}

/// 8.2: a TCP socket sent over a Unix socket is received as a new descriptor that still
/// works after the sender closed its own.
#[test]
fn ch8_send_fd() {
    use std::os::fd::AsFd;
    within(LIMIT, "send a descriptor", || {
        let (channel, other_end) = std::os::unix::net::UnixStream::pair().unwrap();
        other_end.set_read_timeout(Some(SOON)).unwrap();
        let (mut a, b) = pair();
        ch8::send_fd(&channel, b.as_fd()).unwrap();
        drop(b);
        let mut received = TcpStream::from(unix_demo::pass::recv_fd(&other_end).unwrap());
        a.write_all(b"through").unwrap();
        let mut buf = [0u8; 7];
        received.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"through");
    });
}

/// 10.1: the refused first address is skipped; when none answers, the last error comes back.
#[test]
fn ch10_connect_first() {
    within(LIMIT, "connect first", || {
        let refused = || {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let (dead, other_dead) = (refused(), refused());
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let live = server.local_addr().unwrap();
        let stream = ch10::connect_first(&[dead, live], SOON).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), live);
        let err = ch10::connect_first(&[dead, other_dead], SOON).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        let err = ch10::connect_first(&[], SOON).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

/// 10.2: one listener serves an IPv4 client (seen as `::ffff:127.0.0.1`) and an IPv6 one.
#[test]
fn ch10_listen_both_families() {
    let listener = match ch10::listen_both_families(0) {
        Ok(l) => l,
        Err(e) if std::net::TcpListener::bind("[::1]:0").is_err() => {
            socklab_support::skip::skip("ch10_listen_both_families", &format!("no IPv6: {e}"));
            return;
        }
        Err(e) => panic!("{e}"),
    };
    within(LIMIT, "dual-stack", move || {
        let port = listener.local_addr().unwrap().port();
        let _v4 = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_, seen) = listener.accept().unwrap();
        assert_eq!(seen.ip().to_string(), "::ffff:127.0.0.1");
        let _v6 = TcpStream::connect(("::1", port)).unwrap();
        let (_, seen) = listener.accept().unwrap();
        assert_eq!(seen.ip().to_string(), "::1");
    });
}

/// 11.1: tags follow the layout (slot, generation, operation), round-trip at the edges,
/// differ for a new generation of the same slot, and an unknown operation is refused.
#[test]
fn ch11_tag() {
    use ch11::Op;
    assert_eq!(ch11::tag(7, 3, Op::Recv), (7 << 32) | (3 << 8) | 1);
    for (slot, generation, op) in [
        (0, 0, Op::Recv),
        (7, 3, Op::Send),
        (u32::MAX, u16::MAX, Op::Cancel),
        (1 << 31, 1, Op::Recv),
    ] {
        let t = ch11::tag(slot, generation, op);
        assert_eq!(ch11::untag(t), Some((slot, generation, op)), "{t:#x}");
    }
    assert_ne!(ch11::tag(7, 3, Op::Recv), ch11::tag(7, 4, Op::Recv));
    assert_eq!(ch11::untag((7 << 32) | (3 << 8) | 9), None);
}

/// 11.2: against a kernel that sends a random part of each buffer (sometimes none, sometimes
/// all) while echoes keep arriving, every byte goes out once, in order; a count larger than
/// the buffer is refused.
#[test]
fn ch11_next_send() {
    let mut rng = socklab_support::data::Generator::new(11);
    let (mut queued, mut sent_all, mut outbox) = (Vec::new(), Vec::new(), Vec::new());
    let mut in_flight: Option<Vec<u8>> = None;
    for _ in 0..500 {
        let mut echo = vec![0u8; rng.size(0, 300)];
        rng.fill(&mut echo);
        queued.extend_from_slice(&echo);
        outbox.extend_from_slice(&echo);
        in_flight = match in_flight.take() {
            None if outbox.is_empty() => None,
            None => Some(std::mem::take(&mut outbox)),
            Some(buf) => {
                let sent = rng.size(0, buf.len());
                sent_all.extend_from_slice(&buf[..sent]);
                let next = ch11::next_send(buf, sent, &mut outbox).unwrap();
                assert!(outbox.is_empty(), "everything queued joins the next send");
                next
            }
        };
    }
    while let Some(buf) = in_flight.take() {
        sent_all.extend_from_slice(&buf);
        let all = buf.len();
        in_flight = ch11::next_send(buf, all, &mut outbox).unwrap();
    }
    assert!(sent_all == queued, "every byte once, in order");
    let err = ch11::next_send(vec![1, 2, 3], 4, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
}

/// 9.1: each message is new once and its copies are not; the memory never holds more than its
/// capacity, and forgets the oldest name first.
#[test]
fn ch9_first_time() {
    let mut d = ch9::Dedup::new(3);
    assert!(d.first_time(1, 1));
    assert!(!d.first_time(1, 1), "a copy");
    assert!(d.first_time(2, 1), "another origin");
    assert!(d.first_time(1, 2), "another sequence number");
    assert!(!d.first_time(2, 1));
    assert!(d.first_time(3, 1));
    assert_eq!(d.len(), 3);
    assert!(!d.first_time(3, 1), "the newest is remembered");
    assert!(d.first_time(1, 1), "the oldest was forgotten");
    for seq in 0..1000 {
        assert!(d.first_time(9, seq));
    }
    assert_eq!(d.len(), 3, "bounded");
}

/// 9.2: both ends learn each other's id; a silent peer ends in `TimedOut`, not before the
/// timeout; a frame of another shape and a peer claiming our id are `InvalidData`; a peer
/// that closes is `UnexpectedEof`.
#[test]
fn ch9_handshake() {
    use std::net::Shutdown;
    use tcp_demo::frame::write_frame;
    within(LIMIT, "handshakes", || {
        let (mut a, mut b) = pair();
        let other = thread::spawn(move || ch9::handshake(&mut b, 2, SOON));
        assert_eq!(ch9::handshake(&mut a, 1, SOON).unwrap(), 2);
        assert_eq!(other.join().unwrap().unwrap(), 1);

        let (mut a, _silent) = pair();
        let wait = Duration::from_millis(200);
        let started = Instant::now();
        let err = ch9::handshake(&mut a, 1, wait).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(started.elapsed() >= wait, "gave up early");

        let (mut a, mut b) = pair();
        write_frame(&mut b, b"hello").unwrap();
        let err = ch9::handshake(&mut a, 1, SOON).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");

        let (mut a, mut b) = pair();
        let mut impostor = vec![ch9::HELLO];
        impostor.extend_from_slice(&1u64.to_be_bytes());
        write_frame(&mut b, &impostor).unwrap();
        let err = ch9::handshake(&mut a, 1, SOON).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");

        let (mut a, b) = pair();
        b.shutdown(Shutdown::Write).unwrap();
        let err = ch9::handshake(&mut a, 1, SOON).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
    });
}
