//! Years a question names: a question about a year its best passage never mentions is about
//! something the documents do not say ("what was the sickness absence rate in 2024" finds the
//! 2009 rate; "when is the 26/27 planning guidance out" finds the 2024/25 guidance).
//!
//! Invariants:
//! - A year counts as mentioned when it appears in the passage, its section path, its
//!   document's title or its date: "the 2020 plan" is answered from a passage of "NHS People
//!   Plan 2020/21" that does not repeat the year.
//! - Only plausible years are read (1990-2039), as a whole number: never part of a word
//!   ("NG2020"), of a number with a separator ("1,000", "2.5") or a percentage.
//! - Financial years name both years: "2024/25", "2024-25" and "24/25" name 2024 and 2025; a
//!   date ("2022-06-20") names only its year.

/// First and last year read as a year.
const YEARS: std::ops::RangeInclusive<u16> = 1990..=2039;

/// The years `text` names, in order of first mention, each once.
pub fn years_in(text: &str) -> Vec<u16> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<u16> = Vec::new();
    let mut push = |y: u16| {
        if YEARS.contains(&y) && !out.contains(&y) {
            out.push(y);
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let joined = i > 0 && (chars[i - 1].is_alphabetic() || is_number_char(&chars, i - 1));
        if !chars[i].is_ascii_digit() || joined {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let digits: String = chars[start..i].iter().collect();
        // "1,000", "2.5", "45%": not years.
        if i < chars.len() && (chars[i] == '%' || is_number_char(&chars, i)) {
            i += 1;
            continue;
        }
        let first: u16 = digits.parse().unwrap_or(0);
        // A second year counts only as the year after the first ("2024/25"), never as the
        // month of a date ("2022-06-20").
        let financial = second_year(&chars, i) == Some((first + 1) % 100);
        match digits.len() {
            4 => {
                push(first);
                if financial {
                    push(first + 1);
                }
            }
            // "24/25": a financial year in short.
            2 if financial => {
                push(2000 + first);
                push(2001 + first);
            }
            _ => {}
        }
    }
    out
}

/// Whether the character at `at` continues a number: a digit, or a comma or point between
/// digits ("1,000", "2.5").
fn is_number_char(chars: &[char], at: usize) -> bool {
    match chars[at] {
        '0'..='9' => true,
        ',' | '.' => {
            at > 0
                && chars[at - 1].is_ascii_digit()
                && chars.get(at + 1).is_some_and(char::is_ascii_digit)
        }
        _ => false,
    }
}

/// The two-digit second year of "2024/25" or "2024-25" right after position `i`, if any.
fn second_year(chars: &[char], i: usize) -> Option<u16> {
    let sep = *chars.get(i)?;
    if !matches!(sep, '/' | '-' | '–') {
        return None;
    }
    let a = chars.get(i + 1).filter(|c| c.is_ascii_digit())?;
    let b = chars.get(i + 2).filter(|c| c.is_ascii_digit())?;
    if chars.get(i + 3).is_some_and(char::is_ascii_digit) {
        return None;
    }
    Some(a.to_digit(10)? as u16 * 10 + b.to_digit(10)? as u16)
}

/// The first of the years a question names (`asked`, from [`years_in`], read once per question)
/// that none of `context` (the passage, its section path, its document's title and date)
/// names. Nothing is read from `context` when the question names no year.
pub fn unnamed_year(asked: &[u16], context: &[&str]) -> Option<u16> {
    if asked.is_empty() {
        return None;
    }
    let named: Vec<u16> = context.iter().flat_map(|t| years_in(t)).collect();
    asked.iter().copied().find(|y| !named.contains(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_and_financial_years_are_read() {
        assert_eq!(years_in("what happened in 2009?"), vec![2009]);
        assert_eq!(years_in("the 2024/25 guidance"), vec![2024, 2025]);
        assert_eq!(years_in("2023-24 planning guidance"), vec![2023, 2024]);
        assert_eq!(years_in("when is the 26/27 guidance out"), vec![2026, 2027]);
        assert_eq!(
            years_in("from 2019 to 2021, and 2019 again"),
            vec![2019, 2021]
        );
        assert_eq!(years_in("NHS People Plan 2020/21"), vec![2020, 2021]);
    }

    #[test]
    fn other_numbers_are_not_years() {
        assert!(years_in("over 1,000 stakeholders and 2,000 staff").is_empty());
        assert!(years_in("2020% of nothing, 3/4 of them, 12/15, page 2021.5").is_empty());
        assert!(years_in("10 million days, 1800 or 2100").is_empty());
        assert!(years_in("a12345 b20222 NG2020").is_empty());
        assert_eq!(years_in("launched on 2022-06-20"), vec![2022]);
    }

    #[test]
    fn a_year_counts_when_the_passage_or_its_document_names_it() {
        let passage = "Actions to keep staff safe, healthy and well.";
        assert_eq!(
            unnamed_year(
                &years_in("what did the 2020 plan say"),
                &[passage, "NHS People Plan 2020/21"]
            ),
            None
        );
        assert_eq!(
            unnamed_year(
                &years_in("what was the absence rate in 2024"),
                &[passage, "published 2009"]
            ),
            Some(2024)
        );
        assert_eq!(
            unnamed_year(&years_in("what is the plan"), &[passage]),
            None
        );
    }
}
