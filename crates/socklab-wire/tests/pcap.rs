//! The trace's two outputs: lines in tcpdump's notation, and a pcap file that tcpdump reads
//! back with the very same lines.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use socklab_support::{wait, within};
use socklab_wire::{Lab, LinkConfig, testing};

const LIMIT: Duration = Duration::from_secs(20);
const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs one short TCP conversation on port 7000 (request, echo, orderly close) and waits until
/// the last ACK has crossed.
fn converse(lab: &Lab) {
    let (a, b) = (lab.a().clone(), lab.b().clone());
    let listener = b.run(|| TcpListener::bind(b.addr(7000))).unwrap().unwrap();
    let mut client = a
        .run(|| TcpStream::connect_timeout(&b.addr(7000), TIMEOUT))
        .unwrap()
        .unwrap();
    within(LIMIT, "a short conversation", move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(TIMEOUT)).unwrap();
        client.set_read_timeout(Some(TIMEOUT)).unwrap();
        client.write_all(b"hello, wire").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut request = Vec::new();
        conn.read_to_end(&mut request).unwrap();
        conn.write_all(&request).unwrap();
        drop(conn);
        let mut echo = Vec::new();
        client.read_to_end(&mut echo).unwrap();
        assert_eq!(echo, b"hello, wire");
    });
    // The client's last ACK is sent as the server's FIN arrives: wait until it has crossed.
    wait::until(TIMEOUT, "the final ACK", || {
        let trace = lab.trace();
        let fins = trace.tcp().filter(|(_, t)| t.flags.fin).count();
        let last = trace.tcp().last().map(|(_, t)| t.flags);
        fins == 2 && last.is_some_and(|f| f.ack && !f.fin)
    })
    .unwrap();
}

// ANCHOR: trace_lines_match_tcpdump
/// The pcap file opens in `tcpdump -r`, with one packet per trace line, and tcpdump prints
/// each packet exactly as the trace does (tcpdump shows the SYNs' sequence numbers absolute,
/// the trace relative, so only their flags and options are compared).
#[test]
fn trace_lines_match_tcpdump() {
    let Some(lab) = testing::lab("trace_lines_match_tcpdump", LinkConfig::default()) else {
        return;
    };
    converse(&lab);
    let trace = lab.trace();
    let path = std::env::temp_dir().join(format!("socklab-wire-{}.pcap", std::process::id()));
    trace.save_pcap(&path).unwrap();
    let ours: Vec<String> = trace.iter().map(|p| p.to_string()).collect();
    testing::compare_with_tcpdump("trace_lines_match_tcpdump", &ours, &path);
    let _ = std::fs::remove_file(&path);
}
// ANCHOR_END: trace_lines_match_tcpdump

/// A pcap file is a 24-byte header (magic number, LINKTYPE_RAW = 101) and one record per
/// packet with its original length, whatever the snap length kept.
#[test]
fn pcap_holds_every_packet_as_raw_ip() {
    let config = LinkConfig {
        snaplen: 60,
        ..LinkConfig::default()
    };
    let Some(lab) = testing::lab("pcap_holds_every_packet_as_raw_ip", config) else {
        return;
    };
    converse(&lab);
    let trace = lab.trace();
    let path = std::env::temp_dir().join(format!("socklab-wire-raw-{}.pcap", std::process::id()));
    trace.save_pcap(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let u32_at = |i: usize| u32::from_ne_bytes(bytes[i..i + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0xa1b2_c3d4, "the microsecond pcap magic number");
    assert_eq!(u32_at(20), 101, "LINKTYPE_RAW");
    let mut at = 24;
    for packet in trace.iter() {
        let (incl, orig) = (u32_at(at + 8) as usize, u32_at(at + 12) as usize);
        assert_eq!(orig, packet.len);
        assert_eq!(incl, packet.len.min(60));
        assert_eq!(bytes[at + 16] >> 4, 4, "an IPv4 header comes first");
        at += 16 + incl;
    }
    assert_eq!(at, bytes.len(), "one record per packet, nothing else");
}
