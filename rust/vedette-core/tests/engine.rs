//! The live engine under concurrent readers: while a writer publishes a change every
//! 20 ms (and compactions run in the background), readers never miss an indicator that
//! stays, never see an error, and memory comes back once the changes stop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vedette_core::{Engine, EngineOptions, LoadOptions, Meta};

const PINNED: &str = "pinned.example";

fn text() -> Vec<u8> {
    let mut text = b"GET http://www.other.example/a HTTP/1.1 from 198.51.100.7 ".repeat(20);
    text.extend_from_slice(b"Host: x.pinned.example\r\n");
    text.extend_from_slice(&b"user-agent: curl/8.0 n1.churn.example ".repeat(20));
    text
}

/// Runs two readers against an engine that changes every 20 ms for `duration`.
fn readers_lose_no_hit(duration: Duration) {
    // A compaction is due after every publish: one runs in the background all along.
    let mut options = EngineOptions::default();
    options.compact_min = 16;
    options.compact_ratio = 0.0;
    let engine = Arc::new(Engine::with_options(options));
    let bulk: String = (0..20_000).map(|i| format!("host{i}.bulk.example\n")).collect();
    engine.load("bulk", bulk.as_bytes(), &LoadOptions::default(), true).unwrap();
    engine.add("pin", PINNED, None, Meta::default()).unwrap();
    engine.compact().unwrap();
    let before = engine.status();

    let stop = Arc::new(AtomicBool::new(false));
    let finds = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (engine, stop, finds) = (Arc::clone(&engine), Arc::clone(&stop), Arc::clone(&finds));
            std::thread::spawn(move || {
                let text = text();
                while !stop.load(Ordering::Relaxed) {
                    let snapshot = engine.snapshot();
                    let hits = snapshot.find(&text, vedette_core::now());
                    let pinned = (hits.iter())
                        .flat_map(|m| m.indicators.iter().map(|&id| snapshot.indicator(id)))
                        .filter(|r| r.value == PINNED && r.meta.source.as_deref() == Some("pin"))
                        .count();
                    assert_eq!(pinned, 1, "version {}: the pinned record once", snapshot.version());
                    assert!(engine.is_match(b"Host: x.pinned.example", vedette_core::now()));
                    finds.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let start = Instant::now();
    let mut round = 0u64;
    while start.elapsed() < duration {
        // A new churn set replaces the last one (sync), and the pinned record's metadata
        // is replaced: its old record and its new one swap in one publish.
        let churn: String = (0..50).map(|i| format!("n{i}.r{round}.churn.example\n")).collect();
        engine.load("churn", churn.as_bytes(), &LoadOptions::default(), true).unwrap();
        let meta = Meta { description: Some(format!("round {round}")), ..Meta::default() };
        engine.add("pin", PINNED, None, meta).unwrap();
        round += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().expect("a reader saw every hit and no error");
    }
    let finds = finds.load(Ordering::Relaxed);
    assert!(finds > 0);
    let compactions = engine.status().compactions - before.compactions;
    eprintln!("{round} publishes, {finds} finds, {compactions} compactions");
    assert!(compactions > 2, "compactions ran meanwhile");

    engine.load("churn", b"", &LoadOptions::default(), true).unwrap();
    engine.compact().unwrap();
    let (before, after) = (before.memory, engine.status().memory);
    let drift = (after as f64 - before as f64).abs() / before as f64;
    eprintln!("memory {before} before, {after} after");
    assert!(drift < 0.10, "memory {before} before, {after} after {round} rounds");
    engine.close();
}

#[test]
fn readers_lose_no_hit_while_the_engine_changes() {
    readers_lose_no_hit(Duration::from_secs(2));
}

#[test]
#[ignore = "ten seconds; run with --ignored"]
fn readers_lose_no_hit_while_the_engine_changes_for_10_seconds() {
    readers_lose_no_hit(Duration::from_secs(10));
}
