//! Throughput against buffer size and write size: a table and an SVG chart.
//!
//! Over a network, one TCP connection can have at most one window of data in flight per round
//! trip, so its throughput is bounded by `window / RTT`; the window is bounded by the receive
//! buffer, and the buffer a path needs is its *bandwidth-delay product*. Loopback has no such
//! delay to speak of: there a transfer is bound by the processors ([`crate::busy`] shows it),
//! so what the sweep measures on loopback is what buffer and write sizes cost in copies and
//! system calls. Loopback throughput varies from run to run on a shared machine, so the sweep
//! interleaves its rounds and keeps each point's median.

use std::io;

use plotters::prelude::*;
use socklab_support::stats::Spread;

use crate::bulk::{self, Amount};

/// The buffer sizes `buffers-demo sweep` measures: 16 KiB to 4 MiB, doubling, then the
/// default (`None`: not set, so Linux autotunes).
pub fn standard_buffers() -> Vec<Option<usize>> {
    let mut all: Vec<Option<usize>> = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
        .map(|k| Some(k * 1024))
        .to_vec();
    all.push(None);
    all
}

/// The write sizes `buffers-demo sweep` measures: tiny, middling and large `write` calls.
pub const STANDARD_WRITES: [usize; 3] = [1024, 16 * 1024, 128 * 1024];

/// One measured point of the sweep.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    /// The buffer size requested for both sides (`None`: defaults with autotuning).
    pub buffer: Option<usize>,
    /// Bytes per `write` call.
    pub write_size: usize,
    /// Throughput in bytes per second.
    pub bytes_per_sec: f64,
}

/// Measures every combination of `buffers` and `write_sizes`, moving `bytes` each time, over
/// `rounds` rounds, and keeps each point's median. Rounds are interleaved (every point once,
/// then every point again) so that a slow spell on a shared machine lands on all points alike.
pub fn sweep(
    buffers: &[Option<usize>],
    write_sizes: &[usize],
    bytes: u64,
    rounds: usize,
) -> io::Result<Vec<Point>> {
    let sinks = buffers
        .iter()
        .map(|&b| bulk::sink_with_buffer(b))
        .collect::<io::Result<Vec<_>>>()?;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); buffers.len() * write_sizes.len()];
    for _ in 0..rounds.max(1) {
        for (i, (&buffer, &sink)) in buffers.iter().zip(&sinks).enumerate() {
            for (j, &write_size) in write_sizes.iter().enumerate() {
                let t = bulk::send(sink, write_size, Amount::Bytes(bytes), buffer)?;
                samples[i * write_sizes.len() + j].push(t.bytes_per_sec());
            }
        }
    }
    let mut points = Vec::new();
    for (i, &buffer) in buffers.iter().enumerate() {
        for (j, &write_size) in write_sizes.iter().enumerate() {
            let runs = &mut samples[i * write_sizes.len() + j];
            points.push(Point {
                buffer,
                write_size,
                // At least one round ran, so there is a median.
                bytes_per_sec: Spread::of(runs).map_or(0.0, |s| s.median),
            });
        }
    }
    Ok(points)
}

/// A buffer size as a column label: `default` or `64 KiB`.
pub fn label(buffer: Option<usize>) -> String {
    buffer.map_or_else(|| "default".into(), |b| format!("{} KiB", b / 1024))
}

/// The sweep as a Markdown table: one row per buffer size, one column per write size, GB/s.
pub fn table(points: &[Point]) -> String {
    let mut writes: Vec<usize> = points.iter().map(|p| p.write_size).collect();
    writes.sort_unstable();
    writes.dedup();
    let mut out = String::from("| buffer |");
    for w in &writes {
        out += &format!(" {} B writes |", w);
    }
    out += "\n|---|";
    out += &"---:|".repeat(writes.len());
    let mut buffers: Vec<Option<usize>> = Vec::new();
    for p in points {
        if !buffers.contains(&p.buffer) {
            buffers.push(p.buffer);
        }
    }
    for b in buffers {
        out += &format!("\n| {} |", label(b));
        for w in &writes {
            match points.iter().find(|p| p.buffer == b && p.write_size == *w) {
                Some(p) => out += &format!(" {:.2} GB/s |", p.bytes_per_sec / 1e9),
                None => out += " |",
            }
        }
    }
    out.push('\n');
    out
}

/// The sweep as an SVG line chart: throughput (GB/s) against buffer size (log scale), one
/// line per write size. The default-buffer points are left out: they have no size to plot.
pub fn svg_chart(points: &[Point], title: &str) -> io::Result<String> {
    let mut svg = String::new();
    let err = |e: &dyn std::fmt::Display| io::Error::other(e.to_string());
    {
        let root = SVGBackend::with_string(&mut svg, (720, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let sized: Vec<&Point> = points.iter().filter(|p| p.buffer.is_some()).collect();
        let kib = |p: &Point| (p.buffer.unwrap_or(1024) / 1024).max(1) as u32;
        let max_x = sized.iter().map(|p| kib(p)).max().unwrap_or(2).max(2);
        let min_x = sized
            .iter()
            .map(|p| kib(p))
            .min()
            .unwrap_or(1)
            .min(max_x - 1);
        let max_y = sized
            .iter()
            .map(|p| p.bytes_per_sec / 1e9)
            .fold(0.1, f64::max)
            * 1.35; // Headroom for the legend.
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d((min_x..max_x).log_scale(), 0f64..max_y)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("SO_SNDBUF = SO_RCVBUF requested (KiB, log scale)")
            .y_desc("throughput (GB/s)")
            .draw()
            .map_err(|e| err(&e))?;
        let mut writes: Vec<usize> = sized.iter().map(|p| p.write_size).collect();
        writes.sort_unstable();
        writes.dedup();
        // Colours that stay distinct on white and for common colour-vision deficiencies.
        let palette = [
            RGBColor(0x1f, 0x77, 0xb4),
            RGBColor(0xd6, 0x27, 0x28),
            RGBColor(0x2c, 0xa0, 0x2c),
            RGBColor(0x94, 0x67, 0xbd),
        ];
        for (i, w) in writes.iter().enumerate() {
            let color = palette[i % palette.len()].to_rgba();
            let line: Vec<(u32, f64)> = sized
                .iter()
                .filter(|p| p.write_size == *w)
                .map(|p| (kib(p), p.bytes_per_sec / 1e9))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(format!("{w} B writes"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    line.into_iter()
                        .map(|xy| Circle::new(xy, 3, color.filled())),
                )
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
