//! Calendar dates at the precision a source supports: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
//!
//! Documents are dated as precisely as their sources allow and no more, so a date here may
//! lack its month or day. Labels for users never invent the missing part ("June 2022", not
//! "1 June 2022"), and a date "has passed" only once the whole period it names is over.

use std::fmt;

/// A date with optional month and day; parse with [`PartialDate::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialDate {
    year: u32,
    month: Option<u32>,
    day: Option<u32>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl PartialDate {
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a real month and a day that month has.
    pub fn parse(s: &str) -> Option<PartialDate> {
        let parts: Vec<&str> = s.trim().split('-').collect();
        let num = |p: &str, n: usize| {
            (p.len() == n && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u32>().ok())
                .flatten()
        };
        let (year, month, day) = match parts.as_slice() {
            [y] => (num(y, 4)?, None, None),
            [y, m] => (num(y, 4)?, Some(num(m, 2)?), None),
            [y, m, d] => (num(y, 4)?, Some(num(m, 2)?), Some(num(d, 2)?)),
            _ => return None,
        };
        if let Some(m) = month {
            if !(1..=12).contains(&m) {
                return None;
            }
            if let Some(d) = day {
                if d == 0 || d > days_in_month(year, m) {
                    return None;
                }
            }
        }
        Some(PartialDate { year, month, day })
    }

    /// Today in UTC, to the day.
    pub fn today() -> PartialDate {
        let (y, m, d) = civil_from_days(today_days());
        PartialDate {
            year: y.clamp(0, 9999) as u32,
            month: Some(m),
            day: Some(d),
        }
    }

    /// For people: "2022", "June 2022" or "20 June 2022".
    pub fn label(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{d} {} {}", MONTHS[m as usize - 1], self.year),
            (Some(m), None) => format!("{} {}", MONTHS[m as usize - 1], self.year),
            _ => self.year.to_string(),
        }
    }

    /// True when the whole period this date names ended before `today`: "2026-03" has passed
    /// from 1 April 2026.
    pub fn has_passed(&self, today: &PartialDate) -> bool {
        let month = self.month.unwrap_or(12);
        let last = (
            self.year,
            month,
            self.day.unwrap_or_else(|| days_in_month(self.year, month)),
        );
        let now = (today.year, today.month.unwrap_or(1), today.day.unwrap_or(1));
        last < now
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

/// How a citation dates a document: "reviewed March 2026" when it has been reviewed, else
/// "published 2022"; the raw text when a date does not parse (it was validated at load).
pub fn document_date(published: &str, reviewed: Option<&str>) -> String {
    let label = |s: &str| PartialDate::parse(s).map_or_else(|| s.to_string(), |d| d.label());
    match reviewed {
        Some(r) => format!("reviewed {}", label(r)),
        None => format!("published {}", label(published)),
    }
}

/// True when a document's `review_due` (validated at load) has passed by `today`.
pub fn review_overdue(review_due: Option<&str>, today: &PartialDate) -> bool {
    review_due
        .and_then(PartialDate::parse)
        .is_some_and(|d| d.has_passed(today))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Today (UTC) as days since 1970-01-01.
pub(crate) fn today_days() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    (secs / 86_400) as i64
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> PartialDate {
        PartialDate::parse(s).unwrap()
    }

    #[test]
    fn parses_only_real_dates_at_three_precisions() {
        for good in ["2022", "2022-06", "2022-06-20", "2024-02-29"] {
            assert_eq!(d(good).to_string(), good);
        }
        for bad in [
            "",
            "22",
            "2022-6",
            "2022-13",
            "2022-00",
            "2023-02-29",
            "2022-04-31",
            "2022-06-20-1",
            "June 2022",
            "２０２２",
        ] {
            assert_eq!(PartialDate::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn labels_never_invent_precision() {
        assert_eq!(d("2022").label(), "2022");
        assert_eq!(d("2026-03").label(), "March 2026");
        assert_eq!(d("2022-06-20").label(), "20 June 2022");
    }

    #[test]
    fn a_date_passes_when_its_whole_period_is_over() {
        let today = d("2026-04-01");
        assert!(d("2026-03").has_passed(&today));
        assert!(d("2025").has_passed(&today));
        assert!(!d("2026-04").has_passed(&today));
        assert!(!d("2026").has_passed(&today));
        assert!(d("2026-03-31").has_passed(&today));
        assert!(!d("2026-04-01").has_passed(&today));
    }

    #[test]
    fn civil_dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(civil_from_days(20_782), (2026, 11, 25));
    }
}
