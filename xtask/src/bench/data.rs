//! The figures of one run, stored: `figures.tsv` holds what `cargo xtask bench` measured
//! itself or read from criterion (throughput, latency, Unix against TCP, chapter 11's io_uring
//! table, the date and the machine), `models.tsv` and `models.md` what chapter 7's models
//! benchmark measured (with io_uring and system calls per request). Every page and block the bench writes is
//! rendered from these files alone, so `cargo xtask bench --render` can write them again
//! without measuring, and `cargo xtask check-book` can tell a hand edit from a run.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// One figure's median and spread over the rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread3 {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// One row of the throughput table: iperf3 and the course's bulk pair at one buffer size.
#[derive(Debug, Clone, PartialEq)]
pub struct Throughput {
    /// The fixed buffer size in KiB, or `None` for the default (autotuned) buffers.
    pub buffer_kib: Option<u32>,
    /// Gbit/s.
    pub iperf3: Spread3,
    /// Gbit/s.
    pub ours: Spread3,
}

/// One row of the latency table: round trips in µs.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// `TCP` or `UDP`.
    pub proto: String,
    /// The course's (p50, p99).
    pub ours: (f64, f64),
    /// sockperf's (p50, p99), doubled to round trips; `None` if it is not installed.
    pub sockperf: Option<(f64, f64)>,
}

/// Chapter 8's benchmark (criterion medians): a Unix stream against TCP on loopback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnixVsTcp {
    /// ns per 64-byte round trip: (Unix stream, TCP loopback).
    pub round_trip_ns: (f64, f64),
    /// ns per 64 MiB written in 128 KiB writes: (Unix stream, TCP loopback).
    pub bulk_ns: (f64, f64),
}

/// Bytes per bulk iteration of chapter 8's benchmark (64 MiB).
pub const UNIX_BULK_BYTES: f64 = 67_108_864.0;

impl UnixVsTcp {
    /// Gbit/s of a bulk iteration that took `ns`.
    pub fn gbit_per_s(ns: f64) -> f64 {
        UNIX_BULK_BYTES * 8.0 / ns
    }
}

/// The wire lab's link measured on its own (`socklab-wire`'s `link` bench, criterion's
/// medians): what an experiment on the lab can trust the link to carry and what it adds.
#[derive(Debug, Clone, PartialEq)]
pub enum WireLink {
    Measured {
        /// ns per 16 MiB sent from host A to host B through an unimpaired link.
        throughput_ns: f64,
        /// ns per small UDP round trip: (across the link at zero delay, loopback inside one
        /// host, the same kernel path without the relay).
        round_trip_ns: (f64, f64),
    },
    /// No lab could be made here: why.
    NotMeasured(String),
}

/// Bytes per throughput iteration of the link bench (16 MiB).
pub const LINK_CHUNK_BYTES: f64 = 16_777_216.0;

impl WireLink {
    /// Gbit/s of a throughput iteration that took `ns`.
    pub fn gbit_per_s(ns: f64) -> f64 {
        LINK_CHUNK_BYTES * 8.0 / ns
    }
}

/// One cell of chapter 11's table: requests/s and the server's own CPU time per request.
#[derive(Debug, Clone, PartialEq)]
pub struct UringCell {
    pub model: String,
    pub connections: usize,
    pub rps: Spread3,
    pub cpu_us: f64,
}

/// What `cargo xtask bench` measured itself, and when and where.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    /// The day of the run (UTC, `YYYY-MM-DD`).
    pub date: String,
    /// CPU, cores and kernel.
    pub machine: String,
    pub quick: bool,
    pub rounds: usize,
    /// Seconds per throughput run and per sockperf run.
    pub seconds: u32,
    /// Empty if iperf3 is missing.
    pub throughput: Vec<Throughput>,
    pub latency: Vec<Latency>,
    /// Chapter 8's Unix-against-TCP figures.
    pub unix: Option<UnixVsTcp>,
    /// Chapter 11's io_uring table.
    pub uring: Vec<UringCell>,
    /// The wire lab's link.
    pub link: Option<WireLink>,
    /// Peers not installed, with the command that installs each.
    pub missing: Vec<String>,
}

impl Run {
    /// The run as `figures.tsv`: one figure a field, full precision.
    pub fn to_tsv(&self) -> String {
        let mut out = String::from(
            "# Written by `cargo xtask bench`: every figure it measured itself in one run. The pages it \
             generates are rendered from this file and models.tsv; do not edit.\n",
        );
        let _ = writeln!(out, "run\tdate\t{}", self.date);
        let _ = writeln!(out, "run\tmachine\t{}", self.machine);
        let _ = writeln!(out, "run\tquick\t{}", self.quick);
        let _ = writeln!(out, "run\trounds\t{}", self.rounds);
        let _ = writeln!(out, "run\tseconds\t{}", self.seconds);
        for t in &self.throughput {
            let buffer = t
                .buffer_kib
                .map_or("default".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "throughput\t{buffer}\t{}\t{}\t{}\t{}\t{}\t{}",
                t.iperf3.median, t.iperf3.min, t.iperf3.max, t.ours.median, t.ours.min, t.ours.max
            );
        }
        for l in &self.latency {
            let (t50, t99) = l
                .sockperf
                .map_or(("-".to_string(), "-".to_string()), |(a, b)| {
                    (a.to_string(), b.to_string())
                });
            let _ = writeln!(
                out,
                "latency\t{}\t{}\t{}\t{t50}\t{t99}",
                l.proto, l.ours.0, l.ours.1
            );
        }
        if let Some(u) = &self.unix {
            let _ = writeln!(
                out,
                "unix_vs_tcp\tround_trip_ns\t{}\t{}",
                u.round_trip_ns.0, u.round_trip_ns.1
            );
            let _ = writeln!(
                out,
                "unix_vs_tcp\tbulk_ns\t{}\t{}",
                u.bulk_ns.0, u.bulk_ns.1
            );
        }
        for u in &self.uring {
            let _ = writeln!(
                out,
                "uring\t{}\t{}\t{}\t{}\t{}\t{}",
                u.model, u.connections, u.rps.median, u.rps.min, u.rps.max, u.cpu_us
            );
        }
        match &self.link {
            Some(WireLink::Measured {
                throughput_ns,
                round_trip_ns,
            }) => {
                let _ = writeln!(out, "wire_link\tthroughput_ns\t{throughput_ns}");
                let _ = writeln!(
                    out,
                    "wire_link\tround_trip_ns\t{}\t{}",
                    round_trip_ns.0, round_trip_ns.1
                );
            }
            Some(WireLink::NotMeasured(why)) => {
                let _ = writeln!(out, "wire_link\tnot_measured\t{why}");
            }
            None => {}
        }
        for m in &self.missing {
            let _ = writeln!(out, "missing\t{m}");
        }
        out
    }

    /// Reads `figures.tsv` back.
    pub fn parse(text: &str) -> Result<Run> {
        let mut run = Run::default();
        for (i, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let num = |j: usize| -> Result<f64> {
                f.get(j).and_then(|v| v.parse().ok()).with_context(|| {
                    format!(
                        "figures.tsv line {}: field {} is not a number",
                        i + 1,
                        j + 1
                    )
                })
            };
            match (f[0], f.get(1).copied()) {
                ("run", Some("date")) => run.date = f.get(2).unwrap_or(&"").to_string(),
                ("run", Some("machine")) => run.machine = f.get(2).unwrap_or(&"").to_string(),
                ("run", Some("quick")) => run.quick = f.get(2) == Some(&"true"),
                ("run", Some("rounds")) => run.rounds = num(2)? as usize,
                ("run", Some("seconds")) => run.seconds = num(2)? as u32,
                ("throughput", Some(buffer)) => run.throughput.push(Throughput {
                    buffer_kib: if buffer == "default" {
                        None
                    } else {
                        Some(num(1)? as u32)
                    },
                    iperf3: Spread3 {
                        median: num(2)?,
                        min: num(3)?,
                        max: num(4)?,
                    },
                    ours: Spread3 {
                        median: num(5)?,
                        min: num(6)?,
                        max: num(7)?,
                    },
                }),
                ("latency", Some(proto)) => run.latency.push(Latency {
                    proto: proto.to_string(),
                    ours: (num(2)?, num(3)?),
                    sockperf: if f.get(4) == Some(&"-") {
                        None
                    } else {
                        Some((num(4)?, num(5)?))
                    },
                }),
                ("unix_vs_tcp", Some(what)) => {
                    let pair = (num(2)?, num(3)?);
                    let u = run.unix.get_or_insert(UnixVsTcp {
                        round_trip_ns: (f64::NAN, f64::NAN),
                        bulk_ns: (f64::NAN, f64::NAN),
                    });
                    match what {
                        "round_trip_ns" => u.round_trip_ns = pair,
                        "bulk_ns" => u.bulk_ns = pair,
                        _ => bail!("figures.tsv line {}: unknown line `{line}`", i + 1),
                    }
                }
                ("uring", Some(model)) => run.uring.push(UringCell {
                    model: model.to_string(),
                    connections: num(2)? as usize,
                    rps: Spread3 {
                        median: num(3)?,
                        min: num(4)?,
                        max: num(5)?,
                    },
                    cpu_us: num(6)?,
                }),
                ("wire_link", Some("not_measured")) => {
                    run.link = Some(WireLink::NotMeasured(f.get(2).unwrap_or(&"").to_string()));
                }
                ("wire_link", Some(what)) => {
                    let link = run.link.get_or_insert(WireLink::Measured {
                        throughput_ns: f64::NAN,
                        round_trip_ns: (f64::NAN, f64::NAN),
                    });
                    let WireLink::Measured {
                        throughput_ns,
                        round_trip_ns,
                    } = link
                    else {
                        bail!(
                            "figures.tsv line {}: a link figure after `not_measured`",
                            i + 1
                        );
                    };
                    match what {
                        "throughput_ns" => *throughput_ns = num(2)?,
                        "round_trip_ns" => *round_trip_ns = (num(2)?, num(3)?),
                        _ => bail!("figures.tsv line {}: unknown line `{line}`", i + 1),
                    }
                }
                ("missing", Some(m)) => run.missing.push(m.to_string()),
                _ => bail!("figures.tsv line {}: unknown line `{line}`", i + 1),
            }
        }
        Ok(run)
    }
}

/// One cell of chapter 7's models table (medians).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCell {
    pub model: String,
    pub connections: usize,
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// System calls per request, where strace counted them.
    pub syscalls: Option<f64>,
}

/// What chapter 7's models benchmark wrote: its table, and from `models.md` the memory per
/// idle connection and how long each cell ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Models {
    pub cells: Vec<ModelCell>,
    /// (model, idle connections, KiB per connection).
    pub memory: Option<(String, usize, f64)>,
    /// (rounds, time per cell as written, e.g. `2s`).
    pub rounds_time: Option<(String, String)>,
    /// What it could not measure, and why (`io_uring not measured: ...`,
    /// `System calls not counted: ...`).
    pub not_measured: Vec<String>,
}

impl Models {
    /// Reads `models.tsv` and `models.md` from `dir`; missing files are an empty table.
    pub fn load(dir: &Path) -> Models {
        let tsv = std::fs::read_to_string(dir.join("models.tsv")).unwrap_or_default();
        let md = std::fs::read_to_string(dir.join("models.md")).unwrap_or_default();
        Models::parse(&tsv, &md)
    }

    pub fn parse(tsv: &str, md: &str) -> Models {
        let cells = tsv
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                Some(ModelCell {
                    model: f.first()?.to_string(),
                    connections: f.get(1)?.parse().ok()?,
                    rps: f.get(2)?.parse().ok()?,
                    p50_us: f.get(3)?.parse().ok()?,
                    p99_us: f.get(4)?.parse().ok()?,
                    syscalls: f.get(5).and_then(|v| v.parse().ok()),
                })
            })
            .collect();
        // "Server memory per idle connection (epoll, 10000 connections): 0.18 KiB of ..."
        let memory = md.lines().find_map(|l| {
            let rest = l.strip_prefix("Server memory per idle connection (")?;
            let (inside, after) = rest.split_once("): ")?;
            let (model, idle) = inside.split_once(", ")?;
            let idle = idle.split_whitespace().next()?.parse().ok()?;
            let kib = after.split_whitespace().next()?.parse().ok()?;
            Some((model.to_string(), idle, kib))
        });
        // "Medians of 3 round(s) of 2s per cell; ..."
        let rounds_time = md.lines().find_map(|l| {
            let rest = l.strip_prefix("Medians of ")?;
            let (rounds, rest) = rest.split_once(" round(s) of ")?;
            let (time, _) = rest.split_once(" per cell")?;
            Some((rounds.to_string(), time.to_string()))
        });
        let not_measured = md
            .lines()
            .filter(|l| {
                l.starts_with("io_uring not measured: ")
                    || l.starts_with("System calls not counted: ")
            })
            .map(str::to_string)
            .collect();
        Models {
            cells,
            memory,
            rounds_time,
            not_measured,
        }
    }

    /// The cell of `model` at `connections`, if it has a figure.
    pub fn get(&self, model: &str, connections: usize) -> Option<&ModelCell> {
        self.cells
            .iter()
            .find(|c| c.model == model && c.connections == connections)
    }

    /// The connection counts, in order.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts: Vec<usize> = self.cells.iter().map(|c| c.connections).collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }

    /// The models, in the table's order.
    pub fn models(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.cells {
            if !out.contains(&c.model.as_str()) {
                out.push(&c.model);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run survives being written and read back, figure for figure.
    #[test]
    fn figures_round_trip() {
        let run = Run {
            date: "2026-11-24".into(),
            machine: "AMD EPYC, 2 cores, Linux 6.18".into(),
            quick: false,
            rounds: 5,
            seconds: 2,
            throughput: vec![Throughput {
                buffer_kib: Some(64),
                iperf3: Spread3 {
                    median: 26.27,
                    min: 21.62,
                    max: 27.11,
                },
                ours: Spread3 {
                    median: 24.31,
                    min: 23.33,
                    max: 28.566666666666666,
                },
            }],
            latency: vec![
                Latency {
                    proto: "TCP".into(),
                    ours: (20.4, 43.0),
                    sockperf: Some((19.2, 36.2)),
                },
                Latency {
                    proto: "UDP".into(),
                    ours: (24.6, 41.3),
                    sockperf: None,
                },
            ],
            unix: Some(UnixVsTcp {
                round_trip_ns: (9870.5, 15806.25),
                bulk_ns: (11_924_000.0, 17_526_000.5),
            }),
            uring: vec![UringCell {
                model: "io_uring, no DEFER_TASKRUN".into(),
                connections: 100,
                rps: Spread3 {
                    median: 89016.0,
                    min: 80000.0,
                    max: 90000.0,
                },
                cpu_us: 5.21,
            }],
            link: Some(WireLink::Measured {
                throughput_ns: 98_000_000.5,
                round_trip_ns: (61_000.25, 14_000.0),
            }),
            missing: vec!["sockperf (apt-get install sockperf)".into()],
        };
        assert_eq!(Run::parse(&run.to_tsv()).unwrap(), run);
        let skipped = Run {
            link: Some(WireLink::NotMeasured(
                "unprivileged user namespaces are not allowed here".into(),
            )),
            ..run
        };
        assert_eq!(Run::parse(&skipped.to_tsv()).unwrap(), skipped);
        assert!(Run::parse("throughput\tdefault\tx\n").is_err());
    }

    /// The models table and models.md's memory and timing lines are read.
    #[test]
    fn models_are_read() {
        let m = Models::parse(
            "model\tconnections\trequests_per_sec\tp50_us\tp99_us\tsyscalls_per_request\nepoll\t1\t30958\t30.6\t51.2\t4.000\nepoll\t100\t129684\t751\t1447\t-\n",
            "Medians of 3 round(s) of 2s per cell; requests/s spread is min to max.\nio_uring not measured: no io_uring here\n\nServer memory per idle connection (epoll, 10000 connections): 0.18 KiB of user-space RSS.\n",
        );
        assert_eq!(m.get("epoll", 1).and_then(|c| c.syscalls), Some(4.0));
        assert_eq!(m.get("epoll", 100).and_then(|c| c.syscalls), None);
        assert_eq!(
            m.not_measured,
            vec!["io_uring not measured: no io_uring here"]
        );
        assert_eq!(m.counts(), vec![1, 100]);
        assert_eq!(m.get("epoll", 100).map(|c| c.rps), Some(129684.0));
        assert_eq!(m.memory, Some(("epoll".into(), 10000, 0.18)));
        assert_eq!(m.rounds_time, Some(("3".into(), "2s".into())));
    }
}
