//! A Zeek intel.log, written as Zeek's ASCII log writer writes one with the Intel
//! framework's base scripts loaded (docs/semantics.md §9.6): the same header lines, the
//! same 15 columns (`fuid`, `file_mime_type` and `file_desc` come from the framework's
//! file support, which Zeek always loads), the same escapes, so that `zeek-cut` and
//! every Zeek log reader take it.
//!
//! What differs from a log Zeek wrote, and why:
//! - `#open` and `#close` are in UTC (Zeek writes local time): output that does not
//!   depend on the machine's time zone;
//! - `id.*`, `seen.node` and the file columns are unset: a hit knows its connection's
//!   uid but not its addresses, and no Zeek node saw it;
//! - the sets `matched` and `sources` are sorted (Zeek writes them in hash order).

use std::io::{self, Write};

use crate::index::Index;
use crate::indicator::{Indicator, Kind, Timestamp};
use crate::scan::FileHit;
use crate::time::{format_epoch_seconds, format_zeek_date};
use crate::zeek_tsv::write_log_field;

/// The column names, as Zeek's `Intel::Info` record logs them.
const FIELDS: [&str; 15] = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "seen.indicator",
    "seen.indicator_type",
    "seen.where",
    "seen.node",
    "matched",
    "sources",
    "fuid",
    "file_mime_type",
    "file_desc",
];

/// The column types, in the order of [`FIELDS`].
const TYPES: [&str; 15] = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "string",
    "enum",
    "enum",
    "string",
    "set[enum]",
    "set[string]",
    "string",
    "string",
    "string",
];

/// The log field of a hit → Zeek's `Intel::Where` value for data seen there, after the
/// `Intel::seen` calls of Zeek's `policy/frameworks/intel/seen` scripts. Zeek TSV and
/// JSON logs share their field names; Suricata EVE fields are the dotted paths. Any
/// other field, and plain text, is `Intel::IN_ANYWHERE`.
const WHERE: &[(&str, &str)] = &[
    ("id.orig_h", "Conn::IN_ORIG"),
    ("src_ip", "Conn::IN_ORIG"),
    ("id.resp_h", "Conn::IN_RESP"),
    ("dest_ip", "Conn::IN_RESP"),
    ("query", "DNS::IN_REQUEST"),
    ("dns.rrname", "DNS::IN_REQUEST"),
    ("dns.query.rrname", "DNS::IN_REQUEST"),
    ("answers", "DNS::IN_RESPONSE"),
    ("dns.rdata", "DNS::IN_RESPONSE"),
    ("dns.answers.rdata", "DNS::IN_RESPONSE"),
    ("host", "HTTP::IN_HOST_HEADER"),
    ("http.hostname", "HTTP::IN_HOST_HEADER"),
    ("host+uri", "HTTP::IN_URL"),
    ("uri", "HTTP::IN_URL"),
    ("http.url", "HTTP::IN_URL"),
    ("referrer", "HTTP::IN_REFERRER_HEADER"),
    ("http.http_refer", "HTTP::IN_REFERRER_HEADER"),
    ("user_agent", "HTTP::IN_USER_AGENT_HEADER"),
    ("http.http_user_agent", "HTTP::IN_USER_AGENT_HEADER"),
    ("server_name", "SSL::IN_SERVER_NAME"),
    ("tls.sni", "SSL::IN_SERVER_NAME"),
    ("md5", "Files::IN_HASH"),
    ("sha1", "Files::IN_HASH"),
    ("sha256", "Files::IN_HASH"),
    ("fileinfo.md5", "Files::IN_HASH"),
    ("fileinfo.sha1", "Files::IN_HASH"),
    ("fileinfo.sha256", "Files::IN_HASH"),
    ("filename", "Files::IN_NAME"),
    ("fileinfo.filename", "Files::IN_NAME"),
    ("mailfrom", "SMTP::IN_MAIL_FROM"),
    ("rcptto", "SMTP::IN_RCPT_TO"),
    ("from", "SMTP::IN_FROM"),
    ("to", "SMTP::IN_TO"),
    ("cc", "SMTP::IN_CC"),
    ("reply_to", "SMTP::IN_REPLY_TO"),
    ("x_originating_ip", "SMTP::IN_X_ORIGINATING_IP_HEADER"),
    ("san.dns", "X509::IN_CERT"),
    ("san.email", "X509::IN_CERT"),
    ("fingerprint", "X509::IN_CERT"),
    ("host_key", "SSH::IN_SERVER_HOST_KEY"),
];

/// Fields whose hashes are certificate hashes (`Intel::CERT_HASH`); a hash anywhere
/// else is a `Intel::FILE_HASH`.
const CERT_HASH_FIELDS: &[&str] =
    &["fingerprint", "cert_chain_fps", "client_cert_chain_fps", "tls.fingerprint"];

/// Fields whose strings are file names (`Intel::FILE_NAME`) or user names
/// (`Intel::USER_NAME`); a string anywhere else is `Intel::SOFTWARE`, as the intel file
/// export writes strings (Zeek matches user agents, the most common string indicator,
/// as software).
const STRING_TYPES: &[(&str, &str)] = &[
    ("filename", "Intel::FILE_NAME"),
    ("orig_filenames", "Intel::FILE_NAME"),
    ("resp_filenames", "Intel::FILE_NAME"),
    ("fileinfo.filename", "Intel::FILE_NAME"),
    ("username", "Intel::USER_NAME"),
    ("user", "Intel::USER_NAME"),
];

/// Writes the header, opened at `at`.
pub(super) fn write_header(out: &mut impl Write, at: Timestamp) -> io::Result<()> {
    // `#separator` is the one line written with a space: it defines the separator.
    out.write_all(
        b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tintel\n",
    )?;
    writeln!(out, "#open\t{}", format_zeek_date(at))?;
    writeln!(out, "#fields\t{}", FIELDS.join("\t"))?;
    writeln!(out, "#types\t{}", TYPES.join("\t"))
}

/// Writes the last line, closed at `at`.
pub(super) fn write_close(out: &mut impl Write, at: Timestamp) -> io::Result<()> {
    writeln!(out, "#close\t{}", format_zeek_date(at))
}

/// Writes one row: `hit` at its `ts`, else at `clock`.
pub(super) fn write_row(
    out: &mut impl Write,
    index: &Index,
    hit: &FileHit,
    clock: Timestamp,
) -> io::Result<()> {
    let field = hit.field.as_deref();
    let records: Vec<Indicator<'_>> = hit.indicators.iter().map(|&id| index.indicator(id)).collect();
    write!(out, "{}\t", format_epoch_seconds(hit.ts.unwrap_or(clock)))?;
    match &hit.uid {
        Some(uid) => write_log_field(out, uid, false)?,
        None => out.write_all(b"-")?,
    }
    out.write_all(b"\t-\t-\t-\t-\t")?;
    write_log_field(out, &hit.observed, false)?;
    let seen_type = intel_type(hit.kind, &hit.observed, field);
    let seen_where =
        field.and_then(|f| WHERE.iter().find(|(name, _)| *name == f)).map_or("Intel::IN_ANYWHERE", |w| w.1);
    // seen.node: no Zeek node saw it.
    write!(out, "\t{seen_type}\t{seen_where}\t-\t")?;
    let mut matched: Vec<&str> = records.iter().map(|r| intel_type(r.kind, r.value, field)).collect();
    write_set(out, &mut matched)?;
    out.write_all(b"\t")?;
    let mut sources: Vec<&str> =
        records.iter().filter_map(|r| r.meta.source.as_deref()).filter(|s| !s.is_empty()).collect();
    // Zeek declares `sources` with a default of the empty set, so it is never unset.
    write_set(out, &mut sources)?;
    // fuid, file_mime_type, file_desc.
    out.write_all(b"\t-\t-\t-\n")
}

/// Writes a set field: sorted, without duplicates, `(empty)` when empty.
fn write_set(out: &mut impl Write, elements: &mut Vec<&str>) -> io::Result<()> {
    elements.sort_unstable();
    elements.dedup();
    if elements.is_empty() {
        return out.write_all(b"(empty)");
    }
    for (i, element) in elements.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_log_field(out, element, true)?;
    }
    Ok(())
}

/// The `Intel::Type` of a value of `kind` seen in `field`. An address seen is an
/// `Intel::ADDR`; a record that is a network or a range matched it as an
/// `Intel::SUBNET`, as Zeek reports a subnet item's match.
fn intel_type(kind: Kind, value: &str, field: Option<&str>) -> &'static str {
    let field = field.unwrap_or_default();
    match kind {
        Kind::Ipv4 | Kind::Ipv6 if value.contains(['/', '-']) => "Intel::SUBNET",
        Kind::Ipv4 | Kind::Ipv6 => "Intel::ADDR",
        Kind::Domain | Kind::Hostname => "Intel::DOMAIN",
        Kind::Url => "Intel::URL",
        Kind::Email => "Intel::EMAIL",
        Kind::Md5 | Kind::Sha1 | Kind::Sha224 | Kind::Sha256 | Kind::Sha384 | Kind::Sha512 => {
            if CERT_HASH_FIELDS.contains(&field) {
                "Intel::CERT_HASH"
            } else {
                "Intel::FILE_HASH"
            }
        }
        Kind::String => {
            STRING_TYPES.iter().find(|(name, _)| *name == field).map_or("Intel::SOFTWARE", |t| t.1)
        }
    }
}
