//! Saving a trace as a pcap file, the format tcpdump writes and Wireshark opens.
//!
//! A pcap file is a global header (its link type says what each packet starts with) and one
//! record per packet: a timestamp, the bytes captured and the packet's original length. The
//! lab's packets are bare IP packets (a TUN device has no Ethernet header), so the link type is
//! `LINKTYPE_RAW` (101): each record starts with an IPv4 or IPv6 header, told apart by its
//! version nibble. The `pcap-file` crate writes the format.
//!
//! The file holds every packet as it *reached* the link, those the link then dropped
//! included: it is what a capture on the sending host's interface would show. Which ones were
//! dropped is in the text trace (`[dropped: loss]`), not in the file.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::trace::Trace;

/// The snap length written in the file's header: the most any record may hold.
const FILE_SNAPLEN: u32 = 65_535;

impl Trace {
    // ANCHOR: save_pcap
    /// Writes the trace to `path` as a pcap file (`LINKTYPE_RAW`, microsecond timestamps on
    /// the wall clock): `tcpdump -r path` and Wireshark open it.
    pub fn save_pcap(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: FILE_SNAPLEN,
            datalink: DataLink::RAW,
            ts_resolution: TsResolution::MicroSecond,
            endianness: Endianness::native(),
        };
        let file = BufWriter::new(File::create(path)?);
        let mut writer = PcapWriter::with_header(file, header).map_err(io::Error::other)?;
        let zero = self
            .started
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        for packet in self.iter() {
            let record = PcapPacket::new(zero + packet.time, packet.len as u32, &packet.bytes);
            writer.write_packet(&record).map_err(io::Error::other)?;
        }
        let mut file = writer.into_writer();
        io::Write::flush(&mut file)
    }
    // ANCHOR_END: save_pcap
}
