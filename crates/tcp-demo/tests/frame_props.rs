//! Property tests for the frame decoders: whatever bytes arrive, split however the network
//! likes, decoding gives the same frames or the same clear error, never a panic, and never
//! holds more than one maximal frame.

use std::io::Cursor;

use proptest::prelude::*;
use tcp_demo::frame::{Decoder, FrameError, HEADER_LEN, read_frame, write_frame};

/// A small limit, so that random inputs hit it often.
const MAX: usize = 300;

/// Everything a decoder makes of `chunks`: the frames, then how it ended.
fn decode(chunks: &[Vec<u8>]) -> (Vec<Vec<u8>>, String, usize) {
    let mut d = Decoder::new(MAX);
    let mut frames = Vec::new();
    let mut peak = 0;
    for chunk in chunks {
        // The decoder takes what fits under its bound; frames taken out make room for the rest.
        let mut rest = &chunk[..];
        loop {
            let took = d.feed(rest);
            rest = &rest[took..];
            peak = peak.max(d.buffered());
            let mut got_frame = false;
            loop {
                match d.next_frame() {
                    Ok(Some(f)) => {
                        frames.push(f);
                        got_frame = true;
                    }
                    Ok(None) => break,
                    Err(e) => return (frames, kind(&e), peak),
                }
            }
            if rest.is_empty() {
                break;
            }
            if took == 0 && !got_frame {
                return (frames, "stuck: full, and no frame to take".into(), peak);
            }
        }
    }
    let end = d
        .finish()
        .map_or_else(|| "clean end".to_string(), |e| kind(&e));
    (frames, end, peak)
}

fn kind(e: &FrameError) -> String {
    match e {
        FrameError::TooLarge { .. } => "too large".into(),
        FrameError::Truncated { .. } => "truncated".into(),
        FrameError::Io(_) => "io".into(),
    }
}

/// Splits `bytes` at the given cut points.
fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        out.push(bytes[last..p].to_vec());
        last = p;
    }
    out
}

/// Byte streams that are mostly well-formed frames, sometimes with garbage, so both the happy
/// path and every error are exercised.
fn streams() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..400), 0..6).prop_map(
            |frames| {
                let mut wire = Vec::new();
                for f in frames {
                    write_frame(&mut wire, &f).unwrap();
                }
                wire
            }
        ),
        prop::collection::vec(any::<u8>(), 0..2000),
    ]
}

/// A stream of 100,000 empty frames, fed in 64 KiB reads as a socket would deliver them,
/// comes out as 100,000 frames while the decoder copies fewer bytes inside memory than it
/// was fed: the work is linear. Counted, not timed. (The decoder this replaced removed each
/// frame with `Vec::drain`, which shifts every byte behind the frame down, on every frame.)
#[test]
fn a_stream_of_empty_frames_costs_linear_work() {
    let wire: Vec<u8> = std::iter::repeat_n(0u8, 4 * 100_000).collect();
    let mut d = Decoder::new(tcp_demo::MAX_FRAME);
    let mut frames = 0;
    for read in wire.chunks(64 * 1024) {
        let mut rest = read;
        while !rest.is_empty() {
            let took = d.feed(rest);
            rest = &rest[took..];
            while let Some(f) = d.next_frame().unwrap() {
                assert!(f.is_empty());
                frames += 1;
            }
        }
    }
    assert_eq!(frames, 100_000);
    assert!(
        d.bytes_moved() <= wire.len() as u64,
        "{} bytes moved for {} fed",
        d.bytes_moved(),
        wire.len()
    );
}

proptest! {
    // ANCHOR: decoder_properties
    /// Any byte stream, cut at any points, decodes exactly as it does in one piece; the
    /// decoder never holds more than one maximal frame, however large the pieces fed to it.
    #[test]
    fn splitting_never_changes_the_outcome(
        wire in streams(),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let whole = decode(std::slice::from_ref(&wire));
        let chunks = split(&wire, &cuts);
        let pieces = decode(&chunks);
        prop_assert_eq!(&whole.0, &pieces.0);
        prop_assert_eq!(&whole.1, &pieces.1);
        prop_assert!(pieces.2 <= HEADER_LEN + MAX, "held {} bytes", pieces.2);
        prop_assert!(whole.2 <= HEADER_LEN + MAX, "held {} bytes", whole.2);
    }

    /// The blocking reader and the incremental decoder agree on every stream.
    #[test]
    fn blocking_and_incremental_decoders_agree(wire in streams()) {
        let (frames, end, _) = decode(std::slice::from_ref(&wire));
        let mut r = Cursor::new(wire);
        let mut blocking = Vec::new();
        let blocking_end = loop {
            match read_frame(&mut r, MAX) {
                Ok(Some(f)) => blocking.push(f),
                Ok(None) => break "clean end".to_string(),
                Err(e) => break kind(&e),
            }
        };
        prop_assert_eq!(frames, blocking);
        prop_assert_eq!(end, blocking_end);
    }
    // ANCHOR_END: decoder_properties
}
