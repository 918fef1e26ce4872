//! Configuring an interface over rtnetlink(7): what `ip link set lo up`,
//! `ip link set wire0 txqueuelen 10000` and `ip address add fd77::1/64 dev wire0 nodad` do.
//!
//! A new network namespace has one interface, `lo`, and it is *down*: even `127.0.0.1` does
//! not work there until someone brings it up. The lab does that for each host, lengthens its
//! TUN device's queue and gives it its addresses, with `RTM_SETLINK` and `RTM_NEWADDR` messages
//! on a `NETLINK_ROUTE` socket, built by the `netlink-packet-route` crate (the message layouts)
//! and sent by `netlink-sys` (the socket), so no header is packed by hand here. A netlink socket talks to the network
//! namespace it was *created* in, so this runs on the host's own thread, like everything else
//! that configures a host. (The older `ioctl(SIOCSIFTXQLEN)` would do for the queue as root,
//! but it asks for `CAP_NET_ADMIN` over the whole machine, which a user namespace never has.)

use std::io;
use std::net::IpAddr;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// The index of `lo` in every network namespace: the kernel registers it first.
pub const LOOPBACK_INDEX: u32 = 1;

/// Sets (`on`) or clears the flags in `mask` on interface `index` of the calling thread's
/// network namespace, and waits for the kernel's acknowledgement.
pub fn set_flags(index: u32, mask: LinkFlags, on: bool) -> io::Result<()> {
    let mut link = LinkMessage::default();
    link.header.index = index;
    link.header.flags = if on { mask } else { LinkFlags::empty() };
    link.header.change_mask = mask;
    set_link(link)
}

/// Sets how many packets interface `index` of the calling thread's namespace may queue for
/// its driver (for a TUN device: for the program reading it).
pub fn set_tx_queue_len(index: u32, len: u32) -> io::Result<()> {
    let mut link = LinkMessage::default();
    link.header.index = index;
    link.attributes.push(LinkAttribute::TxQueueLen(len));
    set_link(link)
}

/// Adds `address/prefix_len` to interface `index` of the calling thread's namespace, usable
/// at once: an IPv6 address is added with `IFA_F_NODAD`, so it skips duplicate address
/// detection and is never *tentative* (an address still tentative cannot be bound, and
/// detection finishes in the background, a moment later, even on a link with no neighbours).
pub fn add_address(index: u32, address: IpAddr, prefix_len: u8) -> io::Result<()> {
    let mut message = AddressMessage::default();
    message.header.family = match address {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    message.header.prefix_len = prefix_len;
    message.header.index = index;
    message.header.flags = AddressHeaderFlags::Nodad;
    message.attributes.push(AddressAttribute::Local(address));
    message.attributes.push(AddressAttribute::Address(address));
    request(
        RouteNetlinkMessage::NewAddress(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// Sends one `RTM_SETLINK` request and waits for the kernel's acknowledgement.
fn set_link(link: LinkMessage) -> io::Result<()> {
    request(RouteNetlinkMessage::SetLink(link), 0)
}

/// Sends one request with `flags` besides `NLM_F_REQUEST | NLM_F_ACK`, and waits for the
/// kernel's acknowledgement.
fn request(message: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
    let mut request = NetlinkMessage::from(message);
    request.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    request.header.sequence_number = 1;
    request.finalize();
    let mut bytes = vec![0; request.buffer_len()];
    request.serialize(&mut bytes);

    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    socket.send(&bytes, 0)?;
    // The answer is one NLMSG_ERROR message: code 0 is the acknowledgement.
    let (answer, _) = socket.recv_from_full()?;
    let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&answer)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    match reply.payload {
        NetlinkPayload::Error(e) if e.code.is_some() => Err(e.to_io()),
        NetlinkPayload::Error(_) => Ok(()),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("rtnetlink answered with {other:?}"),
        )),
    }
}
