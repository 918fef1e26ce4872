//! How socklab's binaries fail: one clear line on standard error and a non-zero exit.
//!
//! A student who types a bad address or a port that is taken should read what went wrong, not
//! a panic message or a backtrace. Each binary's `main` hands its real work to [`run`], which
//! prints the error with its whole chain of context on one line (`tcp-demo: error: cannot
//! listen on 127.0.0.1:80: Permission denied (os error 13)`) and exits with status 1.
//! Argument errors are clap's: it prints usage and exits with status 2.

use std::process::ExitCode;
use std::time::Duration;

/// Runs a binary's body and turns an error into one line on stderr and exit status 1.
pub fn run(program: &str, body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the context chain joined with ": " on one line, without the
            // backtrace that `{:?}` would add when RUST_BACKTRACE is set.
            eprintln!("{program}: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Parses a duration with units (`500ms`, `2s`, `1m 30s`) for clap's `value_parser`, and
/// refuses zero: a zero socket timeout means "no timeout" to some calls and is an error to
/// others (std's `set_read_timeout(Some(ZERO))`), so the CLI never passes one on.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}); try `500ms` or `2s`"))?;
    if duration.is_zero() {
        return Err(format!(
            "`{text}` is zero; give a positive duration such as `500ms`"
        ));
    }
    Ok(duration)
}

/// The median and 99th percentile of some durations, in microseconds: (p50, p99).
pub fn percentiles_us(times: &mut [Duration]) -> (f64, f64) {
    if times.is_empty() {
        return (0.0, 0.0);
    }
    times.sort_unstable();
    let at = |q: f64| {
        times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1e6
    };
    (at(0.50), at(0.99))
}

/// Formats a byte count the way the demos print it: `65536 B (64.0 KiB)`.
pub fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f >= KIB * KIB {
        format!("{n} B ({:.1} MiB)", f / (KIB * KIB))
    } else if f >= KIB {
        format!("{n} B ({:.1} KiB)", f / KIB)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units are required and understood; zero and nonsense are refused with a hint.
    #[test]
    fn durations_need_units_and_must_be_positive() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(parse_duration("5").is_err(), "a bare number has no unit");
    }

    /// Byte counts read naturally at every scale.
    #[test]
    fn byte_counts_are_readable() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(65536), "65536 B (64.0 KiB)");
        assert_eq!(bytes(3 * 1024 * 1024), "3145728 B (3.0 MiB)");
    }
}
