//! What the fuzz targets share: the checks every index and every search must pass
//! ([`check`]), a fixed index of every kind ([`fixed`]), feeds parsed and compiled
//! ([`feeds`]), and the engine's operations with a model of their rules ([`engine`]).
//!
//! A check that fails panics with a message saying which rule broke; libFuzzer reports
//! the panic as a crash and keeps the input.

pub mod check;
pub mod engine;
pub mod feeds;
pub mod fixed;

/// Cuts `len` bytes into pieces whose lengths come from `seed`: 1 to 64 bytes each, with
/// now and then an empty piece, so that every edge a reader may be handed is tried.
pub fn pieces(len: usize, seed: u64) -> Vec<usize> {
    let mut state = seed | 1;
    let mut cuts = Vec::new();
    let mut at = 0;
    while at < len {
        // xorshift64: any spread will do, as long as it is the same for the same input.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let step = match state % 16 {
            0 => 0,
            1 => 1,
            n => (n * n) as usize % 64 + 1,
        };
        let step = step.min(len - at);
        cuts.push(step);
        at += step;
    }
    cuts
}

/// A seed for [`pieces`] taken from the bytes themselves.
pub fn seed_of(data: &[u8]) -> u64 {
    let head = data.iter().take(8).fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    head ^ (data.len() as u64).rotate_left(32)
}

/// Asserts that two lists are equal, naming only the first place they differ: a whole
/// list of hits is too long to read in a crash report.
#[track_caller]
pub fn assert_same<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T], what: &str) {
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        panic!(
            "{what}: at item {i} of {} and {}:\n  {:?}\nagainst\n  {:?}",
            got.len(),
            want.len(),
            got.get(i),
            want.get(i)
        );
    }
}
