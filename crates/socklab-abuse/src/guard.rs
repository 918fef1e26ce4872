//! The loopback-only rule: attacks may only target this machine.

use std::io;
use std::net::SocketAddr;

/// Returns `addr` if it is a loopback address (127.0.0.0/8 or ::1), or an error saying why
/// not, before any packet is sent.
pub fn loopback_only(addr: SocketAddr) -> io::Result<SocketAddr> {
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "refusing to attack {addr}: only loopback addresses (127.0.0.0/8, ::1) are allowed"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback passes; private, public and unspecified addresses are refused.
    #[test]
    fn only_loopback_passes() {
        for ok in ["127.0.0.1:80", "127.9.9.9:1", "[::1]:7000"] {
            assert!(loopback_only(ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "10.0.0.1:80",
            "192.168.1.1:80",
            "8.8.8.8:53",
            "0.0.0.0:80",
            "[::]:80",
            "[2001:db8::1]:80",
        ] {
            let err = loopback_only(bad.parse().unwrap()).unwrap_err();
            assert!(err.to_string().contains("only loopback"), "{bad}: {err}");
        }
    }
}
