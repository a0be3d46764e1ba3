//! HTTP dates (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime forms a
//! recipient must accept. Times are milliseconds since the Unix epoch.

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn month(name: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| *m == name)
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn number(s: &str, max: u32) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse::<u32>().ok())
        .flatten()
        .filter(|n| *n <= max)
}

fn time_of_day(s: &str) -> Option<u32> {
    let mut parts = s.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.len() != 2 || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    Some(number(h, 23)? * 3600 + number(m, 59)? * 60 + number(sec, 60)?)
}

fn to_ms(year: i64, month: u32, day: u32, seconds: u32) -> Option<u64> {
    if !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    u64::try_from(days * 86_400 + i64::from(seconds))
        .ok()
        .map(|s| s * 1000)
}

/// Parses an HTTP date; `None` for anything else (an invalid `Expires` means "already
/// expired", which the caller decides).
#[must_use]
pub fn parse_http_date(raw: &str) -> Option<u64> {
    let parts: Vec<&str> = raw.split_ascii_whitespace().collect();
    match parts.as_slice() {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        [_, day, mon, year, time, "GMT"] if day.len() == 2 && year.len() == 4 => to_ms(
            i64::from(number(year, 9999)?),
            month(mon)?,
            number(day, 31)?,
            time_of_day(time)?,
        ),
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years: within 50 years).
        [_, date, time, "GMT"] => {
            let mut d = date.split('-');
            let (day, mon, yy) = (d.next()?, d.next()?, d.next()?);
            let yy = i64::from(number(yy, 99).filter(|_| yy.len() == 2)?);
            let year = if yy < 70 { 2000 + yy } else { 1900 + yy };
            to_ms(year, month(mon)?, number(day, 31)?, time_of_day(time)?)
        }
        // asctime: Sun Nov  6 08:49:37 1994
        [_, mon, day, time, year] if year.len() == 4 => to_ms(
            i64::from(number(year, 9999)?),
            month(mon)?,
            number(day, 31)?,
            time_of_day(time)?,
        ),
        _ => None,
    }
}

fn push_two(out: &mut String, n: u32) {
    out.push(char::from(b'0' + u8::try_from(n / 10 % 10).unwrap_or(0)));
    out.push(char::from(b'0' + u8::try_from(n % 10).unwrap_or(0)));
}

/// Formats milliseconds since the epoch as an IMF-fixdate.
#[must_use]
pub fn format_http_date(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX / 2);
    let days = secs.div_euclid(86_400);
    let tod = u32::try_from(secs.rem_euclid(86_400)).unwrap_or(0);
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(29);
    out.push_str(DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)]);
    out.push_str(", ");
    push_two(&mut out, day);
    out.push(' ');
    out.push_str(MONTHS[(month as usize).saturating_sub(1) % 12]);
    out.push(' ');
    crate::json::write_u64(&mut out, u64::try_from(year).unwrap_or(0));
    out.push(' ');
    push_two(&mut out, tod / 3600);
    out.push(':');
    push_two(&mut out, tod / 60 % 60);
    out.push(':');
    push_two(&mut out, tod % 60);
    out.push_str(" GMT");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOV_6_1994: u64 = 784_111_777_000;

    #[test]
    fn the_three_forms() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(NOV_6_1994)
        );
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(NOV_6_1994)
        );
        assert_eq!(
            parse_http_date("Sun Nov  6 08:49:37 1994"),
            Some(NOV_6_1994)
        );
        assert_eq!(
            format_http_date(NOV_6_1994),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn garbage_is_none() {
        for bad in [
            "",
            "0",
            "-1",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "tomorrow",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(secs in 0u64..253_402_300_799) {
            let ms = secs * 1000;
            prop_assert_eq!(parse_http_date(&format_http_date(ms)), Some(ms));
        }
    }
}
