//! How fast inputs are inflated and cut into chunks, to compare with `zcat > /dev/null`:
//!
//! ```text
//! cargo run --release -p vedette-core --example inflate -- big.log.gz
//! ```
//!
//! Prints the inflated MB/s of the bare reader (1 MiB reads) and of the reader cut into
//! 4 MiB line chunks, the best of three runs each.

use std::io::Read;
use std::time::Instant;

use vedette_core::scan::input::{open, Input};
use vedette_core::scan::lines::LineChunks;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: inflate FILE")?;
    let input = Input::Path(path.into());
    for (what, chunked) in [("reader", false), ("line chunks", true)] {
        let mut best = f64::INFINITY;
        let mut bytes = 0;
        for _ in 0..3 {
            let start = Instant::now();
            let mut reader = open(&input)?;
            bytes = 0;
            if chunked {
                let mut chunks = LineChunks::new(reader, &input.name(), 4 << 20, 1 << 20);
                while let Some(chunk) = chunks.next() {
                    let chunk = chunk?;
                    bytes += chunk.bytes.len();
                    chunks.recycle(chunk.bytes);
                }
            } else {
                let mut buf = vec![0; 1 << 20];
                loop {
                    match reader.read(&mut buf)? {
                        0 => break,
                        n => bytes += n,
                    }
                }
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(
            "{what}: {:.1} MB inflated in {best:.3} s: {:.0} MB/s",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / best
        );
    }
    Ok(())
}
