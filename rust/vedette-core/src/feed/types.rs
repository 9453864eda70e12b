//! Feed type names → kinds: the one table that every format (CSV, Zeek intel, MISP, STIX)
//! and the allowlists read, so that a name means one thing wherever it is read. What a
//! format does around the names (MISP's composite `domain|ip`, Zeek's option to read
//! `DOMAIN` as a hostname) stays in the format.

use crate::indicator::Kind;

/// Whose names a type name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Vocabulary {
    /// MISP attribute types, and the parts of its composite types (`filename|md5` is
    /// `filename` then `md5`).
    Misp,
    /// Zeek `Intel::Type` names.
    Zeek,
    /// STIX cyber-observable object types whose `value` an indicator names.
    Stix,
    /// Other tools' names in a CSV kind column, lowercase; our own kind names come first.
    Csv,
}

/// What a type name says its values are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TypeKind {
    /// Values of this kind.
    Is(Kind),
    /// Addresses, networks or ranges: ipv6 when the value has a colon, ipv4 otherwise. An
    /// explicit kind rather than inference, so that a domain filed as an address is an
    /// error rather than a domain.
    Ip,
    /// Digests: the hash kind of the value's length.
    Hash,
    /// Whatever the value's own shape says: the builder infers it.
    Inferred,
}

use self::TypeKind::{Hash, Inferred, Ip, Is};
use self::Vocabulary::{Csv, Misp, Stix, Zeek};
use crate::indicator::Kind::{
    Domain, Email, Hostname, Ipv4, Ipv6, Md5, Sha1, Sha224, Sha256, Sha384, Sha512, Url,
};

/// Every type name we read, with what its values are. A name absent here is unsupported.
#[rustfmt::skip]
const TYPES: &[(Vocabulary, &str, TypeKind)] = &[
    (Misp, "ip-src", Ip),
    (Misp, "ip-dst", Ip),
    (Misp, "domain", Is(Domain)),
    (Misp, "hostname", Is(Hostname)),
    (Misp, "url", Is(Url)),
    // A path or a fragment of a URI (`/admin.php`), not a whole URL.
    (Misp, "uri", Is(Kind::String)),
    (Misp, "filename", Is(Kind::String)),
    (Misp, "user-agent", Is(Kind::String)),
    (Misp, "mutex", Is(Kind::String)),
    (Misp, "email", Is(Email)),
    (Misp, "email-src", Is(Email)),
    (Misp, "email-dst", Is(Email)),
    (Misp, "email-reply-to", Is(Email)),
    (Misp, "md5", Is(Md5)),
    (Misp, "sha1", Is(Sha1)),
    (Misp, "sha224", Is(Sha224)),
    (Misp, "sha256", Is(Sha256)),
    (Misp, "sha384", Is(Sha384)),
    (Misp, "sha512", Is(Sha512)),
    (Zeek, "Intel::ADDR", Ip),
    (Zeek, "Intel::SUBNET", Ip),
    // Subdomains included, as MISP's `domain`; the reader has an option for Zeek's own
    // exact-host meaning.
    (Zeek, "Intel::DOMAIN", Is(Domain)),
    (Zeek, "Intel::URL", Is(Url)),
    (Zeek, "Intel::EMAIL", Is(Email)),
    (Zeek, "Intel::FILE_HASH", Hash),
    (Zeek, "Intel::CERT_HASH", Hash),
    (Zeek, "Intel::FILE_NAME", Is(Kind::String)),
    (Zeek, "Intel::SOFTWARE", Is(Kind::String)),
    (Zeek, "Intel::USER_NAME", Is(Kind::String)),
    (Stix, "ipv4-addr", Is(Ipv4)),
    (Stix, "ipv6-addr", Is(Ipv6)),
    (Stix, "domain-name", Is(Domain)),
    (Stix, "url", Is(Url)),
    (Stix, "email-addr", Is(Email)),
    // `ip` is v4 or v6, and `hash` any digest: the value says which.
    (Csv, "ip", Inferred),
    (Csv, "ip-src", Inferred),
    (Csv, "ip-dst", Inferred),
    (Csv, "ip-addr", Inferred),
    (Csv, "hash", Inferred),
    (Csv, "filehash", Inferred),
    // NOTE: other tools' CSV exports write whole URLs under `uri`, MISP bare paths. Either
    // infers right: a value with a scheme or a host is a url, a path a string.
    (Csv, "uri", Inferred),
    (Csv, "ipv4-addr", Is(Ipv4)),
    (Csv, "ipv6-addr", Is(Ipv6)),
    (Csv, "domain-name", Is(Domain)),
    (Csv, "fqdn", Is(Domain)),
    (Csv, "email-addr", Is(Email)),
    (Csv, "email-src", Is(Email)),
    (Csv, "email-dst", Is(Email)),
    (Csv, "sha-1", Is(Sha1)),
    (Csv, "sha-224", Is(Sha224)),
    (Csv, "sha-256", Is(Sha256)),
    (Csv, "sha-384", Is(Sha384)),
    (Csv, "sha-512", Is(Sha512)),
];

/// What the values of the type `name` of `vocabulary` are; `None` when we do not read it.
pub(crate) fn type_kind(vocabulary: Vocabulary, name: &str) -> Option<TypeKind> {
    TYPES.iter().find(|&&(v, n, _)| v == vocabulary && n == name).map(|&(_, _, kind)| kind)
}

/// Why a value of the `Hash` type `type_name` is none: its length is no digest's.
pub(crate) fn bad_hash_length(type_name: &str, value: &str) -> String {
    format!("{type_name} {value:?} has {} characters: a hash has 32, 40, 56, 64, 96 or 128", value.len())
}

impl TypeKind {
    /// The kind of `value` under this type; `Ok(None)` leaves it to inference.
    ///
    /// # Errors
    /// A value of a `Hash` type whose length is no digest's.
    pub(crate) fn kind_of(self, value: &str) -> Result<Option<Kind>, ()> {
        match self {
            Is(kind) => Ok(Some(kind)),
            Ip if value.contains(':') => Ok(Some(Ipv6)),
            Ip => Ok(Some(Ipv4)),
            Hash => Kind::hash_of_hex_len(value.len()).map(Some).ok_or(()),
            Inferred => Ok(None),
        }
    }

    /// Every kind a value of this type can have.
    pub(crate) fn kinds(self) -> &'static [Kind] {
        match self {
            Is(kind) => {
                let at = Kind::ALL.iter().position(|&k| k == kind).expect("every kind is in ALL");
                &Kind::ALL[at..=at]
            }
            Ip => &[Ipv4, Ipv6],
            Hash => &[Md5, Sha1, Sha224, Sha256, Sha384, Sha512],
            Inferred => &Kind::ALL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names() {
        #[rustfmt::skip]
        let rows: &[(&str, Vocabulary, &str, Option<TypeKind>)] = &[
            ("type010", Misp, "ip-dst", Some(Ip)),
            ("type020", Misp, "domain", Some(Is(Domain))),
            ("type030", Misp, "hostname", Some(Is(Hostname))),
            ("type040", Misp, "uri", Some(Is(Kind::String))),
            ("type050", Misp, "url", Some(Is(Url))),
            ("type060", Misp, "sha224", Some(Is(Sha224))),
            ("type070", Misp, "email-reply-to", Some(Is(Email))),
            // Composite types are split by the reader, not named here.
            ("type080", Misp, "domain|ip", None),
            ("type090", Misp, "link", None),
            ("type100", Misp, "ssdeep", None),
            ("type110", Misp, "Intel::ADDR", None),
            ("type120", Zeek, "Intel::SUBNET", Some(Ip)),
            ("type130", Zeek, "Intel::DOMAIN", Some(Is(Domain))),
            ("type140", Zeek, "Intel::CERT_HASH", Some(Hash)),
            ("type150", Zeek, "Intel::USER_NAME", Some(Is(Kind::String))),
            ("type160", Zeek, "Intel::PUBKEY_HASH", None),
            ("type170", Zeek, "domain", None),
            ("type180", Stix, "domain-name", Some(Is(Domain))),
            ("type190", Stix, "ipv6-addr", Some(Is(Ipv6))),
            ("type200", Stix, "file", None),
            ("type210", Csv, "uri", Some(Inferred)),
            ("type220", Csv, "fqdn", Some(Is(Domain))),
            ("type230", Csv, "sha-256", Some(Is(Sha256))),
            ("type240", Csv, "SHA-256", None),
            ("type250", Csv, "link", None),
        ];
        for &(id, vocabulary, name, want) in rows {
            assert_eq!(type_kind(vocabulary, name), want, "row {id}");
        }
    }

    #[test]
    fn kinds_of_values() {
        type Want = Result<Option<Kind>, ()>;
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        #[rustfmt::skip]
        let rows: &[(&str, TypeKind, &str, Want)] = &[
            ("value010", Ip, "10.0.0.0/8", Ok(Some(Ipv4))),
            ("value020", Ip, "2001:db8::/32", Ok(Some(Ipv6))),
            ("value030", Ip, "evil.example", Ok(Some(Ipv4))),
            ("value040", Hash, md5, Ok(Some(Md5))),
            ("value050", Hash, "abc", Err(())),
            ("value060", Is(Url), "x", Ok(Some(Url))),
            ("value070", Inferred, "x", Ok(None)),
        ];
        for &(id, kind, value, want) in rows {
            assert_eq!(kind.kind_of(value), want, "row {id}");
        }
        assert_eq!(Is(Sha1).kinds(), &[Sha1]);
        assert_eq!(Ip.kinds(), &[Ipv4, Ipv6]);
        assert_eq!(Inferred.kinds(), &Kind::ALL);
    }
}
