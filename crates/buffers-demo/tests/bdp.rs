//! Chapter 3 on a link with a real delay: the bandwidth-delay product, measured.
//!
//! On loopback a transfer is bound by the processors (`behaviour.rs` shows it). Here the wire
//! lab's link has a round trip of `40 ms` or `80 ms` and a rate of `100 Mbit/s`, and the
//! chapter's own bulk pair (`bulk::send` from host A to `bulk::listen`'s sink on host B, run by
//! the library's [`wire::measure`]) runs for about a second at each buffer size: with a fixed
//! `SO_RCVBUF` the receiver's
//! window, read from its ACKs on the wire, caps the throughput at window / RTT; left alone,
//! the buffer autotunes until the window covers the path's bandwidth-delay product.
//!
//! Every point runs on a lab of its own, all at once (each is mostly waiting for its link),
//! once per test process; the two tests share the run. The run also draws the chapter's
//! chart (`bdp.svg`, throughput against buffer size at both round trips, with the buffer /
//! RTT lines) into the test's temporary folder under `target/`; `cargo xtask bench` copies
//! it into the book. Where no lab can be made, the tests say why (`SKIPPED ...`) and return.
//!
//! The last tests run `demo --wire`, a shorter version of the same experiment that prints its
//! packets, and check what it prints and that `tcpdump -r` reads the pcap file it saves as the
//! same packets.

use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::Duration;

use buffers_demo::wire::{self, Point, RATE_BPS};
use plotters::prelude::*;
use socklab_support::within;
use socklab_wire::{Lab, LinkConfig, testing};

/// The round trips measured: twice the link's one-way delay.
const RTTS: [Duration; 2] = [Duration::from_millis(40), Duration::from_millis(80)];

/// The fixed buffer sizes measured (`SO_RCVBUF` = `SO_SNDBUF` requested, both sides).
const BUFFERS: [usize; 4] = [16 << 10, 32 << 10, 64 << 10, 128 << 10];

/// How long each transfer writes.
const WRITING: Duration = Duration::from_secs(1);

/// The bound on the whole run: far above what it takes, so it only ends a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs the library's [`wire::measure`] for [`WRITING`] on a lab of its own, whose link has a
/// round trip of `rtt` and a rate of [`RATE_BPS`], with both sides' buffers set to `buffer`
/// (or left alone).
fn measure(rtt: Duration, buffer: Option<usize>) -> io::Result<Point> {
    let lab = Lab::new(wire::link(rtt))?;
    let (point, _trace) = wire::measure(&lab, 5000, buffer, WRITING)?;
    Ok(point)
}

/// Held while the sweep runs, and while `demo --wire` runs: the two would take each other's
/// processors (on a 2-core machine) and slow each other's transfers down.
fn alone() -> MutexGuard<'static, ()> {
    static WIRE: Mutex<()> = Mutex::new(());
    WIRE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every point, each on its own lab, all at once; then the chart.
fn measure_all() -> Vec<Point> {
    let _alone = alone();
    let points = within(LIMIT, "the bandwidth-delay sweep", || {
        let runs: Vec<_> = RTTS
            .iter()
            .flat_map(|&rtt| {
                BUFFERS
                    .iter()
                    .map(|&b| Some(b))
                    .chain([None])
                    .map(move |buffer| thread::spawn(move || measure(rtt, buffer)))
            })
            .collect();
        runs.into_iter()
            .map(|r| r.join().unwrap().unwrap())
            .collect::<Vec<_>>()
    });
    println!("RTT\tbuffer\tgranted\twindow\tMbit/s\twindow/RTT");
    for p in &points {
        // An untouched buffer's window outgrows the link: its window / RTT bounds nothing.
        let bound = match p.buffer {
            Some(_) => format!("{:.1}", p.window_bound() * 8.0 / 1e6),
            None => "-".into(),
        };
        let buffer = p
            .buffer
            .map_or("untouched".into(), |b| format!("{} KiB", b >> 10));
        let mbit = p.bytes_per_sec * 8.0 / 1e6;
        println!(
            "{:?}\t{buffer}\t{}\t{}\t{mbit:.1}\t{bound}",
            p.rtt, p.granted, p.window
        );
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bdp");
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("bdp.svg");
    std::fs::write(&svg, chart(&points).unwrap()).unwrap();
    // `cargo xtask bench` looks for this line to copy the chart into the book.
    println!("bdp chart written to {}", svg.display());
    points
}

/// The run, made once per test process, or `None` when test `name` cannot make labs here (it
/// is then re-run in a user namespace, or reported skipped, by [`testing::lab`]).
fn measured(name: &str) -> Option<&'static [Point]> {
    static POINTS: OnceLock<Vec<Point>> = OnceLock::new();
    if Lab::available().is_err() {
        let _rerun_or_skip = testing::lab(name, LinkConfig::default());
        return None;
    }
    Some(POINTS.get_or_init(measure_all))
}

// ANCHOR: a_fixed_buffer_caps_throughput_at_window_over_rtt
/// With `SO_RCVBUF` fixed (`16 KiB` to `128 KiB` requested, at round trips of `40 ms` and
/// `80 ms` on a `100 Mbit/s` link), the receiver never advertises a window larger than the
/// buffer the kernel granted, and the transfer's throughput is at most one window per round
/// trip, and at least half of that: the window, not the link, sets the pace (proved by the
/// windows in the receiver's ACKs on the wire and the bytes the sink confirmed).
#[test]
fn a_fixed_buffer_caps_throughput_at_window_over_rtt() {
    let Some(points) = measured("a_fixed_buffer_caps_throughput_at_window_over_rtt") else {
        return;
    };
    let fixed: Vec<&Point> = points.iter().filter(|p| p.buffer.is_some()).collect();
    assert_eq!(
        fixed.len(),
        RTTS.len() * BUFFERS.len(),
        "every fixed buffer measured"
    );
    for p in fixed {
        assert!(
            p.window <= p.granted as u64,
            "a window larger than the buffer: {p:?}"
        );
        let bound = p.window_bound();
        assert!(
            p.bytes_per_sec <= bound,
            "faster than one window per round trip: {p:?}"
        );
        assert!(
            p.bytes_per_sec >= bound / 2.0,
            "under half of window / RTT: {p:?}"
        );
        assert!(
            bound * 8.0 < RATE_BPS as f64,
            "the link, not the window, would be the cap: {p:?}"
        );
    }
}
// ANCHOR_END: a_fixed_buffer_caps_throughput_at_window_over_rtt

// ANCHOR: an_untouched_buffer_autotunes_to_fill_the_link
/// Left alone, the receive buffer autotunes: at both round trips the window the receiver
/// advertises grows past the path's bandwidth-delay product (`100 Mbit/s` × the round trip),
/// far beyond the buffer it started with, so that the window no longer limits the transfer
/// and the link does; the transfer is faster than with any fixed buffer measured (proved by
/// the windows on the wire and the bytes the sink confirmed).
#[test]
fn an_untouched_buffer_autotunes_to_fill_the_link() {
    let Some(points) = measured("an_untouched_buffer_autotunes_to_fill_the_link") else {
        return;
    };
    let untouched: Vec<&Point> = points.iter().filter(|p| p.buffer.is_none()).collect();
    assert_eq!(
        untouched.len(),
        RTTS.len(),
        "one untouched transfer per round trip"
    );
    for p in untouched {
        let bdp = RATE_BPS as f64 / 8.0 * p.rtt.as_secs_f64();
        assert!(
            p.window as f64 >= bdp,
            "the window stayed under the path's BDP ({bdp} bytes): {p:?}"
        );
        assert!(
            p.window > p.granted as u64,
            "the buffer did not grow: {p:?}"
        );
        for fixed in points
            .iter()
            .filter(|f| f.rtt == p.rtt && f.buffer.is_some())
        {
            assert!(
                p.bytes_per_sec > fixed.bytes_per_sec,
                "slower than a fixed buffer: {p:?}, {fixed:?}"
            );
        }
    }
}
// ANCHOR_END: an_untouched_buffer_autotunes_to_fill_the_link

/// The chart: throughput (Mbit/s, log scale) against the buffer requested (KiB, log scale),
/// one colour per round trip: the measured points, the line buffer / RTT (dashed), the
/// untouched buffer's throughput (dotted, across), and the link's rate.
fn chart(points: &[Point]) -> io::Result<String> {
    let mut svg = String::new();
    let err = |e: &dyn std::fmt::Display| io::Error::other(e.to_string());
    {
        let root = SVGBackend::with_string(&mut svg, (720, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        // The x axis counts doublings: x is log2 of the buffer in KiB, labelled as KiB.
        let kib = |bytes: usize| (bytes as f64 / 1024.0).log2();
        // Room on the right for the legend, below the lines.
        let x_range = (kib(BUFFERS[0]) - 0.4)..(kib(BUFFERS[BUFFERS.len() - 1]) + 1.6);
        let rate = RATE_BPS as f64 / 1e6;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "TCP throughput over a 100 Mbit/s link, against the buffer size",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x_range.clone(), (0.5..rate * 3.0).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_labels(BUFFERS.len() + 2)
            .x_label_formatter(&|x| format!("{}", 2f64.powf(*x).round()))
            .y_label_formatter(&|y| format!("{y}"))
            .x_desc("SO_RCVBUF = SO_SNDBUF requested (KiB, log scale)")
            .y_desc("throughput (Mbit/s, log scale)")
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(
                [(x_range.start, rate), (x_range.end, rate)],
                BLACK.stroke_width(1),
            ))
            .map_err(|e| err(&e))?
            .label("the link's rate")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK));
        // Colours that stay distinct on white and for common colour-vision deficiencies.
        let palette = [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xd6, 0x27, 0x28)];
        for (rtt, colour) in RTTS.iter().zip(palette) {
            let colour = colour.to_rgba();
            let ms = rtt.as_millis();
            let measured: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.rtt == *rtt)
                .filter_map(|p| Some((kib(p.buffer?), p.bytes_per_sec * 8.0 / 1e6)))
                .collect();
            chart
                .draw_series(LineSeries::new(measured.clone(), colour.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(format!("measured, RTT {ms} ms"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(
                    measured
                        .iter()
                        .map(|&xy| Circle::new(xy, 4, colour.filled())),
                )
                .map_err(|e| err(&e))?;
            // buffer / RTT, in Mbit/s, for the buffer requested (x: log2 of KiB).
            let model = |x: f64| 2f64.powf(x) * 1024.0 * 8.0 / rtt.as_secs_f64() / 1e6;
            let step = (x_range.end - x_range.start) / 39.0;
            let dashes: Vec<(f64, f64)> = (0..40)
                .map(|i| x_range.start + step * f64::from(i))
                .map(|x| (x, model(x)))
                .collect();
            chart
                .draw_series(
                    dashes
                        .chunks(2)
                        .filter(|c| c.len() == 2)
                        .map(|c| PathElement::new(vec![c[0], c[1]], colour.stroke_width(1))),
                )
                .map_err(|e| err(&e))?
                .label(format!("buffer / RTT, {ms} ms"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 6, y)], colour.stroke_width(1))
                });
            if let Some(untouched) = points.iter().find(|p| p.rtt == *rtt && p.buffer.is_none()) {
                let y = untouched.bytes_per_sec * 8.0 / 1e6;
                let step = (x_range.end - x_range.start) / 59.0;
                let dots: Vec<(f64, f64)> = (0..60)
                    .map(|i| (x_range.start + step * f64::from(i), y))
                    .collect();
                chart
                    .draw_series(dots.iter().map(|&xy| Circle::new(xy, 1, colour.filled())))
                    .map_err(|e| err(&e))?
                    .label(format!("untouched (autotuned), {ms} ms"))
                    .legend(move |(x, y)| Circle::new((x + 9, y), 2, colour.filled()));
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

const BIN: &str = env!("CARGO_BIN_EXE_buffers-demo");

/// The number after `name` in `line` (`win 18824,` gives 18824 for `"win "`).
fn number_after(line: &str, name: &str) -> Option<u64> {
    let (_, rest) = line.split_once(name)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// What one section of `demo --wire` showed: the buffer granted and the largest window, as
/// narrated, and the largest window as the printed packets give it (B's ACK's `win` shifted
/// by the `wscale` of B's SYN-ACK).
#[derive(Debug)]
struct Shown {
    granted: u64,
    narrated_window: u64,
    wire_window: u64,
}

fn shown(title: &str, lines: &[&str], port: u16) -> Shown {
    let said = |what: &str| {
        lines
            .iter()
            .find_map(|l| number_after(l, what))
            .unwrap_or_else(|| panic!("{title}: no {what:?}"))
    };
    let from_b = format!("IP 10.77.0.2.{port} > 10.77.0.1.");
    let syn_ack = lines
        .iter()
        .find(|l| l.contains(&from_b) && l.contains("Flags [S.]"))
        .unwrap_or_else(|| panic!("{title}: no SYN-ACK from B"));
    let scale = number_after(syn_ack, "wscale ").expect("the SYN-ACK's window scale");
    let window = lines
        .iter()
        .filter(|l| l.contains(&from_b) && !l.contains("Flags [S"))
        .filter_map(|l| number_after(l, "win "))
        .max()
        .unwrap_or_else(|| panic!("{title}: no ACK from B"));
    Shown {
        granted: said("as granted: "),
        narrated_window: said("the largest window B advertised: "),
        wire_window: window << scale,
    }
}

/// `demo --wire --pcap FILE` runs three short transfers over the lab's `40 ms`, `100 Mbit/s`
/// path and prints, under each one's narration, its first packets and B's ACK with the
/// largest window: that ACK's `win`, shifted by the `wscale` of B's SYN-ACK, is the window
/// narrated; with `SO_RCVBUF` fixed it is no larger than the buffer granted, and left alone
/// it grows past the buffer it started with and past both fixed ones (proved by the packets
/// printed); and `tcpdump -r FILE` reads the very packets it printed.
#[test]
fn demo_wire_shows_the_window_on_the_wire() {
    let name = "demo_wire_shows_the_window_on_the_wire";
    let _alone = alone();
    let Some((out, pcap)) = testing::run_demo_wire(name, BIN, LIMIT) else {
        return;
    };
    let sections = testing::Sections::of(&out.stdout);
    let mut seen = Vec::new();
    for (n, port) in [("1.", 5001), ("2.", 5002), ("3.", 5003)] {
        let (title, lines) = sections.section(n);
        let said = lines
            .iter()
            .position(|l| l.contains("largest window B advertised"));
        let packet = lines.iter().position(|l| l.contains(" IP "));
        assert!(
            said < packet,
            "{title}: the packets came before the narration"
        );
        let s = shown(title, lines, port);
        println!("{title}: {s:?}");
        assert_eq!(s.wire_window, s.narrated_window, "{title}");
        seen.push(s);
    }
    let [fixed_16, fixed_64, untouched] = &seen[..] else {
        unreachable!("three sections")
    };
    for fixed in [fixed_16, fixed_64] {
        assert!(
            fixed.wire_window <= fixed.granted,
            "a window over the buffer: {fixed:?}"
        );
    }
    assert!(
        untouched.wire_window > untouched.granted,
        "no autotuning: {untouched:?}"
    );
    assert!(
        untouched.wire_window > fixed_64.wire_window.max(fixed_16.wire_window),
        "{untouched:?}"
    );
    let printed = testing::trace_lines(&out.stdout);
    testing::compare_with_tcpdump(name, &printed, &pcap);
    let _ = std::fs::remove_file(&pcap);
}

/// Where no lab can be made, `demo --wire` says why and how to allow it in one line, and
/// exits 1 (the lab is switched off here with `SOCKLAB_WIRE_FORCE_UNAVAILABLE`); `--pcap`
/// without `--wire` is refused as a usage error.
#[test]
fn demo_wire_without_a_lab_says_why_in_one_line() {
    testing::assert_demo_wire_without_a_lab_says_why(BIN, "buffers-demo", LIMIT);
}
