//! The trace: every packet that crossed the link, decoded, printed the way tcpdump prints it.
//!
//! The relay keeps each packet's first bytes (the *snap length*, 128 by default: every IP and
//! TCP header with options fits), its length, the time it reached the link and its fate.
//! `Trace::decode` turns those records into [`Packet`]s with the `etherparse` crate, which
//! knows every header layout, so nothing here parses a header by hand. What is here is what
//! tcpdump adds on top of the headers:
//!
//! - **Relative sequence numbers.** Each direction of a connection starts at a random initial
//!   sequence number (ISN). Like tcpdump and Wireshark, the trace shows sequence numbers
//!   relative to the sender's ISN and acknowledgement numbers relative to the receiver's: the
//!   SYN is `seq 0`, the first data byte is 1, and `ack 1` acknowledges the SYN.
//! - **The notation.** `Flags [S]` is a SYN, `[S.]` a SYN-ACK (`.` is ACK), `[P.]` data pushed,
//!   `[F.]` a FIN, `[R]` or `[R.]` a reset; `seq 1:1449` is the segment's first byte and one
//!   past its last; `win` is the window field as sent (not yet scaled); `length` is the TCP
//!   payload.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use etherparse::{
    Icmpv4Type, Icmpv6Type, LaxNetSlice, LaxSlicedPacket, TcpOptionElement, TcpSlice,
    TransportSlice,
};

use crate::impair::{DropReason, Fate};

/// Which way a packet crossed the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From host A to host B.
    AToB,
    /// From host B to host A.
    BToA,
}

/// What the relay keeps of one packet.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// When it reached the link, on the lab's clock.
    pub time: Duration,
    pub direction: Direction,
    /// Its full length.
    pub len: usize,
    /// Its first `snaplen` bytes.
    pub bytes: Box<[u8]>,
    pub fate: Fate,
}

/// The TCP flags of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// SYN: opens a connection, carries the ISN.
    pub syn: bool,
    /// ACK: the acknowledgement number is valid.
    pub ack: bool,
    /// FIN: the sender has no more data.
    pub fin: bool,
    /// RST: the connection is aborted.
    pub rst: bool,
    /// PSH: deliver to the application now.
    pub psh: bool,
    /// URG: the urgent pointer is valid.
    pub urg: bool,
    /// ECE: ECN echo.
    pub ece: bool,
    /// CWR: congestion window reduced.
    pub cwr: bool,
}

impl Flags {
    /// tcpdump's notation: `S`, `S.`, `.`, `P.`, `F.`, `R`, `R.`, ... (`none` for no flag).
    pub fn notation(&self) -> String {
        // tcpdump's order (print-tcp.c): F S R P U E W, then `.` for ACK.
        let table = [
            (self.fin, 'F'),
            (self.syn, 'S'),
            (self.rst, 'R'),
            (self.psh, 'P'),
            (self.urg, 'U'),
            (self.ece, 'E'),
            (self.cwr, 'W'),
            (self.ack, '.'),
        ];
        let s: String = table.iter().filter(|(on, _)| *on).map(|(_, c)| c).collect();
        if s.is_empty() { "none".into() } else { s }
    }
}

/// A TCP option, as carried in a segment's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOption {
    /// No-operation (padding).
    Nop,
    /// Maximum segment size: the largest payload the sender wants to receive.
    Mss(u16),
    /// Window scale: the receiver of this shifts the sender's window field left this much.
    WindowScale(u8),
    /// Selective acknowledgements are understood.
    SackPermitted,
    /// Selective acknowledgements: blocks received beyond the cumulative ACK (relative).
    Sack(Vec<(u32, u32)>),
    /// Timestamps: the sender's clock and the echo of the peer's.
    Timestamp {
        /// TSval.
        val: u32,
        /// TSecr.
        ecr: u32,
    },
}

/// A decoded TCP segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The flags.
    pub flags: Flags,
    /// The sequence number relative to the sender's ISN.
    pub seq: u32,
    /// The acknowledgement number relative to the receiver's ISN (when ACK is set).
    pub ack: Option<u32>,
    /// The sequence number as sent.
    pub raw_seq: u32,
    /// The window field as sent (before scaling).
    pub window: u16,
    /// The options, in order.
    pub options: Vec<TcpOption>,
    /// Bytes of payload.
    pub payload_len: usize,
}

impl Tcp {
    /// The MSS option, if the segment carries one.
    pub fn mss(&self) -> Option<u16> {
        self.options.iter().find_map(|o| match o {
            TcpOption::Mss(m) => Some(*m),
            _ => None,
        })
    }

    /// The window scale option, if the segment carries one.
    pub fn window_scale(&self) -> Option<u8> {
        self.options.iter().find_map(|o| match o {
            TcpOption::WindowScale(s) => Some(*s),
            _ => None,
        })
    }

    /// The timestamp option's TSval and TSecr, if the segment carries one. Linux's TSval counts
    /// milliseconds on the sender's clock: the gap between two segments' values is the gap
    /// between their sending, whatever queues they met on the way.
    pub fn timestamp(&self) -> Option<(u32, u32)> {
        self.options.iter().find_map(|o| match o {
            TcpOption::Timestamp { val, ecr } => Some((*val, *ecr)),
            _ => None,
        })
    }

    /// Whether the segment is a pure SYN (a connection request).
    pub fn is_syn(&self) -> bool {
        self.flags.syn && !self.flags.ack
    }

    /// Whether the segment is a SYN-ACK.
    pub fn is_syn_ack(&self) -> bool {
        self.flags.syn && self.flags.ack
    }

    /// The sequence number one past the segment (SYN and FIN count as one byte each).
    pub fn seq_end(&self) -> u32 {
        self.seq
            .wrapping_add(self.payload_len as u32)
            .wrapping_add(u32::from(self.flags.syn))
            .wrapping_add(u32::from(self.flags.fin))
    }
}

/// A decoded UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Udp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Bytes of payload.
    pub payload_len: usize,
}

/// A decoded ICMP or ICMPv6 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmp {
    /// The type field.
    pub kind: u8,
    /// The code field.
    pub code: u8,
    /// What tcpdump would say about it (`echo request, id 1, seq 1`).
    pub summary: String,
}

/// What the IP packet carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// TCP.
    Tcp(Tcp),
    /// UDP.
    Udp(Udp),
    /// ICMP (IPv4) or ICMPv6.
    Icmp(Icmp),
    /// Something else, described.
    Other(String),
}

/// One packet that crossed (or tried to cross) the link.
#[derive(Debug, Clone)]
pub struct Packet {
    /// When it reached the link, on the lab's clock.
    pub time: Duration,
    /// Which way it went.
    pub direction: Direction,
    /// Delivered (when, how many copies) or dropped (why).
    pub fate: Fate,
    /// IPv6 rather than IPv4.
    pub ipv6: bool,
    /// The IP source address.
    pub src: IpAddr,
    /// The IP destination address.
    pub dst: IpAddr,
    /// The IP packet's full length.
    pub len: usize,
    /// What it carried.
    pub transport: Transport,
    /// Its first bytes, as captured (the snap length).
    pub bytes: Vec<u8>,
}

impl Packet {
    /// The TCP segment, if this is one.
    pub fn tcp(&self) -> Option<&Tcp> {
        match &self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The UDP datagram, if this is one.
    pub fn udp(&self) -> Option<&Udp> {
        match &self.transport {
            Transport::Udp(u) => Some(u),
            _ => None,
        }
    }

    /// Why the link dropped it, if it did.
    pub fn dropped(&self) -> Option<DropReason> {
        match self.fate {
            Fate::Dropped(why) => Some(why),
            Fate::Delivered { .. } => None,
        }
    }

    /// When it arrived at the other host, if it did.
    pub fn arrived(&self) -> Option<Duration> {
        match self.fate {
            Fate::Delivered { at, .. } => Some(at),
            Fate::Dropped(_) => None,
        }
    }

    /// Whether it is TCP or UDP from or to `port`.
    pub fn involves_port(&self, port: u16) -> bool {
        match &self.transport {
            Transport::Tcp(t) => t.src_port == port || t.dst_port == port,
            Transport::Udp(u) => u.src_port == port || u.dst_port == port,
            _ => false,
        }
    }
}

impl fmt::Display for Packet {
    /// One line in tcpdump's notation, after the time on the lab's clock:
    /// `0.000123 IP 10.77.0.1.40000 > 10.77.0.2.7000: Flags [S], seq 0, win 64240, ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.time;
        write!(f, "{}.{:06} ", t.as_secs(), t.subsec_micros())?;
        write!(f, "{} ", if self.ipv6 { "IP6" } else { "IP" })?;
        match &self.transport {
            Transport::Tcp(tcp) => {
                let (src, dst) = (self.src, self.dst);
                write!(f, "{src}.{} > {dst}.{}: ", tcp.src_port, tcp.dst_port)?;
                write!(f, "Flags [{}]", tcp.flags.notation())?;
                let f_s_r = tcp.flags.syn || tcp.flags.fin || tcp.flags.rst;
                if tcp.payload_len > 0 {
                    let end = tcp.seq.wrapping_add(tcp.payload_len as u32);
                    write!(f, ", seq {}:{end}", tcp.seq)?;
                } else if f_s_r {
                    write!(f, ", seq {}", tcp.seq)?;
                }
                if let Some(ack) = tcp.ack {
                    write!(f, ", ack {ack}")?;
                }
                write!(f, ", win {}", tcp.window)?;
                if !tcp.options.is_empty() {
                    let options: Vec<String> = tcp.options.iter().map(option_text).collect();
                    write!(f, ", options [{}]", options.join(","))?;
                }
                write!(f, ", length {}", tcp.payload_len)?;
            }
            Transport::Udp(udp) => {
                let (src, dst) = (self.src, self.dst);
                write!(f, "{src}.{} > {dst}.{}: ", udp.src_port, udp.dst_port)?;
                write!(f, "UDP, length {}", udp.payload_len)?;
            }
            Transport::Icmp(icmp) => {
                let icmp6 = if self.ipv6 { "ICMP6, " } else { "ICMP " };
                write!(f, "{} > {}: {icmp6}{}", self.src, self.dst, icmp.summary)?;
            }
            Transport::Other(what) => write!(f, "{} > {}: {what}", self.src, self.dst)?,
        }
        match self.fate {
            Fate::Dropped(why) => write!(f, " [dropped: {}]", why.word()),
            Fate::Delivered { copies: 2.., .. } => write!(f, " [duplicated]"),
            Fate::Delivered { .. } => Ok(()),
        }
    }
}

fn option_text(option: &TcpOption) -> String {
    match option {
        TcpOption::Nop => "nop".into(),
        TcpOption::Mss(m) => format!("mss {m}"),
        TcpOption::WindowScale(s) => format!("wscale {s}"),
        TcpOption::SackPermitted => "sackOK".into(),
        TcpOption::Sack(blocks) => {
            let blocks: Vec<String> = blocks.iter().map(|(l, r)| format!("{{{l}:{r}}}")).collect();
            format!("sack {} {}", blocks.len(), blocks.join(""))
        }
        TcpOption::Timestamp { val, ecr } => format!("TS val {val} ecr {ecr}"),
    }
}

/// Every packet the link saw, in the order they reached it.
#[derive(Debug, Clone)]
pub struct Trace {
    packets: Vec<Packet>,
    /// Packets that crossed after the trace was full (`trace_limit`): counted, not kept.
    pub unrecorded: u64,
    /// The wall-clock time of the lab's clock's zero, for pcap timestamps.
    pub(crate) started: SystemTime,
}

/// A TCP connection's direction: (source, source port, destination, destination port).
type FlowKey = (IpAddr, u16, IpAddr, u16);

impl Trace {
    /// Decodes `records` (in the order they reached the link).
    pub(crate) fn decode(records: &[Record], unrecorded: u64, started: SystemTime) -> Trace {
        // The ISN of each direction of each connection seen so far.
        let mut isn: HashMap<FlowKey, u32> = HashMap::new();
        let packets = records.iter().map(|r| decode_one(r, &mut isn)).collect();
        Trace {
            packets,
            unrecorded,
            started,
        }
    }

    /// The packets, in the order they reached the link.
    pub fn packets(&self) -> &[Packet] {
        &self.packets
    }

    /// An iterator over the packets.
    pub fn iter(&self) -> std::slice::Iter<'_, Packet> {
        self.packets.iter()
    }

    /// The number of packets kept.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether no packet was kept.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// A trace of only the packets `keep` accepts (to print one connection, say).
    pub fn only(&self, keep: impl Fn(&Packet) -> bool) -> Trace {
        Trace {
            packets: self.packets.iter().filter(|p| keep(p)).cloned().collect(),
            unrecorded: self.unrecorded,
            started: self.started,
        }
    }

    /// The TCP and UDP packets from or to `port`.
    pub fn port(&self, port: u16) -> Trace {
        self.only(|p| p.involves_port(port))
    }

    /// The packets of this trace and of `other` (a trace of the same lab), in the order they
    /// reached the link: to gather the packets several experiments printed into one pcap file.
    pub fn merge(&self, other: &Trace) -> Trace {
        let mut packets = self.packets.clone();
        packets.extend(other.packets.iter().cloned());
        // Stable: packets that reached the link at the same instant keep their order.
        packets.sort_by_key(|p| p.time);
        Trace {
            packets,
            unrecorded: self.unrecorded.max(other.unrecorded),
            started: self.started,
        }
    }

    /// The TCP segments, with their packets.
    pub fn tcp(&self) -> impl Iterator<Item = (&Packet, &Tcp)> {
        self.packets.iter().filter_map(|p| p.tcp().map(|t| (p, t)))
    }
}

impl fmt::Display for Trace {
    /// One line per packet.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.packets {
            writeln!(f, "{p}")?;
        }
        if self.unrecorded > 0 {
            writeln!(
                f,
                "({} more packets not kept: the trace was full)",
                self.unrecorded
            )?;
        }
        Ok(())
    }
}

fn decode_one(record: &Record, isn: &mut HashMap<FlowKey, u32>) -> Packet {
    let bytes: &[u8] = &record.bytes;
    let mut packet = Packet {
        time: record.time,
        direction: record.direction,
        fate: record.fate,
        ipv6: false,
        src: IpAddr::from([0, 0, 0, 0]),
        dst: IpAddr::from([0, 0, 0, 0]),
        len: record.len,
        transport: Transport::Other(format!("not IP, length {}", record.len)),
        bytes: bytes.to_vec(),
    };
    let Ok(sliced) = LaxSlicedPacket::from_ip(bytes) else {
        return packet;
    };
    // The IP header's length, options and extension headers included: what comes before the
    // IP payload in the captured bytes.
    let (ip_header_len, fragmented, protocol) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            packet.src = IpAddr::V4(ip.header().source_addr());
            packet.dst = IpAddr::V4(ip.header().destination_addr());
            let payload = ip.payload();
            (
                bytes.len() - payload.payload.len(),
                payload.fragmented,
                payload.ip_number,
            )
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            packet.ipv6 = true;
            packet.src = IpAddr::V6(ip.header().source_addr());
            packet.dst = IpAddr::V6(ip.header().destination_addr());
            let payload = ip.payload();
            (
                bytes.len() - payload.payload.len(),
                payload.fragmented,
                payload.ip_number,
            )
        }
        _ => return packet,
    };
    let ip_payload_len = record.len.saturating_sub(ip_header_len);
    packet.transport = match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => {
            let payload_len = ip_payload_len.saturating_sub(tcp.header_len());
            Transport::Tcp(decode_tcp(&packet, tcp, payload_len, isn))
        }
        Some(TransportSlice::Udp(udp)) => Transport::Udp(Udp {
            src_port: udp.source_port(),
            dst_port: udp.destination_port(),
            payload_len: usize::from(udp.length()).saturating_sub(8),
        }),
        Some(TransportSlice::Icmpv4(icmp)) => Transport::Icmp(Icmp {
            kind: icmp.type_u8(),
            code: icmp.code_u8(),
            summary: icmpv4_summary(icmp.icmp_type(), icmp.payload(), ip_payload_len),
        }),
        Some(TransportSlice::Icmpv6(icmp)) => Transport::Icmp(Icmp {
            kind: icmp.type_u8(),
            code: icmp.code_u8(),
            summary: icmpv6_summary(icmp.icmp_type(), icmp.type_u8(), ip_payload_len),
        }),
        _ if fragmented => Transport::Other(format!(
            "fragment of protocol {}, length {ip_payload_len}",
            protocol.0
        )),
        _ => Transport::Other(format!("ip-proto-{}, length {ip_payload_len}", protocol.0)),
    };
    packet
}

/// Decodes a TCP header, with sequence numbers made relative to each direction's ISN.
fn decode_tcp(
    packet: &Packet,
    tcp: &TcpSlice<'_>,
    payload_len: usize,
    isn: &mut HashMap<FlowKey, u32>,
) -> Tcp {
    let this_way = (
        packet.src,
        tcp.source_port(),
        packet.dst,
        tcp.destination_port(),
    );
    let other_way = (this_way.2, this_way.3, this_way.0, this_way.1);
    let raw_seq = tcp.sequence_number();
    if tcp.syn() {
        // A SYN starts a direction afresh; a bare SYN starts a new connection.
        isn.insert(this_way, raw_seq);
        if !tcp.ack() {
            isn.remove(&other_way);
        }
    }
    // Mid-connection (the trace began late): the first number seen counts as the start.
    let own = *isn.entry(this_way).or_insert(raw_seq);
    let peer = isn.get(&other_way).copied();
    let relative_to_peer = |n: u32| peer.map_or(n, |p| n.wrapping_sub(p));
    let options = tcp
        .options_iterator()
        .filter_map(Result::ok)
        .map(|o| match o {
            TcpOptionElement::Noop => TcpOption::Nop,
            TcpOptionElement::MaximumSegmentSize(m) => TcpOption::Mss(m),
            TcpOptionElement::WindowScale(s) => TcpOption::WindowScale(s),
            TcpOptionElement::SelectiveAcknowledgementPermitted => TcpOption::SackPermitted,
            TcpOptionElement::SelectiveAcknowledgement(first, rest) => TcpOption::Sack(
                std::iter::once(first)
                    .chain(rest.into_iter().flatten())
                    .map(|(l, r)| (relative_to_peer(l), relative_to_peer(r)))
                    .collect(),
            ),
            TcpOptionElement::Timestamp(val, ecr) => TcpOption::Timestamp { val, ecr },
        })
        .collect();
    Tcp {
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        flags: Flags {
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            psh: tcp.psh(),
            urg: tcp.urg(),
            ece: tcp.ece(),
            cwr: tcp.cwr(),
        },
        seq: raw_seq.wrapping_sub(own),
        ack: tcp
            .ack()
            .then(|| relative_to_peer(tcp.acknowledgment_number())),
        raw_seq,
        window: tcp.window_size(),
        options,
        payload_len,
    }
}

fn icmpv4_summary(kind: Icmpv4Type, payload: &[u8], len: usize) -> String {
    match kind {
        Icmpv4Type::EchoRequest(e) => {
            format!("echo request, id {}, seq {}, length {len}", e.id, e.seq)
        }
        Icmpv4Type::EchoReply(e) => format!("echo reply, id {}, seq {}, length {len}", e.id, e.seq),
        Icmpv4Type::DestinationUnreachable(d) => {
            format!("{} unreachable ({d:?}), length {len}", quoted(payload))
        }
        Icmpv4Type::TimeExceeded(_) => format!("time exceeded in-transit, length {len}"),
        other => format!("{other:?}, length {len}"),
    }
}

fn icmpv6_summary(kind: Icmpv6Type, raw_type: u8, len: usize) -> String {
    match kind {
        Icmpv6Type::EchoRequest(e) => {
            format!("echo request, id {}, seq {}, length {len}", e.id, e.seq)
        }
        Icmpv6Type::EchoReply(e) => format!("echo reply, id {}, seq {}, length {len}", e.id, e.seq),
        Icmpv6Type::DestinationUnreachable(code) => {
            format!("destination unreachable ({code:?}), length {len}")
        }
        Icmpv6Type::PacketTooBig { mtu } => format!("packet too big, mtu {mtu}, length {len}"),
        Icmpv6Type::NeighborSolicitation => format!("neighbor solicitation, length {len}"),
        Icmpv6Type::NeighborAdvertisement(_) => format!("neighbor advertisement, length {len}"),
        Icmpv6Type::RouterSolicitation => format!("router solicitation, length {len}"),
        _ if raw_type == 143 => format!("multicast listener report v2, length {len}"),
        _ => format!("type {raw_type}, length {len}"),
    }
}

/// The packet an ICMP error quotes, as "10.77.0.2 udp port 6000".
fn quoted(payload: &[u8]) -> String {
    let Ok(inner) = LaxSlicedPacket::from_ip(payload) else {
        return "?".into();
    };
    let dst = match &inner.net {
        Some(LaxNetSlice::Ipv4(ip)) => IpAddr::V4(ip.header().destination_addr()),
        Some(LaxNetSlice::Ipv6(ip)) => IpAddr::V6(ip.header().destination_addr()),
        _ => return "?".into(),
    };
    match &inner.transport {
        Some(TransportSlice::Udp(u)) => format!("{dst} udp port {}", u.destination_port()),
        Some(TransportSlice::Tcp(t)) => format!("{dst} tcp port {}", t.destination_port()),
        _ => format!("{dst}"),
    }
}

#[cfg(test)]
mod tests {
    use etherparse::{PacketBuilder, PacketBuilderStep, TcpHeader};

    use super::*;

    const A: [u8; 4] = [10, 77, 0, 1];
    const B: [u8; 4] = [10, 77, 0, 2];

    fn record(time_us: u64, direction: Direction, bytes: Vec<u8>) -> Record {
        Record {
            time: Duration::from_micros(time_us),
            direction,
            len: bytes.len(),
            bytes: bytes.into(),
            fate: Fate::Delivered {
                at: Duration::from_micros(time_us),
                copies: 1,
            },
        }
    }

    /// A handshake, a data segment and a reset, built byte by byte, print as tcpdump prints
    /// them, with sequence numbers relative to each side's ISN (no namespaces needed).
    #[test]
    fn segments_print_like_tcpdump() {
        let (isn_a, isn_b) = (u32::MAX - 2, 77u32);
        let mut records = Vec::new();
        let mut packet = |time, dir, builder: PacketBuilderStep<TcpHeader>, payload: &[u8]| {
            let mut bytes = Vec::new();
            builder.write(&mut bytes, payload).unwrap();
            records.push(record(time, dir, bytes));
        };
        let syn_options = [
            TcpOptionElement::MaximumSegmentSize(1460),
            TcpOptionElement::SelectiveAcknowledgementPermitted,
            TcpOptionElement::Timestamp(5, 0),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(7),
        ];
        let syn = PacketBuilder::ipv4(A, B, 64)
            .tcp(40000, 7000, isn_a, 64240)
            .syn()
            .options(&syn_options)
            .unwrap();
        packet(123, Direction::AToB, syn, &[]);
        let syn_ack = PacketBuilder::ipv4(B, A, 64)
            .tcp(7000, 40000, isn_b, 65160)
            .syn()
            .ack(isn_a.wrapping_add(1));
        packet(250, Direction::BToA, syn_ack, &[]);
        // The sequence number wraps past 2^32 here: relative numbers must not care.
        let data = PacketBuilder::ipv4(A, B, 64)
            .tcp(40000, 7000, isn_a.wrapping_add(1), 502)
            .psh()
            .ack(isn_b + 1);
        packet(1_000_300, Direction::AToB, data, b"hello");
        let rst = PacketBuilder::ipv4(B, A, 64)
            .tcp(7000, 40000, isn_b + 1, 0)
            .rst()
            .ack(isn_a.wrapping_add(6));
        packet(1_000_400, Direction::BToA, rst, &[]);
        let trace = Trace::decode(&records, 0, SystemTime::UNIX_EPOCH);
        let lines: Vec<String> = trace.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            lines,
            [
                "0.000123 IP 10.77.0.1.40000 > 10.77.0.2.7000: Flags [S], seq 0, win 64240, \
                 options [mss 1460,sackOK,TS val 5 ecr 0,nop,wscale 7], length 0",
                "0.000250 IP 10.77.0.2.7000 > 10.77.0.1.40000: Flags [S.], seq 0, ack 1, \
                 win 65160, length 0",
                "1.000300 IP 10.77.0.1.40000 > 10.77.0.2.7000: Flags [P.], seq 1:6, ack 1, \
                 win 502, length 5",
                "1.000400 IP 10.77.0.2.7000 > 10.77.0.1.40000: Flags [R.], seq 1, ack 6, \
                 win 0, length 0",
            ]
        );
        let syn = trace.packets()[0].tcp().unwrap();
        assert_eq!((syn.mss(), syn.window_scale()), (Some(1460), Some(7)));
        assert_eq!(syn.raw_seq, isn_a);
    }

    /// A UDP datagram and a drop print with their own notation.
    #[test]
    fn udp_and_drops_print_like_tcpdump() {
        let mut bytes = Vec::new();
        PacketBuilder::ipv4(A, B, 64)
            .udp(5000, 6000)
            .write(&mut bytes, b"ping")
            .unwrap();
        let mut r = record(42, Direction::AToB, bytes);
        r.fate = Fate::Dropped(DropReason::Loss);
        let trace = Trace::decode(&[r], 0, SystemTime::UNIX_EPOCH);
        assert_eq!(
            trace.packets()[0].to_string(),
            "0.000042 IP 10.77.0.1.5000 > 10.77.0.2.6000: UDP, length 4 [dropped: loss]"
        );
    }
}
