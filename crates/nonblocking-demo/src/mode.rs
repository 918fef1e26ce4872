//! `O_NONBLOCK`: the one flag that makes a socket non-blocking.
//!
//! `TcpStream::set_nonblocking(true)` sets `O_NONBLOCK`. On Linux std does it with one
//! `ioctl(fd, FIONBIO, &1)` (see ioctl_list(2); `strace -e trace=ioctl,fcntl` shows it, and
//! the test `std_sets_o_nonblocking_with_one_ioctl_on_linux` checks it); C programs more often
//! write `fcntl(fd, F_SETFL, flags | O_NONBLOCK)`. Both set the same flag, which
//! `fcntl(F_GETFL)` reads back. The flag belongs to the *open file description*, so it is
//! shared by every handle to it, including `try_clone`d ones.

use std::io;
use std::os::fd::AsFd;

use nix::fcntl::{FcntlArg, OFlag, fcntl};

// ANCHOR: is_nonblocking
/// Whether `O_NONBLOCK` is set on the socket, read with `fcntl(fd, F_GETFL)`.
pub fn is_nonblocking(socket: impl AsFd) -> io::Result<bool> {
    let flags = fcntl(socket.as_fd(), FcntlArg::F_GETFL)?;
    Ok(OFlag::from_bits_truncate(flags).contains(OFlag::O_NONBLOCK))
}
// ANCHOR_END: is_nonblocking

#[cfg(test)]
mod tests {
    use super::*;

    /// set_nonblocking flips exactly the flag that F_GETFL reports, on every clone.
    #[test]
    fn set_nonblocking_is_o_nonblock() {
        let (client, _server) = crate::loopback_pair().unwrap();
        assert!(!is_nonblocking(&client).unwrap(), "sockets start blocking");
        let clone = client.try_clone().unwrap();
        client.set_nonblocking(true).unwrap();
        assert!(is_nonblocking(&client).unwrap());
        assert!(
            is_nonblocking(&clone).unwrap(),
            "the flag is shared with clones"
        );
        client.set_nonblocking(false).unwrap();
        assert!(!is_nonblocking(&clone).unwrap());
    }
}
