//! One error type per phase: a value that is not a valid indicator, a feed record that
//! cannot be loaded, an index that cannot be built, bytes that are not a valid index.

use std::fmt;

use crate::indicator::Kind;

/// Longest value quoted in a message; longer ones are cut with an ellipsis.
const QUOTE_LIMIT: usize = 120;

/// `value`, cut to 120 bytes (at a character boundary) and marked when cut: errors quote
/// what they refuse, and a 10 MB line must not make a 10 MB message.
pub(crate) fn quote(value: &str) -> String {
    if value.len() <= QUOTE_LIMIT {
        return value.to_string();
    }
    let mut end = QUOTE_LIMIT;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &value[..end])
}

/// A value that is not a valid indicator of its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorError {
    kind: Option<Kind>,
    value: String,
    reason: String,
}

impl IndicatorError {
    pub(crate) fn new(kind: Option<Kind>, value: &str, reason: impl Into<String>) -> Self {
        IndicatorError { kind, value: quote(value), reason: reason.into() }
    }

    /// A record whose confidence is past 100: the index file keeps 0 to 100 only, so an
    /// index holding it would save to bytes that `from_bytes` refuses.
    pub(crate) fn confidence(kind: Kind, value: &str, confidence: u8) -> Self {
        let reason = format!("confidence is {confidence}, more than {}", crate::indicator::MAX_CONFIDENCE);
        IndicatorError::new(Some(kind), value, reason)
    }

    /// The kind asked for or inferred, when one was.
    pub fn kind(&self) -> Option<Kind> {
        self.kind
    }

    /// The offending value, cut to 120 bytes.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Why the value was refused, without the value.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for IndicatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Some(kind) => write!(f, "invalid {kind} {:?}: {}", self.value, self.reason),
            None => write!(f, "invalid indicator {:?}: {}", self.value, self.reason),
        }
    }
}

impl std::error::Error for IndicatorError {}

/// A feed record that could not be loaded, with where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedError {
    source: String,
    line: Option<usize>,
    category: String,
    message: String,
    /// A record left out on purpose (MISP `to_ids: false`), not a bad one.
    policy: bool,
}

impl FeedError {
    /// `category` is the short reason the load report counts by ("invalid ipv4",
    /// "unsupported type"); `message` says the rest.
    pub(crate) fn new(
        source: &str,
        line: Option<usize>,
        category: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FeedError {
            source: source.to_string(),
            line,
            category: category.into(),
            message: message.into(),
            policy: false,
        }
    }

    /// A record the feed marks as not for detection, left out by policy: counted in the
    /// report like a bad record, but never an error, even in strict mode.
    pub(crate) fn skipped(
        source: &str,
        line: Option<usize>,
        category: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FeedError { policy: true, ..FeedError::new(source, line, category, message) }
    }

    /// Whether the record was left out by policy rather than for being bad.
    pub fn is_policy_skip(&self) -> bool {
        self.policy
    }

    pub(crate) fn from_indicator(source: &str, line: Option<usize>, err: &IndicatorError) -> Self {
        let category = match err.kind() {
            Some(kind) => format!("invalid {kind}"),
            None => "invalid indicator".to_string(),
        };
        FeedError::new(source, line, category, err.to_string())
    }

    /// The file name (or `<bytes>`) the record came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The 1-based line (or record number), when the format has lines.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The short reason the load report counts by.
    pub fn category(&self) -> &str {
        &self.category
    }

    /// The full reason, naming the value.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.source, line, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

impl std::error::Error for FeedError {}

/// An index that cannot be built because it would exceed a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    message: String,
}

impl BuildError {
    /// `what` is `requested`, more than the `allowed` limit.
    pub(crate) fn too_many(what: &str, requested: u64, allowed: u64) -> Self {
        BuildError { message: format!("{what} is {requested}, more than the limit of {allowed}") }
    }

    /// Entries `first` and `second` are both `kind` `value`: only a file can say so.
    pub(crate) fn duplicate_entry(first: u32, second: u32, kind: Kind, value: &str) -> Self {
        let value = quote(value);
        BuildError {
            message: format!("distinct entries, but entries {first} and {second} are both {kind} {value:?}"),
        }
    }

    /// The string automaton refused the patterns.
    pub(crate) fn automaton(reason: impl std::fmt::Display) -> Self {
        BuildError { message: format!("string indicators do not fit one automaton: {reason}") }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

/// Bytes that are not a valid serialized index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeserializeError {
    offset: usize,
    expected: String,
}

impl DeserializeError {
    pub(crate) fn new(offset: usize, expected: impl Into<String>) -> Self {
        DeserializeError { offset, expected: expected.into() }
    }

    /// The byte offset at which the bytes stopped making sense.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for DeserializeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid index at byte {}: expected {}", self.offset, self.expected)
    }
}

impl std::error::Error for DeserializeError {}

/// Why a file (or part of one) could not be scanned: the other files are scanned all the
/// same, and the hits of a file's readable part are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanError {
    file: String,
    kind: ScanErrorKind,
    message: String,
}

/// What went wrong, for callers that sort errors (`category()` names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScanErrorKind {
    /// The file cannot be opened or read (missing, a permission, an I/O error).
    Unreadable,
    /// A compressed stream is corrupt or cut short; what came before was scanned.
    Corrupt,
    /// A line is longer than the line limit: it was scanned in pieces.
    LongLine,
}

impl ScanError {
    pub(crate) fn new(file: &str, kind: ScanErrorKind, message: impl Into<String>) -> Self {
        ScanError { file: file.to_string(), kind, message: message.into() }
    }

    /// The file, as it was named (`-` for standard input).
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn kind(&self) -> ScanErrorKind {
        self.kind
    }

    /// `unreadable`, `corrupt` or `long line`.
    pub fn category(&self) -> &'static str {
        match self.kind {
            ScanErrorKind::Unreadable => "unreadable",
            ScanErrorKind::Corrupt => "corrupt",
            ScanErrorKind::LongLine => "long line",
        }
    }

    /// Why, without the file name.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ScanError {}

/// Why an engine update, save or open failed. The snapshot readers see is unchanged.
///
/// The error of the phase that failed (an [`IndicatorError`], [`FeedError`],
/// [`BuildError`], [`DeserializeError`] or I/O error) is its
/// [`source`](std::error::Error::source), for callers that map it on.
#[derive(Debug)]
pub struct EngineError {
    kind: EngineErrorKind,
    message: String,
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// What went wrong, for callers that sort errors (`category()` names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EngineErrorKind {
    /// A value is not a valid indicator.
    Indicator,
    /// A feed cannot be loaded (a bad record in a strict load, corrupt compression).
    Feed,
    /// The records exceed a limit of the index.
    Build,
    /// A file of a state directory cannot be read or written.
    Io,
    /// A state directory holds something `save` did not write.
    State,
    /// A transaction had a failed operation, so its commit published nothing.
    Aborted,
    /// The engine is closed: it takes no more updates.
    Closed,
}

impl EngineError {
    pub(crate) fn new(kind: EngineErrorKind, message: impl Into<String>) -> Self {
        EngineError { kind, message: message.into(), cause: None }
    }

    fn wrap(kind: EngineErrorKind, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        EngineError { kind, message: cause.to_string(), cause: Some(Box::new(cause)) }
    }

    /// A file `path` could not be read or written.
    pub(crate) fn io(path: &std::path::Path, err: std::io::Error) -> Self {
        EngineError {
            message: format!("{}: {err}", path.display()),
            ..EngineError::wrap(EngineErrorKind::Io, err)
        }
    }

    /// A state directory's file `path` is not what `save` writes.
    pub(crate) fn state(path: &std::path::Path, why: impl fmt::Display) -> Self {
        EngineError::new(EngineErrorKind::State, format!("{}: {why}", path.display()))
    }

    /// An index file of a state directory does not load.
    pub(crate) fn index_file(path: &std::path::Path, err: DeserializeError) -> Self {
        EngineError {
            message: format!("{}: {err}", path.display()),
            ..EngineError::wrap(EngineErrorKind::State, err)
        }
    }

    pub fn kind(&self) -> EngineErrorKind {
        self.kind
    }

    /// `indicator`, `feed`, `build`, `io`, `state`, `aborted` or `closed`.
    pub fn category(&self) -> &'static str {
        match self.kind {
            EngineErrorKind::Indicator => "indicator",
            EngineErrorKind::Feed => "feed",
            EngineErrorKind::Build => "build",
            EngineErrorKind::Io => "io",
            EngineErrorKind::State => "state",
            EngineErrorKind::Aborted => "aborted",
            EngineErrorKind::Closed => "closed",
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<IndicatorError> for EngineError {
    fn from(err: IndicatorError) -> Self {
        EngineError::wrap(EngineErrorKind::Indicator, err)
    }
}

impl From<FeedError> for EngineError {
    fn from(err: FeedError) -> Self {
        EngineError::wrap(EngineErrorKind::Feed, err)
    }
}

impl From<BuildError> for EngineError {
    fn from(err: BuildError) -> Self {
        EngineError::wrap(EngineErrorKind::Build, err)
    }
}
