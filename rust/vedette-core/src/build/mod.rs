//! [`IndexBuilder`]: collects indicators (one by one or from feeds), puts each in
//! canonical form, merges duplicates, and compiles an [`Index`].

mod allow;
pub(crate) mod filter;
pub(crate) mod ip;
pub(crate) mod keyed;
pub(crate) mod tables;
pub(crate) mod urls;

use std::collections::BTreeMap;
use std::path::Path;

use rustc_hash::FxHashSet;

pub use allow::Allowlist;

use crate::entries::{DistinctEntries, Entries, Entry};
use crate::error::{BuildError, FeedError, IndicatorError};
use crate::feed::{self, Format, NoticeSink, ParseOptions, RawRecord};
use crate::index::Index;
use crate::indicator::{Kind, Meta, MAX_CONFIDENCE};
use crate::normalize::{self, Normalized};
use crate::time::TIMESTAMPS;

/// How many errors a load report keeps in full; the rest are only counted.
const REPORT_ERRORS: usize = 20;

/// Collects indicators and compiles them into an [`Index`]. Reusable: `build` can be
/// called again after more `add`s.
///
/// # Example
/// ```
/// use vedette_core::{IndexBuilder, Kind, Meta};
///
/// let mut builder = IndexBuilder::new();
/// builder.add("EVIL.example.", None, Meta::default())?;
/// builder.add("mail.evil.example", Some(Kind::Hostname), Meta::default())?;
/// let index = builder.build()?;
/// assert_eq!(index.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct IndexBuilder {
    limits: Limits,
    entries: DistinctEntries,
    /// `(entry, metadata)` in the order added, the metadata as an index into `metas`;
    /// duplicates are merged at build time.
    records: Vec<(u32, u32)>,
    /// The records' metadata, one copy per run of records that share it.
    metas: Vec<Meta>,
    allowlists: Vec<Allowlist>,
    /// Entries kept even when an allowlist covers them.
    overrides: FxHashSet<u32>,
}

/// What one builder takes in, at most: a hostile or broken feed (a decompression bomb, a
/// line without end, billions of records) gets an error naming the limit, instead of
/// the process's memory (docs/semantics.md §11.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Records held, all adds and loads together: each past it is refused ("too many
    /// records"). Default 50 million, about 5 GB of index.
    pub max_records: usize,
    /// Bytes of one feed, once decompressed: a larger one is refused whole ("feed too
    /// large"). Default 256 MiB; a feed is held in memory while it is parsed.
    pub max_feed_bytes: usize,
    /// Bytes of one line of a list, CSV or Zeek intel file: a longer line is a bad record
    /// ("line too long"). Default 1 MiB.
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_records: 50_000_000, max_feed_bytes: 256 << 20, max_line_bytes: 1 << 20 }
    }
}

/// Options of [`IndexBuilder::load`].
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Names the feed in errors and reports (a file name, say).
    pub name: String,
    /// The format; sniffed from the bytes when `None`.
    pub format: Option<Format>,
    /// The `source` given to records whose feed names none.
    pub source: Option<String>,
    /// The kind of every value of a one-value-per-line list, instead of inferring it.
    pub kind: Option<Kind>,
    /// Stop at the first bad record with its error, instead of skipping it.
    pub strict: bool,
    /// Choices a format leaves to the reader (MISP `to_ids`, Zeek `DOMAIN`).
    pub parse: ParseOptions,
}

/// What a load did: records loaded, records skipped by reason, the first errors in full.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub name: String,
    pub format: Option<Format>,
    pub loaded: usize,
    /// Skipped records per reason.
    pub skipped: BTreeMap<String, usize>,
    /// The first bad records, with their line and reason.
    pub errors: Vec<FeedError>,
    /// Networks given with host bits set, loaded masked.
    pub masked_host_bits: usize,
    /// Domain indicators loaded that are themselves a public suffix (`duckdns.org`,
    /// `github.io`). They keep their meaning, so each matches every name anyone registers
    /// under it: worth a look when a feed was not meant to say that.
    pub public_suffix_domains: usize,
}

impl LoadReport {
    fn skip(&mut self, err: FeedError) {
        *self.skipped.entry(err.category().to_string()).or_default() += 1;
        if self.errors.len() < REPORT_ERRORS {
            self.errors.push(err);
        }
    }

    /// The number of records skipped, all reasons together.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

impl IndexBuilder {
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// A builder with other limits than the defaults.
    pub fn with_limits(limits: Limits) -> IndexBuilder {
        IndexBuilder { limits, ..IndexBuilder::default() }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The error of a record past `max_records`, `None` while there is room.
    fn over_max_records(&self, value: &str, kind: Option<Kind>) -> Option<IndicatorError> {
        let max = self.limits.max_records;
        let reason = format!("the builder holds max_records ({max}) records already");
        (self.records.len() >= max).then(|| IndicatorError::new(kind, value, reason))
    }

    /// Adds one indicator: `value` in any accepted form of `kind` (inferred when `None`).
    ///
    /// # Errors
    /// When `value` is not a valid indicator of that kind, or `meta.confidence` is more
    /// than 100; nothing is added then.
    pub fn add(&mut self, value: &str, kind: Option<Kind>, meta: Meta) -> Result<&mut Self, IndicatorError> {
        if let Some(err) = self.over_max_records(value, kind) {
            return Err(err);
        }
        let normalized = normalize::normalize(value, kind, false)?;
        check_meta(&normalized, value, &meta)?;
        self.add_normalized(normalized, meta);
        Ok(self)
    }

    fn add_normalized(&mut self, n: Normalized, meta: Meta) {
        let entry = self.entry_of(n);
        // A record with the metadata of the one before shares its copy: a feed's records
        // mostly say the same thing one after another, and a copy each was a million
        // allocations to make, keep and free. Only neighbours are compared: hashing
        // every metadata to share it index-wide cost a STIX bundle's million distinct
        // ones a second.
        if self.metas.last() != Some(&meta) {
            self.metas.push(meta);
        }
        self.records.push((entry, (self.metas.len() - 1) as u32));
    }

    /// The id of the entry of `n`, made when it is new.
    fn entry_of(&mut self, n: Normalized) -> u32 {
        self.entries.intern(n.kind, &n.value, n.ip)
    }

    /// Suppresses, at build time, every indicator that `list` covers, except those marked
    /// with [`override_allowlist`](Self::override_allowlist).
    pub fn allow(&mut self, list: Allowlist) -> &mut Self {
        self.allowlists.push(list);
        self
    }

    /// Keeps `value` even where an allowlist covers it (the malicious subdomain of a
    /// benign parent). It need not have been added yet.
    ///
    /// # Errors
    /// When `value` is not a valid indicator of that kind.
    pub fn override_allowlist(
        &mut self,
        value: &str,
        kind: Option<Kind>,
    ) -> Result<&mut Self, IndicatorError> {
        let entry = self.entry_of(normalize::normalize(value, kind, false)?);
        self.overrides.insert(entry);
        Ok(self)
    }

    /// The allowlist that suppresses each entry, if any.
    fn suppressing(&self) -> Vec<Option<usize>> {
        self.entries
            .entries()
            .iter()
            .enumerate()
            .map(|(id, entry)| {
                if self.overrides.contains(&(id as u32)) {
                    return None;
                }
                self.allowlists.iter().position(|list| list.covers(&entry))
            })
            .collect()
    }

    /// How many entries each allowlist suppresses (the first list that covers an entry
    /// counts it), by list name.
    pub fn suppressed(&self) -> BTreeMap<String, usize> {
        let mut counts: BTreeMap<String, usize> =
            self.allowlists.iter().map(|list| (list.name().to_string(), 0)).collect();
        for list in self.suppressing().into_iter().flatten() {
            *counts.entry(self.allowlists[list].name().to_string()).or_default() += 1;
        }
        counts
    }

    /// Every record added so far, in the order added, duplicates included.
    pub(crate) fn records(&self) -> impl ExactSizeIterator<Item = (Entry<'_>, &Meta)> + '_ {
        let entries = self.entries.entries();
        self.records.iter().map(move |&(entry, meta)| (entries.get(entry), &self.metas[meta as usize]))
    }

    /// The number of distinct entries added so far.
    pub fn len(&self) -> usize {
        self.entries.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Loads a feed (gzip, zstd, bzip2 and xz inflated): every good record is added,
    /// every bad one is counted in the report with its line and reason.
    ///
    /// # Errors
    /// With `strict`, the first bad record; otherwise only a feed that cannot be read at
    /// all (corrupt compression, a CSV without a value column).
    pub fn load(&mut self, data: &[u8], options: &LoadOptions) -> Result<LoadReport, FeedError> {
        self.load_noting(data, options, &mut |_| {})
    }

    /// [`load`](Self::load), also telling `notices` what the feed says about ids besides
    /// their records (STIX versions and revocations, MISP deletions).
    pub(crate) fn load_noting(
        &mut self,
        data: &[u8],
        options: &LoadOptions,
        notices: NoticeSink<'_>,
    ) -> Result<LoadReport, FeedError> {
        let name = if options.name.is_empty() { "<bytes>" } else { options.name.as_str() };
        let data = feed::decompress_at_most(data, name, self.limits.max_feed_bytes)?;
        let format = options.format.unwrap_or_else(|| feed::sniff(&data));
        let parse = ParseOptions { max_line_bytes: self.limits.max_line_bytes, ..options.parse };
        let mut report = LoadReport { name: name.to_string(), format: Some(format), ..LoadReport::default() };
        let mut sink = |parsed: Result<RawRecord<'_>, FeedError>| -> Result<(), FeedError> {
            let outcome = parsed.and_then(|record| self.load_record(record, name, options, &mut report));
            match outcome {
                Ok(()) => Ok(()),
                Err(err) if options.strict && !err.is_policy_skip() => Err(err),
                Err(err) => {
                    report.skip(err);
                    Ok(())
                }
            }
        };
        feed::parse_noting(format, &data, name, &parse, &mut sink, notices)?;
        Ok(report)
    }

    /// Loads a MISP feed directory: the events its `manifest.json` lists. An event file
    /// the manifest names but the directory lacks is reported (category "missing event
    /// file"), and the rest loads.
    ///
    /// # Errors
    /// When the manifest cannot be read; with `strict`, the first bad record or missing
    /// file.
    pub fn load_misp_feed(&mut self, dir: &Path, options: &LoadOptions) -> Result<LoadReport, FeedError> {
        let manifest_path = dir.join("manifest.json");
        let manifest_name = manifest_path.display().to_string();
        let manifest = std::fs::read(&manifest_path)
            .map_err(|e| FeedError::new(&manifest_name, None, "unreadable manifest", e.to_string()))?;
        let files = feed::misp_manifest_event_files(&manifest)
            .map_err(|e| FeedError::new(&manifest_name, None, "invalid manifest", e))?;
        let mut total = LoadReport {
            name: dir.display().to_string(),
            format: Some(Format::Misp),
            ..LoadReport::default()
        };
        let real_dir = dir
            .canonicalize()
            .map_err(|e| FeedError::new(&total.name, None, "unreadable feed directory", e.to_string()))?;
        for file in files {
            let read = file
                .map_err(|message| FeedError::new(&manifest_name, None, "invalid manifest key", message))
                .and_then(|file| {
                    let name = dir.join(&file).display().to_string();
                    let data = read_event_file(&real_dir, &name, &file, self.limits.max_feed_bytes)?;
                    Ok((name, data))
                });
            let (name, data) = match read {
                Ok(read) => read,
                Err(err) if options.strict => return Err(err),
                Err(err) => {
                    total.skip(err);
                    continue;
                }
            };
            let event_options = LoadOptions { name, format: Some(Format::Misp), ..options.clone() };
            let report = self.load(&data, &event_options)?;
            total.loaded += report.loaded;
            total.masked_host_bits += report.masked_host_bits;
            total.public_suffix_domains += report.public_suffix_domains;
            for (reason, count) in report.skipped {
                *total.skipped.entry(reason).or_default() += count;
            }
            let room = REPORT_ERRORS.saturating_sub(total.errors.len());
            total.errors.extend(report.errors.into_iter().take(room));
        }
        Ok(total)
    }

    fn load_record(
        &mut self,
        mut record: RawRecord<'_>,
        name: &str,
        options: &LoadOptions,
        report: &mut LoadReport,
    ) -> Result<(), FeedError> {
        let kind = record.kind.or(options.kind);
        if let Some(err) = self.over_max_records(&record.value, kind) {
            return Err(FeedError::new(name, Some(record.line), "too many records", err.reason()));
        }
        let normalized = normalize::normalize(&record.value, kind, options.strict)
            .map_err(|e| FeedError::from_indicator(name, Some(record.line), &e))?;
        // A bare value of a list that looks like no indicator kind is most often a header
        // or a stray word ("ip addresses:"): loading it as a string would match text
        // everywhere. Strings come from lists only when the caller says kind=string.
        if normalized.kind == Kind::String && kind.is_none() {
            return Err(FeedError::new(
                name,
                Some(record.line),
                "not an indicator",
                format!(
                    "{:?} is no ip, host, url, email or hash (load with kind string to keep it)",
                    crate::error::quote(&record.value)
                ),
            ));
        }
        // The parsers refuse bad confidences with their own message; this keeps a parser
        // that forgets from writing an index that cannot be loaded back.
        check_meta(&normalized, &record.value, &record.meta).map_err(|e| {
            let confidence = record.meta.confidence.is_some_and(|c| c > MAX_CONFIDENCE);
            let category = if confidence { "bad confidence" } else { "bad time" };
            FeedError::new(name, Some(record.line), category, e.to_string())
        })?;
        report.masked_host_bits += usize::from(normalized.masked_host_bits);
        report.public_suffix_domains +=
            usize::from(normalized.kind == Kind::Domain && normalize::is_public_suffix(&normalized.value));
        if record.meta.source.is_none() {
            record.meta.source.clone_from(&options.source);
        }
        self.add_normalized(normalized, record.meta);
        report.loaded += 1;
        Ok(())
    }

    /// Compiles everything added so far into an index. Identical records of one entry
    /// (the same value from the same source with the same metadata) are merged.
    ///
    /// # Errors
    /// When the indicators exceed a limit of the index (over 4 billion entries or
    /// records, or string indicators too large for one automaton).
    pub fn build(&self) -> Result<Index, BuildError> {
        // Entries that an allowlist suppresses, or that only an override put here, go;
        // the others are renumbered densely.
        let suppressing = self.suppressing();
        let all = self.entries.entries();
        let has_records = {
            let mut has = vec![false; all.len()];
            self.records.iter().for_each(|&(entry, _)| has[entry as usize] = true);
            has
        };
        let mut new_id = vec![u32::MAX; all.len()];
        let mut entries = Entries::with_capacity(all.len(), all.text_len());
        for (old, entry) in all.iter().enumerate() {
            if suppressing[old].is_none() && has_records[old] {
                new_id[old] = entries.push(entry.kind, entry.value, entry.ip);
            }
        }
        let mut order: Vec<u32> = (0..self.records.len() as u32)
            .filter(|&i| new_id[self.records[i as usize].0 as usize] != u32::MAX)
            .collect();
        order.sort_by_key(|&i| new_id[self.records[i as usize].0 as usize]);
        let mut records: Vec<(u32, u32)> = Vec::with_capacity(order.len());
        let mut group_start = 0;
        for i in order {
            let (old, meta) = self.records[i as usize];
            let entry = new_id[old as usize];
            if records.last().is_none_or(|&(last, _)| last != entry) {
                group_start = records.len();
            }
            // Groups are small (one record per source), so a linear scan is the cheap way.
            let same =
                |&(_, m): &(u32, u32)| m == meta || self.metas[m as usize] == self.metas[meta as usize];
            if !records[group_start..].iter().any(same) {
                records.push((entry, meta));
            }
        }
        // Only the metadata of the records kept goes into the index.
        let mut new_meta = vec![u32::MAX; self.metas.len()];
        let mut metas = Vec::new();
        for (_, meta) in &mut records {
            if new_meta[*meta as usize] == u32::MAX {
                new_meta[*meta as usize] = metas.len() as u32;
                metas.push(self.metas[*meta as usize].clone());
            }
            *meta = new_meta[*meta as usize];
        }
        Index::from_parts(entries, records, metas)
    }
}

/// The bytes of the event file `file` (named `name` in errors) of the MISP feed in `dir`
/// (its canonical path),
/// refused when it resolves outside `dir`: a symbolic link in a feed must not make a
/// load read any other file of the machine.
fn read_event_file(dir: &Path, name: &str, file: &str, max_feed_bytes: usize) -> Result<Vec<u8>, FeedError> {
    let fail = |category: &str, message: String| FeedError::new(name, None, category, message);
    let real =
        dir.join(file).canonicalize().map_err(|e| fail("missing event file", format!("{file}: {e}")))?;
    if !real.starts_with(dir) {
        let message = format!("{file} resolves to {}, outside the feed directory", real.display());
        return Err(fail("event file outside the feed", message));
    }
    feed::read_at_most(&real, max_feed_bytes).map_err(|e| fail("missing event file", format!("{file}: {e}")))
}

/// Refuses metadata that the index file cannot hold, so that every index the builder
/// makes loads back from its bytes.
fn check_meta(n: &Normalized, value: &str, meta: &Meta) -> Result<(), IndicatorError> {
    if let Some(c) = meta.confidence.filter(|&c| c > MAX_CONFIDENCE) {
        return Err(IndicatorError::confidence(n.kind, value, c));
    }
    for (name, time) in [("valid_from", meta.valid_from), ("valid_until", meta.valid_until)] {
        if let Some(t) = time.filter(|t| !TIMESTAMPS.contains(t)) {
            let reason = format!("{name} {t} (microseconds) is outside the years 1-9999");
            return Err(IndicatorError::new(Some(n.kind), value, reason));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_records_merge_wherever_they_were_added() {
        let a = Meta { source: Some("a".into()), ..Meta::default() };
        let b = Meta { source: Some("b".into()), ..Meta::default() };
        let mut builder = IndexBuilder::new();
        let added = [("evil.example", &a), ("other.example", &b), ("evil.example", &a), ("evil.example", &b)];
        for (value, meta) in added.into_iter().chain([("EVIL.example.", &a)]) {
            builder.add(value, None, meta.clone()).unwrap();
        }
        let index = builder.build().unwrap();
        let records: Vec<_> = index.indicators().map(|i| (i.value, i.meta.source.as_deref())).collect();
        let want = [("evil.example", Some("a")), ("evil.example", Some("b")), ("other.example", Some("b"))];
        assert_eq!(records, want);
    }

    #[test]
    fn a_feed_record_past_100_confidence_is_skipped() {
        // The parsers check confidences themselves; this is the builder's own check, for
        // a parser that does not.
        let mut builder = IndexBuilder::new();
        let mut report = LoadReport::default();
        let record = |confidence| RawRecord {
            line: 7,
            value: "evil.example".into(),
            kind: None,
            meta: Meta { confidence: Some(confidence), ..Meta::default() },
        };
        let options = LoadOptions::default();
        let err = builder.load_record(record(101), "f", &options, &mut report).unwrap_err();
        assert_eq!(err.category(), "bad confidence");
        assert_eq!(err.to_string(), "f:7: invalid domain \"evil.example\": confidence is 101, more than 100");
        assert!(builder.is_empty());
        builder.load_record(record(100), "f", &options, &mut report).unwrap();
        assert_eq!(report.loaded, 1);
    }

    #[test]
    fn load_report_counts_public_suffix_domains() {
        #[rustfmt::skip]
        let rows: &[(&str, &str, Option<Kind>, usize)] = &[
            ("suffix010", "duckdns.org\nevil.duckdns.org\n", None, 1),
            ("suffix020", "github.io\nco.uk\n", None, 2),
            ("suffix025", "com\n", Some(Kind::Domain), 1),
            ("suffix030", "evil.github.io\nexample.com\n", None, 0),
            // Only domains: a host that is a suffix matches itself alone.
            ("suffix040", "github.io\n", Some(Kind::Hostname), 0),
            ("suffix050", "https://github.io/x\n", None, 0),
        ];
        for &(id, feed, kind, want) in rows {
            let options = LoadOptions { kind, ..LoadOptions::default() };
            let report = IndexBuilder::new().load(feed.as_bytes(), &options).unwrap();
            assert_eq!(report.public_suffix_domains, want, "row {id}");
            assert_eq!(report.loaded, feed.lines().count(), "row {id}: every value loads");
        }
        // Counted, not changed: the suffix still matches the names under it.
        let mut builder = IndexBuilder::new();
        builder.load(b"duckdns.org\n", &LoadOptions::default()).unwrap();
        assert!(builder.build().unwrap().is_match(b"GET http://anyone.duckdns.org/", crate::now()));
    }
}

#[cfg(test)]
mod limit_tests;
