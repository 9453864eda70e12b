//! [`Transaction`]: changes staged, parsed and checked before the writer lock, then
//! applied and published together.

use std::sync::atomic::Ordering;

use super::shared::lock;
use super::state::{Batch, Journal, OwnedNotice, Record, SourceError, State};
use super::worker::Worker;
use super::{Engine, Update};
use crate::build::{IndexBuilder, LoadOptions, LoadReport};
use crate::error::{EngineError, EngineErrorKind};
use crate::feed::Notice;
use crate::indicator::{Kind, Meta};
use crate::normalize::{self, IpRange};

/// Changes staged to publish together; see [`Engine::transaction`]. Dropped without a
/// commit, it publishes nothing. An operation that fails poisons it: its commit then
/// publishes nothing either.
///
/// # Example
/// ```
/// use vedette_core::{Engine, EngineErrorKind, Kind, Meta};
///
/// let engine = Engine::new();
/// let mut tx = engine.transaction();
/// tx.add("feed", "evil.example", None, Meta::default())?;
/// assert!(tx.add("feed", "999.1.1.1", Some(Kind::Ipv4), Meta::default()).is_err());
/// assert_eq!(tx.commit().unwrap_err().kind(), EngineErrorKind::Aborted);
/// assert!(engine.is_empty());
/// # Ok::<(), vedette_core::EngineError>(())
/// ```
pub struct Transaction<'e> {
    engine: &'e Engine,
    ops: Vec<Op>,
    failed: bool,
    reports: Vec<LoadReport>,
}

enum Op {
    Put { source: String, batch: Batch },
    RemoveRef { source: String, reference: String },
    RemoveValue { source: String, kind: Kind, value: String, ip: Option<IpRange> },
}

impl<'e> Transaction<'e> {
    pub(super) fn new(engine: &'e Engine) -> Self {
        Transaction { engine, ops: Vec::new(), failed: false, reports: Vec::new() }
    }

    fn check<T, E: Into<EngineError>>(&mut self, result: Result<T, E>) -> Result<T, EngineError> {
        result.map_err(|e| {
            self.failed = true;
            e.into()
        })
    }

    /// Stages [`Engine::add`].
    ///
    /// # Errors
    /// When `value` is not a valid indicator of `kind`; the transaction is poisoned.
    pub fn add(
        &mut self,
        source: &str,
        value: &str,
        kind: Option<Kind>,
        meta: Meta,
    ) -> Result<&mut Self, EngineError> {
        let mut builder = IndexBuilder::new();
        let added = builder.add(value, kind, meta).map(drop);
        self.check(added)?;
        let records = records_of(&builder, source);
        let batch = Batch { records, ..Batch::default() };
        self.ops.push(Op::Put { source: source.to_string(), batch });
        Ok(self)
    }

    /// Stages [`Engine::remove_ref`].
    pub fn remove_ref(&mut self, source: &str, reference: &str) -> &mut Self {
        self.ops.push(Op::RemoveRef { source: source.to_string(), reference: reference.to_string() });
        self
    }

    /// Stages [`Engine::remove_value`].
    ///
    /// # Errors
    /// When `value` is not a valid indicator of `kind`; the transaction is poisoned.
    pub fn remove_value(
        &mut self,
        source: &str,
        value: &str,
        kind: Option<Kind>,
    ) -> Result<&mut Self, EngineError> {
        let n = self.check(normalize::normalize(value, kind, false))?;
        self.ops.push(Op::RemoveValue { source: source.to_string(), kind: n.kind, value: n.value, ip: n.ip });
        Ok(self)
    }

    /// Stages [`Engine::load`]: the feed is parsed now, before any lock is taken.
    ///
    /// # Errors
    /// As [`Engine::load`]; the transaction is poisoned.
    pub fn load(
        &mut self,
        source: &str,
        data: &[u8],
        options: &LoadOptions,
        sync: bool,
    ) -> Result<&mut Self, EngineError> {
        let mut builder = IndexBuilder::new();
        let mut notices = Vec::new();
        let loaded = builder.load_noting(data, options, &mut |notice| notices.push(owned(notice)));
        if let Err(err) = &loaded {
            self.engine.shared.note_error(source, &err.to_string());
        }
        let report = self.check(loaded)?;
        let records = records_of(&builder, source);
        self.ops.push(Op::Put { source: source.to_string(), batch: Batch { records, notices, sync } });
        self.reports.push(report);
        Ok(self)
    }

    /// Applies every staged change and publishes them as one new snapshot (none when no
    /// record changed).
    ///
    /// # Errors
    /// When an operation failed ([`EngineErrorKind::Aborted`]), the engine is closed,
    /// or the records exceed a limit of the index; nothing is published then.
    pub fn commit(self) -> Result<Update, EngineError> {
        if self.failed {
            let message = "the transaction has a failed operation: nothing was published";
            return Err(EngineError::new(EngineErrorKind::Aborted, message));
        }
        let shared = &self.engine.shared;
        if shared.closed.load(Ordering::SeqCst) {
            return Err(EngineError::new(EngineErrorKind::Closed, "the engine is closed"));
        }
        let (mut update, published) = {
            let mut state = lock(&shared.state);
            let before = state.version;
            let mut journal = Journal::default();
            for op in self.ops {
                state.apply(&mut journal, op);
            }
            let touched = journal.sources.clone();
            let now = crate::now();
            match shared.publish(&mut state, journal) {
                Ok(update) => {
                    for &source in &touched {
                        state.sources[source as usize].last_success = Some(now);
                    }
                    let published = state.version != before;
                    (update, published)
                }
                Err(err) => {
                    for &source in &touched {
                        let error = SourceError { at: now, message: err.to_string() };
                        state.sources[source as usize].last_error = Some(error);
                    }
                    return Err(err.into());
                }
            }
        };
        update.reports = self.reports;
        if published {
            Worker::published(shared);
        }
        Ok(update)
    }
}

impl State {
    fn apply(&mut self, journal: &mut Journal, op: Op) {
        match op {
            Op::Put { source, batch } => {
                let id = self.source_id(&source);
                self.put(journal, id, batch);
            }
            Op::RemoveRef { source, reference } => {
                let id = self.source_id(&source);
                self.remove_ref(journal, id, &reference);
            }
            Op::RemoveValue { source, kind, value, ip } => {
                let id = self.source_id(&source);
                self.remove_value(journal, id, kind, &value, ip);
            }
        }
    }
}

/// The records a builder collected, as `source`'s.
fn records_of(builder: &IndexBuilder, source: &str) -> Vec<Record> {
    let stamp = (!source.is_empty()).then(|| source.to_string());
    (builder.records())
        .map(|(entry, meta)| Record {
            kind: entry.kind,
            value: entry.value.into(),
            ip: entry.ip,
            meta: Meta { source: stamp.clone(), ..meta.clone() },
        })
        .collect()
}

fn owned(notice: Notice<'_>) -> OwnedNotice {
    match notice {
        Notice::Version { reference, modified } => {
            OwnedNotice::Version { reference: reference.into(), modified }
        }
        Notice::Revoked { reference } => OwnedNotice::Revoked { reference: reference.into() },
        Notice::Deleted { reference } => OwnedNotice::Deleted { reference: reference.into() },
    }
}
