//! Allowlists (MISP warninglists): known-benign values that must not become indicators,
//! however many feeds list them. They apply at build time, so a suppressed value costs
//! nothing at match time.

use rustc_hash::FxHashSet;
use serde_json::Value;

use crate::entries::Entry;
use crate::error::FeedError;
use crate::feed;
use crate::indicator::Kind;
use crate::normalize::{self, IpRange};

/// How a list's values cover an indicator (the `type` of a MISP warninglist).
#[derive(Clone, Debug)]
enum Rule {
    /// The canonical value (for URLs and e-mail addresses, also the host) equals a value.
    Exact(FxHashSet<String>),
    /// The canonical value contains a value.
    Substring(Vec<String>),
    /// The host is a listed name or a subdomain of one; a listed public suffix covers
    /// only itself.
    Hostname {
        /// Names that cover themselves and their subdomains.
        with_subdomains: FxHashSet<String>,
        /// Public suffixes (`github.io`, `pages.dev`): anyone may register a name below
        /// one, so a top-sites list that holds `github.io` vouches for no page under it.
        exact: FxHashSet<String>,
    },
    /// The addresses of the indicator all lie in the listed networks (merged, sorted).
    Cidr {
        v4: Vec<(u32, u32)>,
        v6: Vec<(u128, u128)>,
    },
    Regex(Vec<regex_lite::Regex>),
}

/// A named allowlist: the kinds it applies to and how its values cover them.
#[derive(Clone, Debug)]
pub struct Allowlist {
    name: String,
    /// Each rule with the kinds it applies to.
    rules: Vec<(Vec<Kind>, Rule)>,
    /// Values of the list that are no valid value of their type, left out.
    invalid: usize,
}

/// The kinds a warninglist whose `matching_attributes` are `types` applies to: the kinds
/// the MISP reader loads those types as, `domain` and `hostname` alike (a list of names
/// vouches for a name whichever way a feed filed it). All kinds when it names no type.
fn kinds_of_misp_types<'a>(types: impl IntoIterator<Item = &'a str>) -> Vec<Kind> {
    let mut named = false;
    let mut kinds: Vec<Kind> = Vec::new();
    for misp_type in types {
        named = true;
        for kind in feed::kinds_of_misp_type(misp_type) {
            match kind {
                Kind::Domain | Kind::Hostname => kinds.extend([Kind::Domain, Kind::Hostname]),
                kind => kinds.push(kind),
            }
        }
    }
    if !named {
        return Kind::ALL.to_vec();
    }
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// The host of a canonical URL or e-mail address, or the name itself.
fn host_of<'a>(entry: &Entry<'a>) -> Option<&'a str> {
    match entry.kind {
        Kind::Domain | Kind::Hostname => Some(entry.value),
        Kind::Url => Some(&entry.value[..crate::build::tables::url_host_len(entry.value)]),
        Kind::Email => entry.value.rsplit_once('@').map(|(_, host)| host),
        _ => None,
    }
}

impl Allowlist {
    /// Reads a MISP warninglist (`name`, `type`, `list`, `matching_attributes`).
    ///
    /// # Errors
    /// When the JSON is not a warninglist, or its type is unknown.
    pub fn from_misp_json(data: &[u8], source: &str) -> Result<Allowlist, FeedError> {
        let bad = |message: String| FeedError::new(source, None, "invalid warninglist", message);
        let doc: Value = serde_json::from_slice(data).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let name = doc["name"].as_str().unwrap_or(source).to_string();
        let list_type = doc["type"].as_str().ok_or_else(|| bad("no \"type\"".into()))?;
        let values: Vec<&str> = match doc["list"].as_array() {
            Some(list) => list.iter().filter_map(Value::as_str).collect(),
            None => return Err(bad("no \"list\" array".into())),
        };
        let types = doc["matching_attributes"].as_array().into_iter().flatten().filter_map(Value::as_str);
        let kinds = kinds_of_misp_types(types);
        Allowlist::new(name, list_type, &values, kinds).map_err(bad)
    }

    /// A list of `values` of one warninglist `list_type` (`string`, `substring`,
    /// `hostname`, `cidr`, `regex`) that applies to `kinds`. A `hostname` value covers
    /// itself and its subdomains, except that a public suffix (`github.io`, `pages.dev`,
    /// `co.uk`) covers only itself.
    ///
    /// # Errors
    /// When the type is unknown or a regex does not compile.
    pub fn new(
        name: String,
        list_type: &str,
        values: &[&str],
        kinds: Vec<Kind>,
    ) -> Result<Allowlist, String> {
        let (rule, invalid) = Rule::new(list_type, values)?;
        Ok(Allowlist { name, rules: vec![(kinds, rule)], invalid })
    }

    /// A list of bare values, each covering what it names: an address or network covers
    /// the addresses and networks inside it, a host name covers itself and its
    /// subdomains (a public suffix such as `github.io` only itself), any other value
    /// covers itself.
    pub fn from_values(name: String, values: &[&str]) -> Allowlist {
        let (mut nets, mut hosts, mut exact, mut invalid) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for &value in values {
            match normalize::normalize(value, None, false).map(|n| n.kind) {
                Ok(Kind::Ipv4 | Kind::Ipv6) => nets.push(value),
                Ok(Kind::Domain | Kind::Hostname) => hosts.push(value),
                Ok(_) => exact.push(value),
                Err(_) => invalid += 1,
            }
        }
        let rules = [("cidr", nets), ("hostname", hosts), ("string", exact)]
            .into_iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(list_type, values)| {
                let (rule, bad) = Rule::new(list_type, &values).expect("these types need no regex");
                invalid += bad;
                (Kind::ALL.to_vec(), rule)
            })
            .collect();
        Allowlist { name, rules, invalid }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same list under another name.
    pub fn renamed(self, name: String) -> Allowlist {
        Allowlist { name, ..self }
    }

    /// How many values of the list were no valid value of their type, and left out.
    pub fn invalid_values(&self) -> usize {
        self.invalid
    }

    /// Whether this list covers `entry`.
    pub(crate) fn covers(&self, entry: &Entry) -> bool {
        self.rules.iter().any(|(kinds, rule)| kinds.contains(&entry.kind) && rule.covers(entry))
    }
}

impl Rule {
    /// The rule of a warninglist type, and how many values were invalid.
    fn new(list_type: &str, values: &[&str]) -> Result<(Rule, usize), String> {
        let mut invalid = 0;
        let rule = match list_type {
            "string" => Rule::Exact(values.iter().map(|v| v.trim().to_lowercase()).collect()),
            "substring" => Rule::Substring(values.iter().map(|v| v.trim().to_lowercase()).collect()),
            "hostname" => {
                let (mut with_subdomains, mut exact) = (FxHashSet::default(), FxHashSet::default());
                for value in values {
                    // MISP writes ".example.com" for "example.com and below": that is what
                    // a hostname list means anyway.
                    let value = value.trim().trim_start_matches('.');
                    match normalize::normalize(value, Some(Kind::Hostname), false) {
                        Ok(n) if normalize::is_public_suffix(&n.value) => exact.insert(n.value),
                        Ok(n) => with_subdomains.insert(n.value),
                        Err(_) => {
                            invalid += 1;
                            continue;
                        }
                    };
                }
                Rule::Hostname { with_subdomains, exact }
            }
            "cidr" => {
                let (mut v4, mut v6) = (Vec::new(), Vec::new());
                for value in values {
                    match normalize::normalize(value, None, false).ok().and_then(|n| n.ip) {
                        Some(IpRange::V4 { first, last }) => v4.push((first, last)),
                        Some(IpRange::V6 { first, last }) => v6.push((first, last)),
                        None => invalid += 1,
                    }
                }
                Rule::Cidr { v4: merged(v4), v6: merged(v6) }
            }
            "regex" => Rule::Regex(
                values
                    .iter()
                    .map(|v| regex_lite::Regex::new(v).map_err(|e| format!("regex {v:?}: {e}")))
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("unknown warninglist type {other:?}")),
        };
        Ok((rule, invalid))
    }

    fn covers(&self, entry: &Entry) -> bool {
        match self {
            Rule::Exact(values) => {
                values.contains(entry.value) || host_of(entry).is_some_and(|host| values.contains(host))
            }
            Rule::Substring(parts) => parts.iter().any(|p| entry.value.contains(p.as_str())),
            Rule::Hostname { with_subdomains, exact } => host_of(entry).is_some_and(|host| {
                if exact.contains(host) {
                    return true;
                }
                let mut suffix = host;
                loop {
                    if with_subdomains.contains(suffix) {
                        return true;
                    }
                    match suffix.find('.') {
                        Some(dot) => suffix = &suffix[dot + 1..],
                        None => return false,
                    }
                }
            }),
            Rule::Cidr { v4, v6 } => match entry.ip {
                Some(IpRange::V4 { first, last }) => within(v4, first, last),
                Some(IpRange::V6 { first, last }) => within(v6, first, last),
                None => false,
            },
            Rule::Regex(patterns) => patterns.iter().any(|re| re.is_match(entry.value)),
        }
    }
}

/// Sorts ranges and merges the overlapping and adjacent ones.
fn merged<T: Copy + Ord + crate::build::ip::Address>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    ranges.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match out.last_mut() {
            Some((_, end)) if end.successor().is_none_or(|next| first <= next) => *end = (*end).max(last),
            _ => out.push((first, last)),
        }
    }
    out
}

/// Whether `[first, last]` lies inside one of the merged `ranges`.
fn within<T: Copy + Ord>(ranges: &[(T, T)], first: T, last: T) -> bool {
    let i = ranges.partition_point(|&(start, _)| start <= first);
    i > 0 && last <= ranges[i - 1].1
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP_KINDS: [Kind; 2] = [Kind::Ipv4, Kind::Ipv6];

    fn covers(list: &Allowlist, kind: Kind, value: &str) -> bool {
        let n = normalize::normalize(value, Some(kind), false).unwrap();
        list.covers(&Entry { kind: n.kind, value: &n.value, ip: n.ip })
    }

    #[test]
    fn rules_cover_what_warninglists_mean() {
        let all = Kind::ALL.to_vec();
        let hosts =
            Allowlist::new("top".into(), "hostname", &[".example.com", "b.test"], all.clone()).unwrap();
        let nets = Allowlist::new(
            "nets".into(),
            "cidr",
            &["10.0.0.0/8", "11.0.0.0/8", "2001:db8::/32", "x"],
            all.clone(),
        )
        .unwrap();
        let exact = Allowlist::new(
            "fp".into(),
            "string",
            &["D41D8CD98F00B204E9800998ECF8427E", "a.example"],
            all.clone(),
        )
        .unwrap();
        let sub = Allowlist::new("sub".into(), "substring", &["googleusercontent"], all.clone()).unwrap();
        let re = Allowlist::new("re".into(), "regex", &[r"^cdn\d+\."], all.clone()).unwrap();
        let only_ips = Allowlist::new("ips".into(), "cidr", &["0.0.0.0/0"], IP_KINDS.to_vec()).unwrap();
        // A top-sites list: public suffixes among the names vouch only for themselves.
        let top_sites = ["github.io", ".pages.dev", "example.com", "co.uk", "s3.us-east-1.amazonaws.com"];
        let sites = Allowlist::new("sites".into(), "hostname", &top_sites, all.clone()).unwrap();
        let bare = Allowlist::from_values("bare".into(), &top_sites);
        let rows: &[(&str, &Allowlist, Kind, &str, bool)] = &[
            ("allow010", &hosts, Kind::Domain, "example.com", true),
            ("allow020", &hosts, Kind::Hostname, "mail.example.com", true),
            ("allow030", &hosts, Kind::Domain, "notexample.com", false),
            ("allow040", &hosts, Kind::Url, "http://x.b.test/a", true),
            ("allow050", &hosts, Kind::Email, "a@b.test", true),
            ("allow060", &nets, Kind::Ipv4, "10.1.2.3", true),
            ("allow070", &nets, Kind::Ipv4, "10.0.0.0/7", true),
            ("allow080", &nets, Kind::Ipv4, "9.0.0.0/7", false),
            ("allow090", &nets, Kind::Ipv6, "2001:db8:1::/48", true),
            ("allow100", &nets, Kind::Ipv6, "2001:db9::1", false),
            ("allow110", &exact, Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e", true),
            ("allow120", &exact, Kind::Domain, "b.a.example", false),
            ("allow130", &exact, Kind::Url, "http://a.example/x", true),
            ("allow140", &sub, Kind::Hostname, "x.googleusercontent.com", true),
            ("allow150", &re, Kind::Domain, "cdn12.example", true),
            ("allow160", &re, Kind::Domain, "xcdn12.example", false),
            ("allow170", &only_ips, Kind::Domain, "example.com", false),
            ("allow180", &sites, Kind::Domain, "github.io", true),
            ("allow190", &sites, Kind::Domain, "evil.github.io", false),
            ("allow200", &sites, Kind::Hostname, "a.evil.github.io", false),
            ("allow210", &sites, Kind::Url, "https://evil.pages.dev/login", false),
            ("allow220", &sites, Kind::Url, "https://pages.dev/", true),
            ("allow230", &sites, Kind::Domain, "a.example.com", true),
            ("allow240", &sites, Kind::Domain, "bank.co.uk", false),
            ("allow250", &sites, Kind::Hostname, "evil.s3.us-east-1.amazonaws.com", false),
            ("allow260", &sites, Kind::Email, "a@evil.github.io", false),
            ("allow270", &bare, Kind::Domain, "evil.github.io", false),
            ("allow280", &bare, Kind::Domain, "github.io", true),
            ("allow290", &bare, Kind::Hostname, "a.example.com", true),
        ];
        for &(id, list, kind, value, want) in rows {
            assert_eq!(covers(list, kind, value), want, "row {id}");
        }
        assert_eq!(nets.invalid_values(), 1);
        let mixed = Allowlist::from_values(
            "mine".into(),
            &["10.0.0.0/8", "example.com", "d41d8cd98f00b204e9800998ecf8427e", "0x1"],
        );
        assert!(covers(&mixed, Kind::Ipv4, "10.9.9.9"));
        assert!(covers(&mixed, Kind::Hostname, "a.example.com"));
        assert!(covers(&mixed, Kind::Md5, "D41D8CD98F00B204E9800998ECF8427E"));
        assert!(!covers(&mixed, Kind::Ipv4, "11.0.0.1"));
    }

    #[test]
    fn matching_attributes_name_kinds() {
        use Kind::{Domain, Email, Hostname, Ipv4, Ipv6, Sha256, Url};
        #[rustfmt::skip]
        let rows: &[(&str, &[&str], &[Kind])] = &[
            ("match010", &["ip-src", "ip-dst|port"], &[Ipv4, Ipv6]),
            ("match020", &["domain"], &[Domain, Hostname]),
            ("match030", &["hostname|port"], &[Domain, Hostname]),
            ("match040", &["domain|ip"], &[Ipv4, Ipv6, Domain, Hostname]),
            // MISP's `uri` is a path, loaded as a string: the reader and the list agree.
            ("match050", &["url", "uri"], &[Url, Kind::String]),
            ("match060", &["filename|sha256"], &[Sha256, Kind::String]),
            ("match070", &["email-reply-to"], &[Email]),
            // Types we never load: the list covers nothing of ours, not everything.
            ("match080", &["ssdeep", "link"], &[]),
            ("match090", &[], &Kind::ALL),
        ];
        for &(id, types, want) in rows {
            let mut want = want.to_vec();
            want.sort_unstable();
            assert_eq!(kinds_of_misp_types(types.iter().copied()), want, "row {id}");
        }
    }

    #[test]
    fn misp_warninglist_json() {
        let json = br#"{"name": "RFC 1918", "type": "cidr", "list": ["10.0.0.0/8", "192.168.0.0/16"],
                        "matching_attributes": ["ip-src", "ip-dst"]}"#;
        let list = Allowlist::from_misp_json(json, "rfc1918.json").unwrap();
        assert_eq!(list.name(), "RFC 1918");
        assert!(covers(&list, Kind::Ipv4, "192.168.1.1"));
        assert!(Allowlist::from_misp_json(b"{}", "x.json").is_err());
        assert!(Allowlist::from_misp_json(br#"{"type": "odd", "list": []}"#, "x.json").is_err());
    }
}
