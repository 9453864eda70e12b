//! Timestamps as feeds write them, read into [`Timestamp`] (microseconds since the
//! epoch, UTC).

use std::time::UNIX_EPOCH;

use crate::indicator::Timestamp;

/// The last second of year 9999, the end of what RFC 3339 can write. Larger integers
/// are refused rather than read as seconds: they are almost always milliseconds, and
/// reading 1713261600000 as seconds would put a `valid_from` 54,000 years out, so the
/// indicator would silently never match.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;
/// The first second of year 1, the start of what RFC 3339 (and Python's `datetime`) can
/// write.
const MIN_UNIX_SECONDS: i64 = -62_135_596_800;

/// The times an index holds: years 1 to 9999, to the microsecond. Every time read from a
/// feed, given to the builder or loaded from a file is checked against it, so that every
/// stored time converts to a date without overflow.
pub(crate) const TIMESTAMPS: std::ops::RangeInclusive<Timestamp> =
    MIN_UNIX_SECONDS * 1_000_000..=MAX_UNIX_SECONDS * 1_000_000 + 999_999;

/// Integer Unix seconds within [`TIMESTAMPS`]. No `abs()`: it overflows on `i64::MIN`.
fn in_unix_range(seconds: &i64) -> bool {
    (MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS).contains(seconds)
}

/// Reads integer Unix seconds, an RFC 3339 time (`2024-04-16T10:00:00Z`, `+02:00` or
/// `-01:30` offsets, `.123` fractions, a space for the `T`, no offset meaning UTC) or a
/// date alone (midnight UTC). `None` for anything else, or a time before 1970 written
/// as a date.
pub(crate) fn parse_timestamp(s: &str) -> Option<Timestamp> {
    parse(s, Offsets::Extended)
}

/// Reads a log record's time: Unix seconds with an optional fraction, as Zeek writes
/// `ts` (`1541117142.680642`, read to the microsecond, further digits cut off), or what
/// [`parse_timestamp`] reads, where the offset may also be written without its colon as
/// Suricata writes it (`2017-07-05T20:29:22.580418+0000`, ISO 8601's basic form).
pub(crate) fn parse_log_time(s: &str) -> Option<Timestamp> {
    if let Some((whole, fraction)) = s.split_once('.') {
        let digits = whole.strip_prefix('-').unwrap_or(whole);
        let is_digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        if is_digits(digits) && is_digits(fraction) {
            let seconds = whole.parse::<i64>().ok().filter(in_unix_range)?;
            let micros = fraction.bytes().chain(std::iter::repeat(b'0')).take(6);
            let micros = micros.fold(0, |n, b| n * 10 + i64::from(b - b'0'));
            let sign = if whole.starts_with('-') { -1 } else { 1 };
            return Some(seconds * 1_000_000 + sign * micros).filter(|t| TIMESTAMPS.contains(t));
        }
    }
    parse(s, Offsets::Both)
}

/// Which ways of writing a UTC offset a reader takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Offsets {
    /// `+02:00`, as RFC 3339 writes it.
    Extended,
    /// `+02:00` or `+0200`.
    Both,
}

fn parse(s: &str, offsets: Offsets) -> Option<Timestamp> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = s.parse::<i64>().ok().filter(in_unix_range)?;
        return Some(seconds * 1_000_000);
    }
    // humantime reads UTC times only (it takes `Z` or `+00:00`, and ignores any other
    // offset after a fraction), so we take the offset off and apply it ourselves.
    let (time, offset_seconds) = split_offset(s, offsets)?;
    let utc = if time.len() == "2024-04-16".len() {
        humantime::parse_rfc3339_weak(&format!("{time}T00:00:00"))
    } else {
        humantime::parse_rfc3339_weak(time)
    };
    let since_epoch = utc.ok()?.duration_since(UNIX_EPOCH).ok()?;
    let micros = i64::try_from(since_epoch.as_micros()).ok()?;
    micros.checked_sub(offset_seconds * 1_000_000).filter(|t| TIMESTAMPS.contains(t))
}

/// Splits a trailing `Z`, `+HH:MM` or `-HH:MM` (or, with [`Offsets::Both`], `+HHMM` or
/// `-HHMM`) off a date-time; the offset in seconds.
fn split_offset(s: &str, offsets: Offsets) -> Option<(&str, i64)> {
    if let Some(time) = s.strip_suffix(['Z', 'z']) {
        return Some((time, 0));
    }
    let b = s.as_bytes();
    let is_sign = |at: usize| b.len() > at && matches!(b[b.len() - at], b'+' | b'-');
    // Only after `YYYY-MM-DDTHH:MM:SS`, so that the `-16` of `2024-04-16` is a day.
    let len = if b.len() >= "2024-04-16T10:00:00+02:00".len() && is_sign(6) {
        6
    } else if offsets == Offsets::Both && b.len() >= "2024-04-16T10:00:00+0200".len() && is_sign(5) {
        5
    } else {
        return Some((s, 0));
    };
    let offset = &b[b.len() - len + 1..];
    let two =
        |d: &[u8]| d.iter().all(u8::is_ascii_digit).then(|| i64::from((d[0] - b'0') * 10 + (d[1] - b'0')));
    let (hours, minutes) = match offset {
        [h0, h1, b':', m0, m1] | [h0, h1, m0, m1] => (two(&[*h0, *h1])?, two(&[*m0, *m1])?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    let sign = if b[b.len() - len] == b'-' { -1 } else { 1 };
    // The sign byte is ASCII, so this is a char boundary.
    Some((&s[..s.len() - len], sign * (hours * 3600 + minutes * 60)))
}

/// A UTC instant broken into its civil date and time of day.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    micros: i64,
}

/// Days to a civil date after Howard Hinnant's `civil_from_days`, so that any i64
/// converts without a panic.
fn civil(micros: Timestamp) -> Civil {
    let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (hour, minute, second) = (day_secs / 3600, day_secs / 60 % 60, day_secs % 60);
    Civil { year, month, day, hour, minute, second, micros: frac }
}

/// RFC 3339 in UTC, with a fraction only when there is one: `2018-11-01T12:00:00Z`,
/// `2018-11-01T12:00:00.123456Z`.
pub(crate) fn format_rfc3339(micros: Timestamp) -> String {
    let Civil { year, month, day, hour, minute, second, micros } = civil(micros);
    if !(0..=9999).contains(&year) {
        let frac = if micros == 0 { String::new() } else { format!(".{micros:06}") };
        return format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{frac}Z");
    }
    // Digit by digit: a hit-dense scan writes a time per hit, and `format!` was most of
    // the JSON writer's cost.
    let mut out = String::with_capacity(27);
    let parts =
        [(year, 4, "-"), (month, 2, "-"), (day, 2, "T"), (hour, 2, ":"), (minute, 2, ":"), (second, 2, "")];
    for (n, width, then) in parts {
        push_digits(&mut out, n, width);
        out.push_str(then);
    }
    if micros != 0 {
        out.push('.');
        push_digits(&mut out, micros, 6);
    }
    out.push('Z');
    out
}

/// Appends `n` (not negative, below 10^width) in decimal, zero-padded to `width` digits.
fn push_digits(out: &mut String, n: i64, width: u32) {
    for place in (0..width).rev() {
        out.push(char::from(b'0' + (n / 10_i64.pow(place) % 10) as u8));
    }
}

/// The date of a Zeek log's `#open` and `#close` lines, `2018-11-01-12-00-00`, in UTC.
pub(crate) fn format_zeek_date(micros: Timestamp) -> String {
    let Civil { year, month, day, hour, minute, second, .. } = civil(micros);
    format!("{year:04}-{month:02}-{day:02}-{hour:02}-{minute:02}-{second:02}")
}

/// A Zeek `time` value: epoch seconds with six decimals, `1541117137.434664`, as Zeek's
/// ASCII writer renders it (trailing zeros kept).
pub(crate) fn format_epoch_seconds(micros: Timestamp) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_table() {
        // Seconds since the epoch, or `None` for refused.
        let rows: &[(&str, &str, Option<i64>)] = &[
            ("unix010", "1713261600", Some(1_713_261_600)),
            ("unix020", "0", Some(0)),
            ("unix030", "-3600", Some(-3600)),
            ("unix040", "253402300799", Some(253_402_300_799)),
            ("unix050", "1713261600000", None), // milliseconds
            ("unix060", "99999999999999999999", None),
            ("unix070", "1713261600.5", None),
            ("unix080", "-", None),
            // `abs()` of i64::MIN overflows: a checked range instead.
            ("unix090", "-9223372036854775808", None),
            ("unix100", "-62135596800", Some(-62_135_596_800)), // 0001-01-01
            ("unix110", "-62135596801", None),
            ("unix120", "253402300800", None),
            ("rfc170", "9999-12-31T23:59:59-01:00", None), // past year 9999 in UTC
            ("rfc010", "2024-04-16T10:00:00Z", Some(1_713_261_600)),
            ("rfc020", "2024-04-16t10:00:00z", None), // humantime wants an upper-case T
            ("rfc030", "2024-04-16 10:00:00", Some(1_713_261_600)),
            ("rfc040", "2024-04-16T10:00:00", Some(1_713_261_600)),
            ("rfc050", "2024-04-16T10:00:00.999999Z", Some(1_713_261_600)),
            ("rfc060", "2024-04-16T10:00:00+00:00", Some(1_713_261_600)),
            ("rfc070", "2024-04-16T10:00:00+02:00", Some(1_713_254_400)),
            ("rfc080", "2024-04-16T10:00:00.5+02:00", Some(1_713_254_400)),
            ("rfc090", "2024-04-16T10:00:00-01:30", Some(1_713_267_000)),
            ("rfc100", "2024-04-16T10:00:00-00:00", Some(1_713_261_600)),
            ("rfc110", "1970-01-01T00:00:00+01:00", Some(-3600)),
            ("rfc120", "2024-04-16T10:00:00+24:00", None),
            ("rfc130", "2024-04-16T10:00:00++1:00", None),
            ("rfc140", "2024-04-16T10:00:00+0200", None),
            ("rfc150", "2024-04-16T25:00:00Z", None),
            ("rfc160", "1969-12-31T23:59:59Z", None),
            ("date010", "2024-04-16", Some(1_713_225_600)),
            ("date020", "2024-02-30", None),
            ("date030", "2024-13-01", None),
            ("junk010", "yesterday", None),
            ("junk020", "", None),
            ("junk030", "Z", None),
            ("junk040", "2024-04-16T10:00:00é", None),
            ("junk050", "éééééééééééééééééééééééé+02:00", None),
        ];
        for &(id, input, want) in rows {
            let got = parse_timestamp(input);
            assert_eq!(got.map(|t| t.div_euclid(1_000_000)), want, "{id}");
        }
        assert_eq!(parse_timestamp("2024-04-16T10:00:00.5Z"), Some(1_713_261_600_500_000));
    }

    #[test]
    fn format_table() {
        // Microseconds since the epoch; RFC 3339, Zeek's header date and Zeek's `time`.
        let rows: &[(&str, i64, &str, &str, &str)] = &[
            ("fmt010", 0, "1970-01-01T00:00:00Z", "1970-01-01-00-00-00", "0.000000"),
            (
                "fmt020",
                1_541_073_600_000_000,
                "2018-11-01T12:00:00Z",
                "2018-11-01-12-00-00",
                "1541073600.000000",
            ),
            (
                "fmt030",
                1_541_073_600_123_456,
                "2018-11-01T12:00:00.123456Z",
                "2018-11-01-12-00-00",
                "1541073600.123456",
            ),
            (
                "fmt040",
                951_782_400_000_001,
                "2000-02-29T00:00:00.000001Z",
                "2000-02-29-00-00-00",
                "951782400.000001",
            ),
            ("fmt050", -1, "1969-12-31T23:59:59.999999Z", "1969-12-31-23-59-59", "-0.000001"),
            ("fmt060", -1_500_000, "1969-12-31T23:59:58.500000Z", "1969-12-31-23-59-58", "-1.500000"),
        ];
        for &(id, micros, rfc, zeek_date, epoch) in rows {
            assert_eq!(format_rfc3339(micros), rfc, "{id}");
            assert_eq!(format_zeek_date(micros), zeek_date, "{id}");
            assert_eq!(format_epoch_seconds(micros), epoch, "{id}");
        }
        for extreme in [i64::MIN, i64::MAX] {
            // No panic.
            let _ = (format_zeek_date(extreme), format_epoch_seconds(extreme));
        }
    }

    #[test]
    fn log_time_table() {
        // Microseconds, or `None` for refused.
        let rows: &[(&str, &str, Option<i64>)] = &[
            ("log010", "1541117142.680642", Some(1_541_117_142_680_642)),
            ("log020", "19.981745", Some(19_981_745)),
            ("log030", "1541117142.5", Some(1_541_117_142_500_000)),
            ("log040", "1541117142.6806429", Some(1_541_117_142_680_642)), // cut, not rounded
            ("log050", "1541117142", Some(1_541_117_142_000_000)),
            ("log060", "-1.5", Some(-1_500_000)),
            ("log070", "1541117142.", None),
            ("log080", ".5", None),
            ("log090", "1713261600000.5", None), // milliseconds
            ("log100", "1.5e9", None),
            ("log110", "-", None),
            ("log120", "2017-07-05T20:29:22.580418+0000", Some(1_499_286_562_580_418)),
            ("log130", "2021-01-27T01:28:11.488362+0100", Some(1_611_707_291_488_362)),
            ("log140", "2018-07-05T15:01:09.820360-0400", Some(1_530_817_269_820_360)),
            ("log150", "2018-07-05T15:01:09-0400", Some(1_530_817_269_000_000)),
            ("log160", "2020-06-06T06:36:39.925532Z", Some(1_591_425_399_925_532)),
            ("log170", "2018-07-05T15:01:09.820360-04:00", Some(1_530_817_269_820_360)),
            ("log180", "2018-07-05T15:01:09.820360+2400", None),
            ("log190", "2018-07-05T15:01:09.820360+04", None),
            ("log200", "2024-04-16", Some(1_713_225_600_000_000)),
            ("log210", "-9223372036854775808.5", None),
            ("log220", "-62135596800.5", None),
            ("log230", "253402300799.999999", Some(253_402_300_799_999_999)),
        ];
        for &(id, input, want) in rows {
            assert_eq!(parse_log_time(input), want, "{id}");
        }
    }
}
