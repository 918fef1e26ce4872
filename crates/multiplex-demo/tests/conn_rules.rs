//! Chapter 7: the two rules of one connection's state machine (`conn.rs`) after it has done
//! some work: write interest is dropped again once the tail is sent, and a connection paused
//! by back-pressure is not blamed for the frame it could not finish. (Found by `cargo
//! mutants`: the existing tests saw only connections that had never sent anything, and never
//! held a paused connection longer than its frame timeout.)

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use multiplex_demo::Api;
use multiplex_demo::server::{self, Config, Stats};
use socklab_support::{Narrator, wait, within};
use tcp_demo::frame::{MAX_FRAME, read_frame, write_frame};

const LIMIT: Duration = Duration::from_secs(30);

/// The best API here: epoll on Linux, poll elsewhere.
fn api() -> Api {
    if cfg!(target_os = "linux") {
        Api::Epoll
    } else {
        Api::Poll
    }
}

fn start(config: Config) -> (SocketAddr, Arc<Stats>, Arc<Narrator>) {
    let log = Arc::new(Narrator::capture());
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let (addr, stats) = server::spawn(api(), listener, config, Arc::clone(&log)).unwrap();
    (addr, stats, log)
}

/// 20 clients each make one echo round trip and then fall silent: the loop, which had to
/// write to each of them once, drops their write interest again and sleeps. Counted over a
/// 200 ms window (a read timeout on an idle socket: waiting, not sleeping to synchronise).
/// Watching a connection for writability while its outbox is empty would wake it for
/// nothing, constantly (`write_interest_only_with_a_tail` in `bounds.rs` shows the cost on
/// connections that never sent a byte).
#[test]
fn write_interest_ends_when_the_tail_is_sent() {
    let (addr, stats, _) = start(Config::default());
    let clients: Vec<TcpStream> = (0..20)
        .map(|i| {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(LIMIT)).unwrap();
            write_frame(&mut c, format!("request {i}").as_bytes()).unwrap();
            let echo = read_frame(&mut c, MAX_FRAME).unwrap().unwrap();
            assert_eq!(echo, format!("request {i}").as_bytes());
            c
        })
        .collect();
    let before = stats.wakeups.load(Ordering::Relaxed);
    clients[0]
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let _ = (&clients[0]).read(&mut [0u8; 1]); // Nothing comes: a 200 ms window.
    let woken = stats.wakeups.load(Ordering::Relaxed) - before;
    assert!(
        woken <= 5,
        "{woken} wakeups in 200 ms with 20 idle connections"
    );
}

/// A client pipelines 32 MiB of 1000-byte frames and does not read for 3 s: the server's
/// outbox fills, it stops reading (paused), most likely in the middle of a frame. That frame
/// cannot advance while we do not read, so its 1 s frame clock does not run: the connection
/// is not cut as a slow sender, and when the client reads, every echo comes back. (The 3 s is
/// the client's behaviour under test, a slow reader, not synchronisation: the pause itself is
/// waited for on the server's counter. The frame timeout is 1 s rather than shorter so that
/// the writer thread, starved of the CPU for a moment on a loaded 2-core machine while the
/// connection is *not* paused, does not look like a slow sender.)
#[test]
fn a_paused_connection_is_not_cut_by_its_frame_clock() {
    const FRAME_TIMEOUT: Duration = Duration::from_secs(1);
    let (addr, stats, log) = start(Config {
        frame_timeout: FRAME_TIMEOUT,
        idle_timeout: Duration::from_secs(10),
        ..Config::default()
    });
    let mut reader = TcpStream::connect(addr).unwrap();
    reader.set_read_timeout(Some(LIMIT)).unwrap();
    let mut writer = reader.try_clone().unwrap();
    writer.set_write_timeout(Some(LIMIT)).unwrap();
    let frames = (32 << 20) / 1004;
    let sender = thread::spawn(move || {
        let payload = [9u8; 1000];
        for _ in 0..frames {
            write_frame(&mut writer, &payload)?;
        }
        Ok::<_, std::io::Error>(())
    });
    wait::until(LIMIT, "back-pressure", || {
        stats.pauses.load(Ordering::Relaxed) >= 1
    })
    .unwrap();
    thread::sleep(3 * FRAME_TIMEOUT); // The slow reader: three frame timeouts.
    let echoed = within(LIMIT, "read every echo", move || {
        let mut n = 0;
        loop {
            match read_frame(&mut reader, MAX_FRAME) {
                Ok(Some(frame)) => {
                    assert_eq!(frame.len(), 1000);
                    n += 1;
                    if n == frames {
                        return Ok(n);
                    }
                }
                Ok(None) => return Err(format!("closed after {n} echoes")),
                Err(e) => return Err(format!("{e} after {n} echoes")),
            }
        }
    });
    assert_eq!(echoed, Ok(frames), "server said: {:?}", log.lines());
    sender.join().unwrap().unwrap();
    assert_eq!(stats.closed_idle.load(Ordering::Relaxed), 0);
}
