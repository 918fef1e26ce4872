//! A chapter's `demo --wire`: its experiments run on one lab, each narrated and followed by
//! its packets, and the packets shown saved as a pcap file on request.
//!
//! Every chapter demo that has packets to show (1, 2, 3, 5, 6) does the same around its own
//! experiments: refuse at once, with the reason and the fix, where no lab can be made; make
//! the lab; print each experiment's packets under its narration (all of them, or a chosen
//! few with `... N more packets` for the rest); and save exactly the packets printed, so that
//! `tcpdump -r` shows what the reader saw. [`run`] and [`Shown`] are that part, once.

use std::cell::Cell;
use std::io;
use std::path::Path;

use socklab_support::Narrator;

use crate::{Lab, LinkConfig, Packet, Trace};

/// The packets printed so far, for the pcap file.
#[derive(Debug, Default)]
pub struct Shown {
    trace: Option<Trace>,
}

impl Shown {
    /// Prints every packet of `trace` under the narration, indented like an explanation.
    pub fn all(&mut self, n: &Narrator, trace: Trace) {
        n.explain(trace.to_string().trim_end());
        self.keep(trace);
    }

    /// Prints the packets of `trace` that `keep` accepts (given each one's index and the
    /// packet), with a `... N more packets` line for each run of packets left out.
    pub fn some(&mut self, n: &Narrator, trace: &Trace, keep: impl Fn(usize, &Packet) -> bool) {
        let mut left_out = 0;
        let mut lines = Vec::new();
        for (i, p) in trace.iter().enumerate() {
            if keep(i, p) {
                if left_out > 0 {
                    lines.push(format!("... {left_out} more packets"));
                    left_out = 0;
                }
                lines.push(p.to_string());
            } else {
                left_out += 1;
            }
        }
        if left_out > 0 {
            lines.push(format!("... {left_out} more packets"));
        }
        n.explain(&lines.join("\n"));
        // `only` asks about the packets in their order: the same ones as above.
        let index = Cell::new(0);
        self.keep(trace.only(|p| keep(index.replace(index.get() + 1), p)));
    }

    fn keep(&mut self, trace: Trace) {
        self.trace = Some(match self.trace.take() {
            Some(before) => before.merge(&trace),
            None => trace,
        });
    }
}

/// Makes a lab with `config` and runs `experiments` on it; with `pcap`, saves the packets
/// they showed there, even when an experiment failed (to see why). Without a lab, fails at
/// once with `no wire lab here: ` and the reason and the fix, which the binary prints as its
/// one line.
pub fn run(
    n: &Narrator,
    config: LinkConfig,
    pcap: Option<&Path>,
    experiments: impl FnOnce(&Lab, &mut Shown) -> io::Result<()>,
) -> io::Result<()> {
    Lab::available().map_err(|u| io::Error::other(format!("no wire lab here: {u}")))?;
    let lab = Lab::new(config)?;
    let mut shown = Shown::default();
    let ran = experiments(&lab, &mut shown);
    if let (Some(path), Some(trace)) = (pcap, shown.trace) {
        trace.save_pcap(path)?;
        n.heading(&format!(
            "Saved these {} packets to {}: `tcpdump -nr {1}` or Wireshark",
            trace.len(),
            path.display()
        ));
    }
    ran
}
