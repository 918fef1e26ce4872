//! Reproducible payloads and checksums for proving that data arrived intact.
//!
//! Tests push many megabytes through sockets and must show that not one byte was lost,
//! duplicated or reordered. Storing both copies would work but wastes memory at 64 MiB and
//! more; instead the sender makes the bytes from a seed and both sides fold what they saw into
//! a CRC-32 ([`Checksum`]), in order. Equal lengths and equal checksums mean the same stream.

use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};

/// `len` pseudo-random bytes, the same for the same `seed` on every run and machine.
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    SmallRng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

/// A seeded stream of pseudo-random bytes and sizes, for tests that want many different
/// messages.
#[derive(Debug)]
pub struct Generator {
    rng: SmallRng,
}

impl Generator {
    /// A generator that produces the same sequence for the same seed.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// Fills `buf` with the next pseudo-random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        self.rng.fill_bytes(buf);
    }

    /// A size in `min..=max`.
    pub fn size(&mut self, min: usize, max: usize) -> usize {
        self.rng.random_range(min..=max)
    }
}

/// A running CRC-32 and byte count over everything fed to it, in order.
#[derive(Debug, Default, Clone)]
pub struct Checksum {
    hasher: crc32fast::Hasher,
    len: u64,
}

impl Checksum {
    /// An empty checksum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds the next bytes of the stream in.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// How many bytes were folded in so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been folded in yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The length and CRC-32 so far; compare two of these to compare two streams.
    pub fn digest(&self) -> (u64, u32) {
        (self.len, self.hasher.clone().finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same seed gives the same bytes; another seed gives other bytes.
    #[test]
    fn payloads_are_reproducible() {
        assert_eq!(payload(7, 1000), payload(7, 1000));
        assert_ne!(payload(7, 1000), payload(8, 1000));
    }

    /// A checksum does not depend on how the stream was split, only on its bytes in order.
    #[test]
    fn checksum_ignores_chunking_but_not_order() {
        let data = payload(1, 10_000);
        let mut whole = Checksum::new();
        whole.update(&data);
        let mut pieces = Checksum::new();
        for chunk in data.chunks(333) {
            pieces.update(chunk);
        }
        assert_eq!(whole.digest(), pieces.digest());
        let mut swapped = Checksum::new();
        swapped.update(&data[5000..]);
        swapped.update(&data[..5000]);
        assert_ne!(whole.digest(), swapped.digest());
    }
}
