//! Property-driven fuzzing of modelci's parsers of user input, bounded so that it runs in CI.
//!
//! Each parser gets inputs that are a valid file with a few random edits (bytes inserted,
//! deleted, replaced, or a slice repeated), which reach far deeper than random bytes, plus
//! random bytes. The property is always the same: the parser returns (`Ok` or `Err`) and never
//! panics, overflows or allocates without bound. `MODELCI_FUZZ_CASES` sets the number of inputs
//! per parser (default 256; raise it to fuzz for a while, e.g. 100000).

use proptest::prelude::*;

/// Inputs per parser: `MODELCI_FUZZ_CASES`, else 256.
#[must_use]
pub fn cases() -> u32 {
    std::env::var("MODELCI_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// A proptest configuration with [`cases`] inputs and no persisted failure files (the seed of
/// a failure is printed instead).
#[must_use]
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize, usize),
    Replace(usize, u8),
    Repeat(usize, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to text formats (delimiters, quotes, digits, escapes) more often than
    // others.
    let byte = prop_oneof![
        4 => prop::sample::select(b"{}[]<>\"':,;=\\/-+.eE0123456789 \n\t#&%$@!?nulltrue".to_vec()),
        1 => any::<u8>(),
    ];
    prop_oneof![
        3 => (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Insert(at, b)),
        2 => (any::<usize>(), 1usize..16).prop_map(|(at, n)| Edit::Delete(at, n)),
        3 => (any::<usize>(), byte).prop_map(|(at, b)| Edit::Replace(at, b)),
        1 => (any::<usize>(), 1usize..64, 1usize..8).prop_map(|(at, n, k)| Edit::Repeat(at, n, k)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: Vec<Edit>) -> Vec<u8> {
    for e in edits {
        let len = bytes.len();
        match e {
            Edit::Insert(at, b) => bytes.insert(at % (len + 1), b),
            Edit::Delete(at, n) if len > 0 => {
                let at = at % len;
                let end = (at + n).min(len);
                bytes.drain(at..end);
            }
            Edit::Replace(at, b) if len > 0 => bytes[at % len] = b,
            Edit::Repeat(at, n, k) if len > 0 => {
                let at = at % len;
                let end = (at + n).min(len);
                let slice = bytes[at..end].to_vec();
                for _ in 0..k {
                    bytes.splice(end..end, slice.iter().copied());
                }
            }
            _ => {}
        }
    }
    bytes
}

/// `seed` with 1 to 8 random edits, or (one time in eight) random bytes.
pub fn mutated_bytes(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        7 => prop::collection::vec(edit(), 1..8).prop_map(move |edits| apply(seed.clone(), edits)),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

/// [`mutated_bytes`] of a text, read back as text (invalid UTF-8 replaced), for parsers that
/// take `&str`.
pub fn mutated_text(seed: &str) -> impl Strategy<Value = String> {
    mutated_bytes(seed.as_bytes().to_vec()).prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}
