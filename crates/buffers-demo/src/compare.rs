//! This chapter's bulk pair against iperf3, the tool everyone measures throughput with.
//!
//! Both run a single TCP stream over loopback for the same time with 128 KiB writes, in
//! alternating rounds: loopback throughput on a shared machine varies from run to run, so one
//! run of each proves little, and alternating spreads any drift over both. The
//! medians, their spread and the ratio are printed, plus one `RESULT` line that
//! `cargo xtask bench` reads.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use socklab_support::stats::Spread;

use crate::bulk::{self, Amount};

/// Runs iperf3 (server and client, single stream, loopback) and our bulk pair for `time`
/// each (whole seconds), alternating for `rounds` rounds, and writes each round, the medians,
/// the spread and the ratio to `out`. Without iperf3 installed, says so and returns `Ok`.
pub fn against_iperf3(
    time: Duration,
    rounds: usize,
    buffer: Option<usize>,
    out: &mut impl Write,
) -> io::Result<()> {
    if Command::new("iperf3").arg("--version").output().is_err() {
        writeln!(
            out,
            "skipped: iperf3 is not installed (Debian/Ubuntu: apt-get install iperf3)"
        )?;
        return Ok(());
    }
    let secs = time.as_secs().max(1);
    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    let sink = bulk::sink_with_buffer(buffer)?;
    for round in 1..=rounds.max(1) {
        let t = iperf3_once(secs, buffer)?;
        let o = bulk::send(
            sink,
            128 * 1024,
            Amount::Time(Duration::from_secs(secs)),
            buffer,
        )?
        .bytes_per_sec()
            * 8.0;
        writeln!(
            out,
            "round {round}: iperf3 {:.2} Gbit/s, buffers-demo {:.2} Gbit/s",
            t / 1e9,
            o / 1e9
        )?;
        theirs.push(t);
        ours.push(o);
    }
    // At least one round ran, so both have a spread.
    let spread = |v: &mut Vec<f64>| Spread::of(v).ok_or_else(|| io::Error::other("no rounds ran"));
    let (t, o) = (spread(&mut theirs)?, spread(&mut ours)?);
    writeln!(
        out,
        "iperf3 (1 stream, 128 KiB writes): median {:.2} Gbit/s (min {:.2}, max {:.2})",
        t.median / 1e9,
        t.min / 1e9,
        t.max / 1e9
    )?;
    writeln!(
        out,
        "buffers-demo bulk (same):          median {:.2} Gbit/s (min {:.2}, max {:.2})",
        o.median / 1e9,
        o.min / 1e9,
        o.max / 1e9
    )?;
    writeln!(
        out,
        "ratio of medians: {:.1}% of iperf3 (goal: at least 90%)",
        100.0 * o.median / t.median
    )?;
    // One line for scripts (`cargo xtask bench` reads it).
    writeln!(
        out,
        "RESULT iperf3_median={:.4} iperf3_min={:.4} iperf3_max={:.4} ours_median={:.4} ours_min={:.4} ours_max={:.4}",
        t.median / 1e9,
        t.min / 1e9,
        t.max / 1e9,
        o.median / 1e9,
        o.min / 1e9,
        o.max / 1e9
    )
}

/// One iperf3 run of `secs` seconds: a one-off server and a client; returns bits per second
/// as the receiver saw them.
fn iperf3_once(secs: u64, buffer: Option<usize>) -> io::Result<f64> {
    // iperf3 cannot report a port the kernel chose, so ask for a free one and hand it over.
    // Another process could take it in between; then iperf3 fails and says so.
    let port = TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port()
        .to_string();
    let mut server = Command::new("iperf3")
        .args(["-s", "-1", "--forceflush", "-B", "127.0.0.1", "-p", &port])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("starting iperf3 -s: {e}")))?;
    let output = server
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("iperf3 -s has no stdout"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // At most 5 s for iperf3 to say it listens.
    let ready = (0..50).any(|_| {
        rx.recv_timeout(Duration::from_millis(100))
            .is_ok_and(|l| l.contains("listening"))
    });
    if !ready {
        let _ = server.kill();
        let _ = server.wait();
        return Err(io::Error::other(format!(
            "iperf3 -s did not start listening on port {port}"
        )));
    }
    let mut client = Command::new("iperf3");
    client.args([
        "-c",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        &secs.to_string(),
        "-J",
    ]);
    if let Some(size) = buffer {
        client.args(["-w", &size.to_string()]);
    }
    let client = client
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("running iperf3 -c: {e}")))?;
    let _ = server.wait();
    let json = String::from_utf8_lossy(&client.stdout);
    received_bits_per_second(&json)
        .ok_or_else(|| io::Error::other("no sum_received in iperf3's JSON"))
}

/// The receiver-side throughput from iperf3's `-J` output: the `bits_per_second` inside
/// `"sum_received"`. A targeted look-up rather than a JSON parser, for one number.
pub fn received_bits_per_second(json: &str) -> Option<f64> {
    let section = &json[json.find("\"sum_received\"")?..];
    let after = &section[section.find("\"bits_per_second\"")? + "\"bits_per_second\"".len()..];
    let number: String = after
        .trim_start_matches([':', ' ', '\t'])
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        .collect();
    number.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The receiver's figure is found in iperf3's JSON, not the sender's.
    #[test]
    fn reads_the_receivers_throughput() {
        let json = r#"{"end": {"sum_sent": {"bits_per_second": 1.5e10},
                      "sum_received": {"seconds": 2, "bits_per_second": 12345.5e6}}}"#;
        assert_eq!(received_bits_per_second(json), Some(12345.5e6));
        assert_eq!(received_bits_per_second("{}"), None);
    }
}
