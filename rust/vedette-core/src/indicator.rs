//! What an indicator is: a canonical value of some [`Kind`], plus the metadata that the
//! feed gave it.

use std::fmt;
use std::str::FromStr;

/// The kind of an indicator. It decides the canonical form and the matching rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Ipv4,
    Ipv6,
    /// A domain and all of its subdomains.
    Domain,
    /// Exactly one host name (MISP `hostname`, Zeek `DOMAIN`).
    Hostname,
    Url,
    Email,
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    /// Arbitrary bytes, matched byte-exact with no boundary.
    String,
}

impl Kind {
    /// Every kind, in the order of their numeric codes.
    pub const ALL: [Kind; 13] = [
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Domain,
        Kind::Hostname,
        Kind::Url,
        Kind::Email,
        Kind::Md5,
        Kind::Sha1,
        Kind::Sha224,
        Kind::Sha256,
        Kind::Sha384,
        Kind::Sha512,
        Kind::String,
    ];

    /// The lower-case name used everywhere outside Rust (`"ipv4"`, `"sha256"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Domain => "domain",
            Kind::Hostname => "hostname",
            Kind::Url => "url",
            Kind::Email => "email",
            Kind::Md5 => "md5",
            Kind::Sha1 => "sha1",
            Kind::Sha224 => "sha224",
            Kind::Sha256 => "sha256",
            Kind::Sha384 => "sha384",
            Kind::Sha512 => "sha512",
            Kind::String => "string",
        }
    }

    /// The stable numeric code of this kind (its position in [`Kind::ALL`]).
    pub fn code(self) -> u8 {
        Kind::ALL.iter().position(|&k| k == self).unwrap() as u8
    }

    /// The kind with numeric code `code`, if any.
    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(code)).copied()
    }

    /// The hash kind whose hex digest has `len` characters.
    pub fn hash_of_hex_len(len: usize) -> Option<Kind> {
        match len {
            32 => Some(Kind::Md5),
            40 => Some(Kind::Sha1),
            56 => Some(Kind::Sha224),
            64 => Some(Kind::Sha256),
            96 => Some(Kind::Sha384),
            128 => Some(Kind::Sha512),
            _ => None,
        }
    }

    /// The length in hex characters of this kind's digests, for hash kinds.
    pub fn hex_len(self) -> Option<usize> {
        match self {
            Kind::Md5 => Some(32),
            Kind::Sha1 => Some(40),
            Kind::Sha224 => Some(56),
            Kind::Sha256 => Some(64),
            Kind::Sha384 => Some(96),
            Kind::Sha512 => Some(128),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown kind name; its message lists the known ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownKind(pub String);

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        write!(f, "unknown kind {:?}: expected one of {}", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownKind {}

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Kind, UnknownKind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s).ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// Traffic Light Protocol marking, ordered from least to most restricted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

impl Tlp {
    /// The TLP 2.0 name: `clear`, `green`, `amber`, `amber+strict`, `red`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }
}

impl FromStr for Tlp {
    type Err = String;

    /// Accepts the TLP 2.0 names, TLP 1.0's `white`, and a `tlp:` prefix, in any case.
    fn from_str(s: &str) -> Result<Tlp, String> {
        let lower = s.trim().to_ascii_lowercase();
        let name = lower.strip_prefix("tlp:").unwrap_or(&lower);
        Ok(match name {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return Err(format!("unknown tlp {s:?}: expected clear, green, amber, amber+strict or red")),
        })
    }
}

/// The highest confidence a record can have: the builder refuses more, and the index
/// file has no room for more.
pub(crate) const MAX_CONFIDENCE: u8 = 100;

/// Microseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// What a feed says about an indicator, besides its value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Meta {
    /// The feed or organisation that published it.
    pub source: Option<String>,
    /// The feed-native id: STIX id, MISP uuid, ...
    pub reference: Option<String>,
    /// 0 to 100; the builder refuses more.
    pub confidence: Option<u8>,
    pub tlp: Option<Tlp>,
    /// Labels, kill-chain phases, indicator types.
    pub tags: Vec<String>,
    /// The indicator matches from this instant on (inclusive).
    pub valid_from: Option<Timestamp>,
    /// The indicator stops matching at this instant (exclusive).
    pub valid_until: Option<Timestamp>,
    pub description: Option<String>,
}

impl Meta {
    /// Whether this record is in force at `at`: `valid_from <= at < valid_until`.
    #[inline]
    pub fn is_valid_at(&self, at: Timestamp) -> bool {
        self.valid_from.is_none_or(|from| from <= at) && self.valid_until.is_none_or(|until| at < until)
    }
}

/// The id of one indicator record (one value with one metadata record) in an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndicatorId(pub(crate) u32);

impl IndicatorId {
    pub fn as_u32(self) -> u32 {
        self.0
    }

    pub fn as_usize(self) -> usize {
        self.0 as usize
    }
}

/// One indicator record of an index: a canonical value, its kind and its metadata.
#[derive(Clone, Copy, Debug)]
pub struct Indicator<'a> {
    pub id: IndicatorId,
    pub kind: Kind,
    pub value: &'a str,
    pub meta: &'a Meta,
}

/// Parses a time as feeds write them: integer Unix seconds, RFC 3339 (`2027-01-01T00:00:00Z`,
/// with fractions, `+02:00` offsets, a space for the `T`) or a date alone (midnight UTC).
///
/// # Errors
/// When the text is no such time.
pub fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    crate::time::parse_timestamp(text.trim())
        .ok_or_else(|| "expected Unix seconds or an RFC 3339 time such as 2027-01-01T00:00:00Z".to_string())
}

/// The current time.
pub fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp::try_from(since_epoch.as_micros()).unwrap_or(Timestamp::MAX)
}
