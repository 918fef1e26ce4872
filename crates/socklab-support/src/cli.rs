//! How socklab's binaries fail: one clear line on standard error and a non-zero exit.
//!
//! A student who types a bad address or a port that is taken should read what went wrong, not
//! a panic message or a backtrace. Each binary's `main` hands its real work to [`run`], which
//! prints the error with its whole chain of context on one line (`tcp-demo: error: cannot
//! listen on 127.0.0.1:80: Permission denied (os error 13)`) and exits with status 1.
//! Argument errors are clap's: it prints usage and exits with status 2.

use std::net::{SocketAddr, ToSocketAddrs};
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

/// The longest duration any option of the course accepts: one day. Longer ones are refused by
/// the parser, because `Instant::now() + d` panics when it overflows and `select(2)`'s
/// `timeval` cannot hold years; a day is longer than any experiment or any sane timeout.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses a duration with units (`500ms`, `2s`, `1m 30s`) for clap's `value_parser`. Refuses
/// zero (a zero socket timeout means "no timeout" to some calls and is an error to others, such
/// as std's `set_read_timeout(Some(ZERO))`) and anything over [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}); try `500ms` or `2s`"))?;
    if duration.is_zero() {
        return Err(format!(
            "`{text}` is zero; give a positive duration such as `500ms`"
        ));
    }
    if duration > MAX_DURATION {
        return Err(format!(
            "`{text}` is longer than the limit of {}; give at most `24h`",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(duration)
}

/// Parses `HOST:PORT` for clap's `value_parser`, where HOST is an IP address or a name
/// (`localhost:7000`, `[::1]:0`). A name is resolved with the system's resolver
/// (`getaddrinfo(3)`, through std's `ToSocketAddrs`), and the first address it gives is used;
/// the binaries print the address they chose (`listening on ...`, `connecting to ...`).
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if !text.contains(':') {
        return Err(format!(
            "`{text}` has no port; write HOST:PORT, such as `127.0.0.1:7000` or `localhost:7000`"
        ));
    }
    let mut addrs = text
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{text}`: {e}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("`{text}` resolves to no address"))
}

/// The median and 99th percentile of some durations, in microseconds: (p50, p99). The
/// binaries print these; the rule behind them is [`crate::stats`]'s.
pub fn percentiles_us(times: &mut [Duration]) -> (f64, f64) {
    crate::stats::percentiles_us(times)
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
        assert_eq!(parse_duration("24h"), Ok(MAX_DURATION));
        let err = parse_duration("300000y").unwrap_err();
        assert!(err.contains("longer than the limit"), "{err}");
        assert!(parse_duration("24h 1s").is_err());
    }

    /// Addresses parse as they are; names resolve (localhost is in every hosts file); a
    /// missing port or an unknown name is refused with a hint.
    #[test]
    fn addresses_and_names() {
        assert_eq!(
            parse_addr("127.0.0.1:7000"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 7000)))
        );
        let local = parse_addr("localhost:7000").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 7000, "{local}");
        assert!(parse_addr("localhost").unwrap_err().contains("no port"));
        assert!(
            parse_addr("no-such-host.invalid:1")
                .unwrap_err()
                .contains("cannot resolve")
        );
    }

    /// Byte counts read naturally at every scale.
    #[test]
    fn byte_counts_are_readable() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(65536), "65536 B (64.0 KiB)");
        assert_eq!(bytes(3 * 1024 * 1024), "3145728 B (3.0 MiB)");
    }
}
