//! The lab itself: two hosts that reach each other only over the link, a trace that shows
//! every packet, a pcap file that tcpdump reads, and the switch that cuts the link.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use socklab_support::within;
use socklab_wire::{Direction, LinkConfig, testing};

const LIMIT: Duration = Duration::from_secs(20);
const TIMEOUT: Duration = Duration::from_secs(5);

// ANCHOR: udp_crosses_the_link
/// A UDP datagram from A reaches B over the link, the reply comes back, and the trace shows
/// both with their ports and lengths (proved by the packets).
#[test]
fn udp_crosses_the_link() {
    let Some(lab) = testing::lab("udp_crosses_the_link", LinkConfig::default()) else {
        return;
    };
    let (a, b) = (lab.a().clone(), lab.b().clone());
    let server = b.run(|| UdpSocket::bind(b.addr(7000))).unwrap().unwrap();
    let client = a.run(|| UdpSocket::bind(a.addr(0))).unwrap().unwrap();
    let client_port = client.local_addr().unwrap().port();
    within(LIMIT, "udp ping", move || {
        server.set_read_timeout(Some(TIMEOUT)).unwrap();
        client.set_read_timeout(Some(TIMEOUT)).unwrap();
        client.send_to(b"ping", b.addr(7000)).unwrap();
        let mut buf = [0; 16];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"ping"[..], a.addr(client_port)));
        server.send_to(b"pong!", from).unwrap();
        let (n, _) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"pong!");
    });
    let trace = lab.trace().port(7000);
    print!("{trace}");
    let lines: Vec<String> = trace.iter().map(|p| p.to_string()).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].ends_with(&format!(
        "IP 10.77.0.1.{client_port} > 10.77.0.2.7000: UDP, length 4"
    )));
    assert!(lines[1].ends_with(&format!(
        "IP 10.77.0.2.7000 > 10.77.0.1.{client_port}: UDP, length 5"
    )));
    assert_eq!(trace.packets()[0].direction, Direction::AToB);
    assert_eq!(trace.packets()[1].direction, Direction::BToA);
}
// ANCHOR_END: udp_crosses_the_link

/// IPv6 works over the link too: a TCP connection to `fd77::2` carries bytes both ways, and
/// the trace shows `IP6` segments.
#[test]
fn tcp_over_ipv6_crosses_the_link() {
    let Some(lab) = testing::lab("tcp_over_ipv6_crosses_the_link", LinkConfig::default()) else {
        return;
    };
    let (a, b) = (lab.a().clone(), lab.b().clone());
    let listener = b
        .run(|| TcpListener::bind(b.addr_v6(7001)))
        .unwrap()
        .unwrap();
    let mut client = a
        .run(|| TcpStream::connect_timeout(&b.addr_v6(7001), TIMEOUT))
        .unwrap()
        .unwrap();
    within(LIMIT, "echo over IPv6", move || {
        let (mut server, _) = listener.accept().unwrap();
        server.set_read_timeout(Some(TIMEOUT)).unwrap();
        client.set_read_timeout(Some(TIMEOUT)).unwrap();
        client.write_all(b"hello").unwrap();
        let mut buf = [0; 5];
        server.read_exact(&mut buf).unwrap();
        server.write_all(&buf).unwrap();
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
    });
    let trace = lab.trace().port(7001);
    print!("{trace}");
    assert!(trace.iter().all(|p| p.ipv6));
    assert!(trace.iter().any(|p| p.to_string().contains("IP6 fd77::1.")));
    assert!(trace.tcp().any(|(_, t)| t.is_syn_ack()));
}

/// Each host has only its own addresses: A cannot bind B's address, and `lo` is up in both
/// (proved by what the calls return).
#[test]
fn hosts_are_separate_namespaces() {
    let Some(lab) = testing::lab("hosts_are_separate_namespaces", LinkConfig::default()) else {
        return;
    };
    let (a, b) = (lab.a().clone(), lab.b().clone());
    let bound = a.run(|| UdpSocket::bind(b.addr(0))).unwrap();
    let err = bound.expect_err("A could bind B's address");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrNotAvailable);
    for host in [&a, &b] {
        host.run(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            TcpStream::connect_timeout(&l.local_addr().unwrap(), TIMEOUT).unwrap();
        })
        .unwrap();
    }
}
