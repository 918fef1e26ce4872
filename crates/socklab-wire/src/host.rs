//! A host of the lab: a network namespace of its own, with `lo` up and one TUN interface.
//!
//! A network namespace is a complete, separate copy of the kernel's network stack: its own
//! interfaces, addresses, routes, sockets and port numbers. `unshare(CLONE_NEWNET)` gives the
//! *calling thread* a new, empty one, and the lab keeps it alive by holding a descriptor to
//! `/proc/thread-self/ns/net`; later, `setns(2)` on that descriptor moves any thread in.
//!
//! The rule that makes the lab simple to use: **a socket belongs to the namespace of the
//! thread that created it, for its whole life**. So [`Host::run`] runs a closure on a fresh
//! thread inside the host, and the sockets it returns can then be used from any thread: a
//! listener made on host B is still B's when the test thread calls `accept` on it.
//!
//! The host's end of the link is a TUN device (tun(4), opened with the `tun-rs` crate): an
//! interface whose "wire" is a file descriptor. Every IP packet the host's kernel routes out of
//! it can be read from the descriptor, and every packet written to the descriptor arrives as if
//! it came in from a network. The lab's relay holds both hosts' descriptors.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

/// The name of each host's end of the link (names are per namespace, so both hosts use it).
pub const INTERFACE: &str = "wire0";

/// The IPv4 prefix length of the link's subnet (`10.77.0.0/24`).
pub const PREFIX_V4: u8 = 24;

/// The IPv6 prefix length of the link's subnet (`fd77::/64`, a unique-local prefix).
pub const PREFIX_V6: u8 = 64;

/// How many packets the TUN device holds for the relay to read. A TUN device that is full
/// drops what the host sends, before the link ever sees it, and the default (500 packets,
/// 750 KB at MTU 1500) fills under one fast TCP flow: the sender's window is not limited by
/// what waits in a TUN device. 10,000 packets hold any window Linux's default buffers allow.
#[cfg(target_os = "linux")]
const TX_QUEUE_LEN: u32 = 10_000;

/// One host's identity on the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// The host's IPv4 address on the link.
    pub v4: Ipv4Addr,
    /// The host's IPv6 address on the link.
    pub v6: Ipv6Addr,
}

/// Host A: `10.77.0.1`, `fd77::1`. These exist only inside the lab's namespaces.
pub const A: Addresses = Addresses {
    v4: Ipv4Addr::new(10, 77, 0, 1),
    v6: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1),
};

/// Host B: `10.77.0.2`, `fd77::2`.
pub const B: Addresses = Addresses {
    v4: Ipv4Addr::new(10, 77, 0, 2),
    v6: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2),
};

/// A host of the lab. Cheap to clone: clones share the namespace.
#[derive(Debug, Clone)]
pub struct Host {
    name: &'static str,
    addresses: Addresses,
    namespace: Arc<OwnedFd>,
}

impl Host {
    /// `"a"` or `"b"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The host's IPv4 address on the link.
    pub fn v4(&self) -> Ipv4Addr {
        self.addresses.v4
    }

    /// The host's IPv6 address on the link.
    pub fn v6(&self) -> Ipv6Addr {
        self.addresses.v6
    }

    /// The host's IPv4 address with `port`, ready for `bind` or `connect`.
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.addresses.v4), port)
    }

    /// The host's IPv6 address with `port`.
    pub fn addr_v6(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V6(self.addresses.v6), port)
    }

    // ANCHOR: run
    /// Runs `body` on a new thread inside this host's network namespace and returns what it
    /// returned. Sockets created by `body` belong to this host for good, whichever thread
    /// uses them afterwards. A panic in `body` is passed on.
    pub fn run<T: Send>(&self, body: impl FnOnce() -> T + Send) -> io::Result<T> {
        thread::scope(|scope| {
            let worker = thread::Builder::new()
                .name(format!("host {}", self.name))
                .spawn_scoped(scope, || -> io::Result<T> {
                    // setns(2) moves only the calling thread: the test's thread stays home.
                    enter(&self.namespace)?;
                    Ok(body())
                })?;
            match worker.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
    // ANCHOR_END: run

    /// Like [`Host::run`], without waiting: the body runs on its own thread inside the host
    /// (a server loop, say), and the handle gives back its result.
    pub fn spawn<T: Send + 'static>(
        &self,
        body: impl FnOnce() -> T + Send + 'static,
    ) -> io::Result<JoinHandle<io::Result<T>>> {
        let namespace = Arc::clone(&self.namespace);
        thread::Builder::new()
            .name(format!("host {}", self.name))
            .spawn(move || {
                enter(&namespace)?;
                Ok(body())
            })
    }
}

/// Moves the calling thread into the network namespace `namespace` refers to.
#[cfg(target_os = "linux")]
fn enter(namespace: &OwnedFd) -> io::Result<()> {
    nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn enter(_namespace: &OwnedFd) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "network namespaces are Linux's",
    ))
}

/// A host being built: its namespace and its end of the link.
#[cfg(target_os = "linux")]
pub(crate) struct Built {
    pub host: Host,
    pub device: tun_rs::SyncDevice,
}

// ANCHOR: create_host
/// Creates a host: a new network namespace with `lo` up and a TUN interface named
/// [`INTERFACE`] (made by `tun-rs`) with `mtu` and `addresses` (given over rtnetlink). Runs on
/// a thread of its own, because `unshare(CLONE_NEWNET)` moves the calling thread into the new
/// namespace for good.
#[cfg(target_os = "linux")]
pub(crate) fn create(name: &'static str, addresses: Addresses, mtu: u16) -> io::Result<Built> {
    let worker = thread::Builder::new()
        .name(format!("create host {name}"))
        .spawn(move || -> io::Result<Built> {
            use crate::netlink;
            use netlink_packet_route::link::LinkFlags;
            use nix::sched::{CloneFlags, unshare};

            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| step("unshare(CLONE_NEWNET)", e.into()))?;
            // This descriptor keeps the namespace alive after this thread ends.
            let namespace = std::fs::File::open("/proc/thread-self/ns/net")
                .map_err(|e| step("opening /proc/thread-self/ns/net", e))?;
            quiet_ipv6().map_err(|e| step("setting IPv6 sysctls", e))?;
            netlink::set_flags(netlink::LOOPBACK_INDEX, LinkFlags::Up, true)
                .map_err(|e| step("bringing lo up", e))?;
            let device = tun_rs::DeviceBuilder::new()
                .name(INTERFACE)
                .mtu(mtu)
                .enable(true)
                .build_sync()
                .map_err(|e| step("creating the TUN device", e))?;
            let index = device.if_index()?;
            netlink::set_tx_queue_len(index, TX_QUEUE_LEN)
                .map_err(|e| step("setting the TUN queue length", e))?;
            for (address, prefix) in [
                (IpAddr::V4(addresses.v4), PREFIX_V4),
                (IpAddr::V6(addresses.v6), PREFIX_V6),
            ] {
                netlink::add_address(index, address, prefix)
                    .map_err(|e| step(&format!("adding {address}/{prefix}"), e))?;
            }
            device.set_nonblocking(true)?;
            let host = Host {
                name,
                addresses,
                namespace: Arc::new(OwnedFd::from(namespace)),
            };
            Ok(Built { host, device })
        })?;
    worker
        .join()
        .map_err(|_| io::Error::other(format!("creating host {name} panicked")))?
}
// ANCHOR_END: create_host

/// `error`, saying which step of making a host failed.
#[cfg(target_os = "linux")]
fn step(what: &str, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("making a lab host: {what}: {error}"))
}

/// Keeps IPv6's own chatter off the link, so a trace shows the experiment's packets only:
/// new interfaces get no link-local address (`addr_gen_mode` 1), hence send no router
/// solicitations and join no multicast groups for one. The files under `/proc/sys/net` belong
/// to the namespace of the thread that opens them: this thread's new one.
#[cfg(target_os = "linux")]
fn quiet_ipv6() -> io::Result<()> {
    std::fs::write("/proc/sys/net/ipv6/conf/default/addr_gen_mode", "1")?;
    std::fs::write("/proc/sys/net/ipv6/conf/default/router_solicitations", "0")?;
    std::fs::write("/proc/sys/net/ipv6/conf/default/accept_ra", "0")?;
    Ok(())
}
