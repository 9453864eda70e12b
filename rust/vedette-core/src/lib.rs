//! vedette compiles threat indicators (IP addresses and networks, domains, host names,
//! URLs, e-mail addresses, file hashes, literal strings) into an immutable [`Index`], then
//! matches text, single observed values and columns of flow addresses against it.

mod build;
pub mod engine;
mod entries;
mod error;
pub mod feed;
mod flow;
mod index;
mod indicator;
pub mod normalize;
pub mod scan;
mod search;
mod swar;
mod time;
mod wire;
mod zeek_tsv;

pub use build::{Allowlist, IndexBuilder, Limits, LoadOptions, LoadReport};
pub use engine::{
    Engine, EngineOptions, EngineStatus, Sighting, Snapshot, SourceError, SourceStatus, Transaction, Update,
};
pub use error::{
    BuildError, DeserializeError, EngineError, EngineErrorKind, FeedError, IndicatorError, ScanError,
    ScanErrorKind,
};
pub use flow::FlowHits;
pub use index::{Index, Stats};
pub use indicator::{now, parse_timestamp, Indicator, IndicatorId, Kind, Meta, Timestamp, Tlp, UnknownKind};
pub use search::{Match, Matches};
