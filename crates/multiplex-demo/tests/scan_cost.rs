//! Chapter 7's myth: "epoll is always faster than poll". Where epoll wins is a wait over many
//! idle sockets: `poll(2)` hands the kernel the whole watched set on every call (and the kernel
//! and the caller both scan it), so a wait costs O(watched); `epoll(7)` keeps the set in the
//! kernel and `epoll_wait` returns only the ready ones, so a wait costs O(ready).
//!
//! Nothing here is timed: the test counts how many watched sockets each wait takes from the
//! caller, which is the work poll repeats on every call and epoll never does.
#![cfg(target_os = "linux")] // epoll is Linux's.

use std::cell::Cell;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::Duration;

use multiplex_demo::epoll::Epoll;
use multiplex_demo::poll::Poll;
use multiplex_demo::readiness::{Event, Interest, Readiness, Source};
use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(30);

/// Waits this many times over the same set, as an event loop does.
const WAITS: usize = 3;

/// `idle` silent connections and one whose peer has sent a byte, all watched for reading:
/// returns, for each wait, how many watched sockets the API took from the caller and which
/// tokens it reported ready. Token 0 is the ready one.
fn waits_over(api: &mut impl Readiness, idle: usize) -> Vec<(usize, Vec<usize>)> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Both ends of each connection stay open: the servers' ends are watched, the clients'
    // ends keep the connections alive (and silent).
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..=idle {
        clients.push(TcpStream::connect(addr).unwrap());
        servers.push(listener.accept().unwrap().0);
    }
    clients[0].write_all(b"!").unwrap();
    let sources: Vec<Source<'_>> = servers
        .iter()
        .enumerate()
        .map(|(token, s)| Source {
            fd: s.as_fd(),
            token,
            interest: Interest::READ,
        })
        .collect();
    for source in &sources {
        api.register(source).unwrap();
    }
    (0..WAITS)
        .map(|_| {
            let taken = Cell::new(0);
            let mut events: Vec<Event> = Vec::new();
            // Level-triggered: the unread byte keeps socket 0 ready at every wait, so no wait
            // sleeps; the timeout only bounds a broken one.
            api.wait(
                sources
                    .iter()
                    .copied()
                    .inspect(|_| taken.set(taken.get() + 1)),
                Some(Duration::from_secs(10)),
                &mut events,
            )
            .unwrap();
            (taken.get(), events.iter().map(|e| e.token).collect())
        })
        .collect()
}

/// With one ready socket among many idle ones, every `poll` takes every watched socket from
/// the caller, so its work grows with the idle ones; every `epoll_wait` takes none of them
/// and still reports the ready one, however many are idle. Both report exactly the ready one.
#[test]
fn every_poll_walks_the_idle_sockets_epoll_walks_none() {
    for idle in [10, 300] {
        let poll = within(LIMIT, "poll", move || waits_over(&mut Poll, idle));
        let epoll = within(LIMIT, "epoll", move || {
            waits_over(&mut Epoll::new(false).unwrap(), idle)
        });
        for (taken, ready) in &poll {
            assert_eq!(*taken, idle + 1, "poll: every watched socket, every wait");
            assert_eq!(ready, &[0], "poll reports the ready socket only");
        }
        for (taken, ready) in &epoll {
            assert_eq!(*taken, 0, "epoll_wait: the set is in the kernel already");
            assert_eq!(ready, &[0], "epoll reports the ready socket only");
        }
    }
}
