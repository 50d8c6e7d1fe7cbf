//! The report: replies per day, the passages voted "not helpful" most, and what declined
//! questions asked about, grouped by their words.
//!
//! Invariant: a declined question's words are shown only when at least `min_group` stored
//! questions share them, and never a question itself, so no single person's question can be
//! read back from the report.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use sqlx::AnyPool;
use sqlx::Row;

use super::day;

/// Replies on one day (all-zero days are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// Answered with citations.
    pub answered: u64,
    /// "Not covered".
    pub declined: u64,
    /// Local contacts first.
    pub help: u64,
    /// The crisis reply (a count only, never anything else).
    pub crisis: u64,
}

/// The votes on one passage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassageVotes {
    /// Passage id (`document/n`).
    pub passage: String,
    /// "Helpful" votes on answers that cited it.
    pub helpful: u64,
    /// "Not helpful" votes.
    pub not_helpful: u64,
}

/// A word that at least `min_group` declined questions used, and the words used with it as
/// often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclinedGroup {
    /// The word.
    pub word: String,
    /// Declined questions that used it.
    pub questions: u64,
    /// Other words at least `min_group` of those questions used, most used first.
    pub with: Vec<(String, u64)>,
}

/// Everything `report` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// First day covered.
    pub since: String,
    /// Per day, oldest first.
    pub days: Vec<DayCounts>,
    /// The sums over `days`.
    pub totals: DayCounts,
    /// Passages with at least one "not helpful" vote, most first (at most 10).
    pub not_helpful: Vec<PassageVotes>,
    /// Declined questions stored (only with `[insights] record_declined`).
    pub declined_stored: u64,
    /// Their common words (at most 20 groups).
    pub declined_groups: Vec<DeclinedGroup>,
    /// The smallest group shown.
    pub min_group: usize,
}

pub(super) async fn build(
    pool: &AnyPool,
    days: u32,
    min_group: usize,
) -> Result<Report, sqlx::Error> {
    let since = day(days.saturating_sub(1));
    let mut per_day: BTreeMap<String, DayCounts> = BTreeMap::new();
    for row in sqlx::query("SELECT day, outcome, n FROM ohwb_daily WHERE day >= $1")
        .bind(&since)
        .fetch_all(pool)
        .await?
    {
        let (d, outcome, n): (String, String, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let c = per_day.entry(d.clone()).or_insert_with(|| DayCounts {
            day: d,
            ..DayCounts::default()
        });
        let n = n.max(0) as u64;
        match outcome.as_str() {
            "answered" => c.answered += n,
            "declined" => c.declined += n,
            "help" => c.help += n,
            "crisis" => c.crisis += n,
            _ => {}
        }
    }
    let days_list: Vec<DayCounts> = per_day.into_values().collect();
    let totals = days_list.iter().fold(
        DayCounts {
            day: format!("{since} to {}", day(0)),
            ..DayCounts::default()
        },
        |mut t, d| {
            t.answered += d.answered;
            t.declined += d.declined;
            t.help += d.help;
            t.crisis += d.crisis;
            t
        },
    );

    let mut votes: HashMap<String, (u64, u64)> = HashMap::new();
    for row in sqlx::query(
        "SELECT a.passages, v.helpful FROM ohwb_votes v JOIN ohwb_answers a \
         ON a.answer_id = v.answer_id WHERE v.day >= $1",
    )
    .bind(&since)
    .fetch_all(pool)
    .await?
    {
        let (passages, helpful): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
        for p in passages.split_whitespace() {
            let e = votes.entry(p.to_string()).or_default();
            if helpful != 0 {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    let mut not_helpful: Vec<PassageVotes> = votes
        .into_iter()
        .filter(|(_, (_, down))| *down > 0)
        .map(|(passage, (helpful, not_helpful))| PassageVotes {
            passage,
            helpful,
            not_helpful,
        })
        .collect();
    not_helpful.sort_by(|a, b| {
        b.not_helpful
            .cmp(&a.not_helpful)
            .then(a.helpful.cmp(&b.helpful))
            .then(a.passage.cmp(&b.passage))
    });
    not_helpful.truncate(10);

    let questions: Vec<String> = sqlx::query("SELECT question FROM ohwb_declined WHERE day >= $1")
        .bind(&since)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    Ok(Report {
        since,
        days: days_list,
        totals,
        not_helpful,
        declined_stored: questions.len() as u64,
        declined_groups: groups(&questions, min_group.max(1)),
        min_group,
    })
}

/// The content words of a question, lowercased, a plural "s" dropped, placeholders left out.
fn words(question: &str) -> HashSet<String> {
    question
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| {
            w.len() >= 3
                && !crate::query::is_stopword(w)
                && !matches!(w.as_str(), "email" | "link" | "number")
        })
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.len() >= 4 && !stem.ends_with('s') => stem.to_string(),
            _ => w,
        })
        .collect()
}

/// Words used by at least `min` questions, each with the words used alongside it by at least
/// `min` of the same questions.
fn groups(questions: &[String], min: usize) -> Vec<DeclinedGroup> {
    let sets: Vec<HashSet<String>> = questions.iter().map(|q| words(q)).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for s in &sets {
        for w in s {
            *counts.entry(w).or_default() += 1;
        }
    }
    let mut common: Vec<(&str, usize)> = counts.into_iter().filter(|(_, n)| *n >= min).collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    common.truncate(20);
    common
        .into_iter()
        .map(|(word, n)| {
            let mut with: HashMap<&str, usize> = HashMap::new();
            for s in sets.iter().filter(|s| s.contains(word)) {
                for w in s.iter().filter(|w| w.as_str() != word) {
                    *with.entry(w).or_default() += 1;
                }
            }
            let mut with: Vec<(String, u64)> = with
                .into_iter()
                .filter(|(_, k)| *k >= min)
                .map(|(w, k)| (w.to_string(), k as u64))
                .collect();
            with.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            with.truncate(5);
            DeclinedGroup {
                word: word.to_string(),
                questions: n as u64,
                with,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_words_shared_by_enough_questions_are_shown() {
        let qs: Vec<String> = [
            "how do I change my pension contributions",
            "pension contributions for bank staff",
            "can I see my pension contributions",
            "where is my payslip",
            "my secret one-off question about Jo Bloggs",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let g = groups(&qs, 3);
        let shown: Vec<&str> = g.iter().map(|g| g.word.as_str()).collect();
        assert_eq!(shown, ["contribution", "pension"]);
        assert_eq!(g[1].questions, 3);
        assert_eq!(g[1].with, vec![("contribution".to_string(), 3)]);
        let all = format!("{g:?}");
        assert!(!all.contains("payslip") && !all.contains("bloggs"), "{all}");
        assert!(groups(&qs, 4).is_empty());
    }
}
