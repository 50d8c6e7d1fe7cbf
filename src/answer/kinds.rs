//! What kind of thing a question asks for (a date, a count, a sum of money, a name, whether
//! something still goes on) and whether a passage's text holds one. The answer line prefers a
//! sentence that holds what is asked; the decision to answer declines a question that asks for
//! a count or a sum when the best passage holds none ("how much does SEQOHS accreditation cost"
//! finds the passage about SEQOHS, which names no price).
//!
//! Invariants:
//! - Read from the question's words alone, never from the passages: the same question always
//!   wants the same kind.
//! - A year or the day of a date is never a count, and only a sum in pounds is money.

/// What kind of thing a question asks for, from its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wants {
    Date,
    /// An amount of money: "how much did it cost".
    Money,
    Number,
    /// Whether something still goes on: "is it still running".
    Status,
    Name,
    Anything,
}

pub(super) fn wants(question: &str) -> Wants {
    let q = format!(" {} ", question.to_lowercase());
    let has = |ws: &[&str]| ws.iter().any(|w| q.contains(w));
    if has(&[
        " when ",
        " what year",
        " which year",
        " what date",
        " how long ago",
    ]) {
        Wants::Date
    } else if has(&[" how much"]) && has(MONEY_WORDS) {
        Wants::Money
    } else if has(&[
        " how many",
        " how much",
        " what percentage",
        " what proportion",
        " what fraction",
        " what share",
        " how big",
        " how long",
        " what number",
    ]) {
        Wants::Number
    } else if has(&[" who ", " who's ", " whos ", " whose "]) || asks_which_body(&q) {
        Wants::Name
    } else if has(&[" still ", " any more", " anymore", " no longer"]) {
        Wants::Status
    } else {
        Wants::Anything
    }
}

/// Nouns for a body or a person that "which" or "what" asks to be named.
const BODY_NOUNS: &[&str] = &[
    "body",
    "bodies",
    "organisation",
    "organisations",
    "organization",
    "organizations",
    "agency",
    "agencies",
    "department",
    "charity",
    "charities",
    "union",
    "unions",
    "author",
    "authors",
];

/// Whether `q` asks "which (or what) body": the noun among the three words after "which" or
/// "what", so "which national body" and "what professional organisation" ask for a name as
/// "which body" does.
fn asks_which_body(q: &str) -> bool {
    let words: Vec<&str> = q
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        (*w == "which" || *w == "what")
            && words
                .iter()
                .skip(i + 1)
                .take(3)
                .any(|n| BODY_NOUNS.contains(n))
    })
}

/// Question words that make "how much" ask for money rather than a count.
const MONEY_WORDS: &[&str] = &[
    " cost", " spen", " sav", " worth", " fund", " budget", " invest", " money", " pay", " paid",
    " price", " afford", "£",
];

/// Words by which a sentence says whether something goes on: "funding ended", "closed", "no
/// longer available", "continues". Whole words, so "recommended" or "spending" are not "ended"
/// or "ending". Not "still": "staff can still find support" says nothing of the service asked
/// about.
const STATUS_WORDS: &[&str] = &[
    "closed",
    "closing",
    "closure",
    "ended",
    "ending",
    "discontinued",
    "stopped",
    "ceased",
    "withdrawn",
    "wound down",
    "no longer",
    "replaced",
    "continues",
    "continued",
    "remains",
    "remained",
];

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Whether `sentence` holds what `w` asks for.
pub(super) fn has_answer_type(sentence: &str, w: Wants) -> bool {
    let words: Vec<&str> = sentence
        .split(|c: char| !c.is_alphanumeric() && c != '%')
        .filter(|t| !t.is_empty())
        .collect();
    let year = |t: &str| t.len() == 4 && (t.starts_with("19") || t.starts_with("20"));
    match w {
        Wants::Date => words
            .iter()
            .any(|t| year(t) || MONTHS.contains(&t.to_lowercase().as_str())),
        // A day of the month ("25 November") is part of a date, not a count.
        Wants::Number => words.iter().enumerate().any(|(i, t)| {
            let month = |j: usize| {
                words
                    .get(j)
                    .is_some_and(|w| MONTHS.contains(&w.to_lowercase().as_str()))
            };
            t.chars().next().is_some_and(|c| c.is_ascii_digit())
                && !year(t)
                && !month(i + 1)
                && (i == 0 || !month(i - 1))
        }),
        // A capitalised word after the first: a person or an organisation.
        Wants::Name => words
            .iter()
            .skip(1)
            .any(|t| t.chars().next().is_some_and(char::is_uppercase)),
        // A sum of money: "£1.7 billion", "£555 million".
        Wants::Money => sentence.contains('£'),
        Wants::Status => {
            let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
            STATUS_WORDS.iter().any(|status| {
                let status: Vec<&str> = status.split(' ').collect();
                lower
                    .windows(status.len())
                    .any(|run| run == status.as_slice())
            })
        }
        Wants::Anything => false,
    }
}

/// Words that state a count or a share without digits: "seven elements", "a third".
const NUMBER_WORDS: &[&str] = &[
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "half",
    "third",
    "thirds",
    "quarter",
    "quarters",
    "dozen",
    "twice",
    "double",
    "doubled",
    "percent",
];

/// Whether `text` states a count, in digits or in words.
fn has_count(text: &str) -> bool {
    has_answer_type(text, Wants::Number)
        || text
            .split(|c: char| !c.is_alphabetic())
            .any(|w| NUMBER_WORDS.contains(&w.to_lowercase().as_str()))
}

/// Openings of a question that asks whether, not how many: "did the plan say how much is
/// going into OH" is answered by what the plan says, with or without a sum.
const YES_NO: &[&str] = &[
    "did ", "does ", "do ", "is ", "are ", "was ", "were ", "has ", "have ", "can ", "will ",
    "would ", "should ",
];

/// Words by which a passage says a detail is not given: the answer to "how many pages is the
/// strategy" is that the sources do not confirm its page count.
const NOT_GIVEN: &[&str] = &[
    "not confirmed",
    "not confirm",
    "does not say",
    "do not say",
    "not stated",
    "not state",
    "not published",
    "not known",
];

/// What `question` asks for that none of `texts` holds: a sum of money for "how much does it
/// cost", a count for "how many"; `None` when it asks for neither, is a yes/no question, or a
/// text holds one or says the detail is not given. A count may be in words ("seven
/// elements", "a third"), as documents often write them. `texts` is read only when the
/// question asks for a sum or a count.
pub(super) fn lacking<'a>(
    question: &str,
    texts: impl IntoIterator<Item = &'a str>,
) -> Option<&'static str> {
    let asked = question.trim_start().to_lowercase();
    if YES_NO.iter().any(|w| asked.starts_with(w)) {
        return None;
    }
    let (kind, holds): (&'static str, fn(&str) -> bool) = match wants(question) {
        Wants::Money => ("a sum of money", |t| has_answer_type(t, Wants::Money)),
        // "How long did the review take" is answered by the dates it began and ended.
        Wants::Number if asked.contains("how long") => ("a number", |t| {
            has_count(t) || has_answer_type(t, Wants::Date)
        }),
        Wants::Number => ("a number", has_count),
        _ => return None,
    };
    let answers = |t: &str| {
        let lower = t.to_lowercase();
        holds(t) || NOT_GIVEN.iter().any(|n| lower.contains(n))
    };
    (!texts.into_iter().any(answers)).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_of_answer_is_read_from_the_question() {
        assert_eq!(wants("when was it launched"), Wants::Date);
        assert_eq!(
            wants("how many recommendations did boorman make"),
            Wants::Number
        );
        assert_eq!(wants("who wrote the foreword"), Wants::Name);
        assert_eq!(wants("which national body is behind this"), Wants::Name);
        assert_eq!(wants("whos behind the strategy"), Wants::Name);
        assert_eq!(
            wants("what professional organisation accredits OH services"),
            Wants::Name
        );
        assert_eq!(
            wants("what does the strategy say about the body's needs"),
            Wants::Anything,
            "the noun must follow which or what within three words"
        );
        assert_eq!(wants("what is OHWB"), Wants::Anything);
        assert!(has_answer_type(
            "It was launched in June 2022.",
            Wants::Date
        ));
        assert!(!has_answer_type("It was launched last year.", Wants::Date));
        assert!(has_answer_type(
            "There were 20 recommendations.",
            Wants::Number
        ));
        assert!(!has_answer_type("It dates from 2009.", Wants::Number));
        assert!(!has_answer_type(
            "It was published on 25 November 2008.",
            Wants::Number
        ));
        assert!(!has_answer_type("Dated July 27, 2021.", Wants::Number));
        assert!(has_answer_type(
            "It received 120 submissions by 25 November 2008.",
            Wants::Number
        ));
        assert!(has_answer_type(
            "The foreword is by Em Wilkinson-Brice.",
            Wants::Name
        ));
        assert!(!has_answer_type("It has a foreword.", Wants::Name));
    }

    #[test]
    fn money_and_whether_something_still_runs_are_kinds_of_answer() {
        assert_eq!(wants("how much did absence cost the nhs"), Wants::Money);
        assert_eq!(wants("how much funding was there"), Wants::Money);
        assert_eq!(wants("how much of the workforce uses OH"), Wants::Number);
        assert_eq!(wants("is the coaching still running"), Wants::Status);
        assert_eq!(wants("do the hubs exist anymore"), Wants::Status);
        assert_eq!(wants("when did it stop, is it still going"), Wants::Date);
        assert!(has_answer_type(
            "It cost £1.7 billion a year.",
            Wants::Money
        ));
        assert!(!has_answer_type("Absence was 4.48%.", Wants::Money));
        assert!(has_answer_type(
            "It has been discontinued after a review.",
            Wants::Status
        ));
        assert!(!has_answer_type(
            "Staff can still find support online.",
            Wants::Status
        ));
        assert!(has_answer_type(
            "The service is no longer offered.",
            Wants::Status
        ));
        assert!(
            !has_answer_type("The review recommended more spending.", Wants::Status),
            "whole words only"
        );
    }

    #[test]
    fn a_count_or_a_sum_is_lacking_only_when_no_text_holds_one() {
        let seqohs = "SEQOHS accreditation is run by the Faculty of Occupational Medicine.";
        assert_eq!(
            lacking("how much does SEQOHS accreditation cost", [seqohs]),
            Some("a sum of money")
        );
        assert_eq!(
            lacking("how many trusts hold SEQOHS accreditation", [seqohs]),
            Some("a number")
        );
        // Any of the texts may hold it, in digits or in words.
        assert_eq!(
            lacking(
                "how much did absence cost",
                [seqohs, "It cost £1.7 billion a year."]
            ),
            None
        );
        assert_eq!(
            lacking(
                "how many elements are there",
                ["The seven elements are listed."]
            ),
            None
        );
        // A year is not a count, but it answers how long something took.
        assert_eq!(
            lacking("how many trusts took part", ["It began in 2009."]),
            Some("a number")
        );
        assert_eq!(
            lacking(
                "how long did the review take",
                ["It ran from 2008 to 2009."]
            ),
            None
        );
        // A passage saying the detail is not given answers the question.
        assert_eq!(
            lacking(
                "how many pages is the strategy",
                ["The sources do not confirm its page count."]
            ),
            None
        );
        // A yes/no question, or one asking for something else, lacks nothing.
        assert_eq!(
            lacking("did the plan say how much is going into OH", [seqohs]),
            None
        );
        assert_eq!(lacking("what is SEQOHS", [seqohs]), None);
        assert_eq!(lacking("how many trusts hold it", []), Some("a number"));
    }
}
