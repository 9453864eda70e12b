use proptest::prelude::*;

use super::classify::*;
use super::*;

#[test]
fn simd_classes_equal_the_class_table() {
    let mut blocks = Vec::new();
    for b in 0..=255u8 {
        blocks.push([b; 64]);
        // And at every position among other bytes.
        for i in 0..64 {
            let mut block: [u8; 64] =
                std::array::from_fn(|j| (j as u8).wrapping_mul(37).wrapping_add(i as u8));
            block[i] = b;
            blocks.push(block);
        }
    }
    #[cfg(target_arch = "x86_64")]
    for (feature, available, classify_simd) in [
        (
            "avx512bw",
            is_x86_feature_detected!("avx512bw"),
            classify_avx512 as unsafe fn(&[u8; 64]) -> BlockMasks,
        ),
        ("avx2", is_x86_feature_detected!("avx2"), classify_avx2 as unsafe fn(&[u8; 64]) -> BlockMasks),
    ] {
        if !available {
            eprintln!("no {feature} on this CPU: not tested");
            continue;
        }
        for block in &blocks {
            // SAFETY: the CPU has the feature, checked above.
            let simd = unsafe { classify_simd(block) };
            assert_eq!(simd, classify_bytes(block), "{feature}: {block:?}");
        }
    }
    // And the dispatch, over whole chunks and a short last block.
    let text = blocks.concat();
    let text = &text[..text.len() - 5];
    for base in (0..text.len()).step_by(CHUNK) {
        let mut chunk = Chunk::default();
        chunk.load(text, base);
        for w in 0..chunk.words() {
            let at = base + 64 * w;
            let mut block = [0u8; 64];
            let len = (text.len() - at).min(64);
            block[..len].copy_from_slice(&text[at..at + len]);
            let masks = BlockMasks {
                dot: chunk.dot[w],
                colon: chunk.colon[w],
                run: chunk.run[w],
                v6: chunk.v6[w],
                digit: chunk.digit[w],
                alnum: chunk.alnum[w],
                percent: chunk.percent[w],
            };
            assert_eq!(masks, classify_bytes(&block), "{block:?}");
            assert_eq!(chunk.percent_words >> w & 1 == 1, masks.percent != 0, "{block:?}");
        }
    }
}

impl Seeds {
    /// Every set bit of `mask` in the chunk.
    fn of(chunk: &Chunk, mask: [u64; WORDS]) -> Seeds {
        let mut seeds = Seeds::new(chunk);
        for (w, &bits) in mask.iter().enumerate().take(chunk.words()) {
            seeds.set(w, bits);
        }
        seeds
    }
}

/// Text over the bytes the masks tell apart, long enough to cross chunk edges.
fn text() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop::sample::select(b"a.1:9-F \x80z".to_vec());
    prop::collection::vec(byte, 0..3 * CHUNK)
}

fn chunks(text: &[u8]) -> impl Iterator<Item = Chunk> + '_ {
    (0..text.len()).step_by(CHUNK).map(|base| {
        let mut chunk = Chunk::default();
        chunk.load(text, base);
        chunk
    })
}

proptest! {
    #[test]
    fn extents_match_a_byte_walk(text in text(), seed in any::<usize>()) {
        for chunk in chunks(&text) {
            let pos = chunk.base + seed % (chunk.len + 1);
            for class in [Class::Run, Class::V6, Class::Alnum] {
                let is = |b: u8| class::is(b, class.bit());
                let end = pos + text[pos..].iter().take_while(|&&b| is(b)).count();
                let start = pos - text[..pos].iter().rev().take_while(|&&b| is(b)).count();
                prop_assert_eq!(chunk.extent_end(&text, class, pos), end);
                prop_assert_eq!(chunk.extent_start(&text, class, pos), start);
            }
        }
    }

    #[test]
    fn positions_are_the_set_bits(text in text()) {
        let dots: Vec<usize> = chunks(&text).flat_map(|chunk| Seeds::of(&chunk, chunk.dot).positions().collect::<Vec<_>>()).collect();
        let expected: Vec<usize> = (0..text.len()).filter(|&i| text[i] == b'.').collect();
        prop_assert_eq!(dots, expected);
        let starts: Vec<usize> = chunks(&text)
            .flat_map(|chunk| chunk.quad_starts(&text).positions().collect::<Vec<_>>())
            .collect();
        let digits = |from: usize| text[from.min(text.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
        let octet_then_dot = |at: usize| {
            let len = digits(at);
            ((1..=3).contains(&len) && text.get(at + len) == Some(&b'.')).then_some(at + len + 1)
        };
        for s in 0..text.len() {
            let good = s == 0 || !(text[s - 1].is_ascii_alphanumeric() || text[s - 1] == b'.');
            let second = octet_then_dot(s).filter(|_| good);
            let third = second.and_then(octet_then_dot);
            let quad_like = third.is_some_and(|third| digits(third) > 0);
            if quad_like {
                prop_assert!(starts.contains(&s), "start at {}", s);
            } else if starts.contains(&s) {
                // Only a run that may go on past its chunk may be let through.
                let chunk_end = (s / CHUNK + 1) * CHUNK;
                prop_assert!(good && chunk_end < text.len() && chunk_end - s <= 8, "start at {}", s);
            }
        }
        let run = |b: u8| class::is(b, RUN);
        for (dotless, skip_digit_ends) in [(false, false), (false, true), (true, false)] {
            let ends: Vec<usize> = chunks(&text)
                .flat_map(|chunk| chunk.name_run_ends(&text, dotless, skip_digit_ends).positions().collect::<Vec<_>>())
                .collect();
            let mut expected = Vec::new();
            let mut start = 0;
            for (i, &b) in text.iter().enumerate() {
                if !run(b) {
                    start = i + 1;
                } else if text.get(i + 1).is_none_or(|&b| !run(b)) {
                    let dotted = dotless || text[start..=i].contains(&b'.');
                    // A run that began in an earlier chunk is kept whatever it holds.
                    let from_before = start < i / CHUNK * CHUNK;
                    if from_before || (dotted && !(skip_digit_ends && b.is_ascii_digit())) {
                        expected.push(i);
                    }
                }
            }
            prop_assert_eq!(&ends, &expected, "dotless {} skip {}", dotless, skip_digit_ends);
        }
        let pairs: Vec<usize> =
            chunks(&text).flat_map(|chunk| chunk.colon_pairs().positions().collect::<Vec<_>>()).collect();
        for j in (0..text.len()).filter(|&j| text[j] == b':') {
            let paired = (j.saturating_sub(6)..j)
                .any(|i| text[i] == b':' && text[i + 1..j].iter().all(|&b| class::is(b, V6)));
            if paired {
                prop_assert!(pairs.contains(&j), "colon at {}", j);
            } else if j % CHUNK > 6 {
                prop_assert!(!pairs.contains(&j), "colon at {}", j);
            }
        }
    }
}

/// Alphanumeric runs of every length up to 80, between separators.
fn runs() -> impl Strategy<Value = Vec<u8>> {
    let piece = (1..80usize, prop::sample::select(b" .:-".to_vec())).prop_map(|(len, sep)| {
        let mut piece = b"0aF9".repeat(20)[..len].to_vec();
        piece.push(sep);
        piece
    });
    prop::collection::vec(piece, 0..80).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn every_long_alnum_run_has_a_probe(text in runs()) {
        let mut found = std::collections::BTreeSet::new();
        for chunk in chunks(&text) {
            for seed in chunk.alnum_probes().positions() {
                let start = chunk.extent_start(&text, Class::Alnum, seed);
                found.insert((start, chunk.extent_end(&text, Class::Alnum, seed)));
            }
        }
        let mut start = 0;
        for run in text.split(|b| !b.is_ascii_alphanumeric()) {
            if run.len() >= 32 {
                prop_assert!(found.contains(&(start, start + run.len())), "run at {}", start);
            }
            start += run.len() + 1;
        }
    }
}
