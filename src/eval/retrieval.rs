//! Retrieval evaluation: scores the answer pipeline on a questions file, per split, beside the
//! lexical-only ranking the bot used before (same index, [`Mode::Lexical`]) and a naive
//! baseline ([`Baseline`]).
//!
//! Metrics over answerable questions: hit@1, hit@3 and MRR (a declined question counts as a
//! miss), the share wrongly declined, hit@3 on paraphrases alone, and the share of answer lines
//! that contain every term the case names; over out-of-scope questions, the share declined.
//!
//! Invariants:
//! - Splits are reported separately and never pooled: `dev` may be looked at and tuned on,
//!   `test` is what the README and the notes quote.
//! - The decline-threshold sweep runs on `dev` only.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::baseline::Baseline;
use super::Listing;
use crate::answer::{self, Answer, AskOptions, Mode};
use crate::config::AnswerConfig;
use crate::corpus::Corpus;
use crate::index::SearchIndex;
use crate::{Error, Result};

/// The questions file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Questions {
    /// Questions the corpus answers.
    #[serde(default)]
    pub answerable: Vec<Answerable>,
    /// Questions it does not.
    #[serde(default)]
    pub out_of_scope: Vec<OutOfScope>,
}

fn dev() -> String {
    "dev".into()
}

/// A question with its right answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answerable {
    /// `dev` (default: may be tuned on) or `test` (never tuned on).
    #[serde(default = "dev")]
    pub split: String,
    /// As staff would type it.
    pub q: String,
    /// Passage ids (`doc/section/n`) or section ids (`doc/section`, any passage of it), any of
    /// which answers it.
    #[serde(default)]
    pub passage: Vec<String>,
    /// Or: words a right passage contains (all of them, case-insensitive).
    #[serde(default)]
    pub contains: Vec<String>,
    /// Terms a right answer line contains (all of them, case-insensitive).
    #[serde(default)]
    pub answer: Vec<String>,
    /// Whether the question shares no content word with its passage.
    #[serde(default)]
    pub paraphrase: bool,
}

/// A question the bot should decline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutOfScope {
    /// `dev` (default) or `test`.
    #[serde(default = "dev")]
    pub split: String,
    /// As staff would type it.
    pub q: String,
}

impl Questions {
    /// Reads and checks a questions file.
    pub fn load(path: &Path) -> Result<Questions> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let q: Questions = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if let Some(a) = q
            .answerable
            .iter()
            .find(|a| a.passage.is_empty() && a.contains.is_empty())
        {
            return Err(bad(format!(
                "question {:?} names no passage and no words",
                a.q
            )));
        }
        let splits = q.answerable.iter().map(|a| (&a.split, &a.q));
        if let Some((s, q)) = splits
            .chain(q.out_of_scope.iter().map(|o| (&o.split, &o.q)))
            .find(|(s, _)| !matches!(s.as_str(), "dev" | "test"))
        {
            return Err(bad(format!(
                "question {q:?}: split {s:?} is not \"dev\" or \"test\""
            )));
        }
        Ok(q)
    }

    /// The answerable and out-of-scope questions of split `name`.
    pub fn split(&self, name: &str) -> (Vec<&Answerable>, Vec<&OutOfScope>) {
        (
            self.answerable.iter().filter(|a| a.split == name).collect(),
            self.out_of_scope
                .iter()
                .filter(|o| o.split == name)
                .collect(),
        )
    }
}

/// One system's scores on one split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Share of answerable questions whose first result is right.
    pub hit_at_1: f64,
    /// Share with a right result in the first three.
    pub hit_at_3: f64,
    /// Mean reciprocal rank of the first right result (0 when none or declined).
    pub mrr: f64,
    /// Share of out-of-scope questions declined.
    pub declined_out_of_scope: f64,
    /// Share of answerable questions wrongly declined.
    pub declined_answerable: f64,
    /// hit@3 over the paraphrases alone.
    pub paraphrase_hit_at_3: f64,
    /// Share of answer lines (of cases that name terms) containing all of them; a decline is
    /// wrong.
    pub answer_line_right: f64,
}

/// One answerable question's outcome for the bot.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The question.
    pub question: String,
    /// 1-based rank of the first right passage among citations, if any.
    pub rank: Option<usize>,
    /// Whether the bot answered.
    pub answered: bool,
    /// What it cited first.
    pub top: Option<String>,
    /// The answer line.
    pub line: String,
    /// Whether the answer line has the case's terms (`None` when it names none).
    pub line_right: Option<bool>,
}

/// Figures for one split.
#[derive(Debug, Clone, Serialize)]
pub struct SplitReport {
    /// `dev` or `test`.
    pub split: String,
    /// Answerable questions.
    pub answerable: usize,
    /// Of which paraphrases.
    pub paraphrases: usize,
    /// Of which name answer-line terms.
    pub with_answer_terms: usize,
    /// Out-of-scope questions.
    pub out_of_scope: usize,
    /// The bot (hybrid), passage level.
    pub ours_passage: Metrics,
    /// The lexical ranking alone (the bot before the dense side), passage level.
    pub lexical_passage: Metrics,
    /// The bot, document level.
    pub ours_document: Metrics,
    /// The naive baseline, document level.
    pub baseline_document: Metrics,
    /// Per-question outcomes for the bot, misses first.
    pub rows: Vec<Row>,
    /// Out-of-scope questions the bot answered anyway.
    pub wrongly_answered: Vec<String>,
}

/// The full report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Per split present in the file: dev first, then test.
    pub splits: Vec<SplitReport>,
    /// The decline threshold's trade-off on dev: the bot's passage-level metrics at other
    /// values of `answer.min_coverage` (empty unless asked for).
    pub sweep: Vec<(f32, Metrics)>,
}

impl Report {
    /// The split named `name`, if the file had one.
    pub fn split(&self, name: &str) -> Option<&SplitReport> {
        self.splits.iter().find(|s| s.split == name)
    }
}

#[derive(Default)]
struct Tally {
    n_ans: usize,
    n_oos: usize,
    n_para: usize,
    n_terms: usize,
    h1: usize,
    h3: usize,
    para_h3: usize,
    rr: f64,
    declined_ans: usize,
    declined_oos: usize,
    lines_right: usize,
}

impl Tally {
    fn add(&mut self, rank: Option<usize>, answered: bool, paraphrase: bool, line: Option<bool>) {
        self.n_ans += 1;
        self.h1 += usize::from(rank == Some(1));
        let h3 = rank.is_some_and(|r| r <= 3);
        self.h3 += usize::from(h3);
        self.rr += rank.map_or(0.0, |r| 1.0 / r as f64);
        self.declined_ans += usize::from(!answered);
        if paraphrase {
            self.n_para += 1;
            self.para_h3 += usize::from(h3);
        }
        if let Some(right) = line {
            self.n_terms += 1;
            self.lines_right += usize::from(right);
        }
    }
    fn out_of_scope(&mut self, declined: bool) {
        self.n_oos += 1;
        self.declined_oos += usize::from(declined);
    }
    fn metrics(&self) -> Metrics {
        let share = |x: usize, n: usize| if n == 0 { 0.0 } else { x as f64 / n as f64 };
        Metrics {
            hit_at_1: share(self.h1, self.n_ans),
            hit_at_3: share(self.h3, self.n_ans),
            mrr: if self.n_ans == 0 {
                0.0
            } else {
                self.rr / self.n_ans as f64
            },
            declined_out_of_scope: share(self.declined_oos, self.n_oos),
            declined_answerable: share(self.declined_ans, self.n_ans),
            paraphrase_hit_at_3: share(self.para_h3, self.n_para),
            answer_line_right: share(self.lines_right, self.n_terms),
        }
    }
}

fn matches_passage(wanted: &str, id: &str) -> bool {
    id == wanted || id.strip_prefix(wanted).is_some_and(|r| r.starts_with('/'))
}

fn doc_of(id: &str) -> &str {
    id.split('/').next().unwrap_or_default()
}

/// 1-based rank of the first right citation.
fn rank_of(a: &Answerable, ans: &Answer) -> Option<usize> {
    let right = |id: &str, text: &str| {
        a.passage.iter().any(|p| matches_passage(p, id))
            || (!a.contains.is_empty() && {
                let t = text.to_lowercase();
                a.contains.iter().all(|w| t.contains(&w.to_lowercase()))
            })
    };
    ans.citations
        .iter()
        .position(|c| right(&c.passage_id, &c.text))
        .map(|i| i + 1)
}

fn document_rank(a: &Answerable, ans: &Answer, rank: Option<usize>) -> Option<usize> {
    if a.passage.is_empty() {
        return rank;
    }
    let right: Vec<&str> = a.passage.iter().map(|p| doc_of(p)).collect();
    let mut seen: Vec<&str> = Vec::new();
    for c in &ans.citations {
        if !seen.contains(&c.doc_slug.as_str()) {
            seen.push(&c.doc_slug);
        }
    }
    seen.iter().position(|d| right.contains(d)).map(|i| i + 1)
}

fn line_right(a: &Answerable, ans: &Answer) -> Option<bool> {
    if a.answer.is_empty() {
        return None;
    }
    let line = ans.summary.to_lowercase();
    Some(ans.answered && a.answer.iter().all(|t| line.contains(&t.to_lowercase())))
}

/// Runs the evaluation. `corpus` feeds the baseline; `index` and `config` are the bot's.
/// `sweep` adds the decline-threshold trade-off on dev (eleven more passes over it).
pub fn run(
    index: &SearchIndex,
    config: &AnswerConfig,
    corpus: &Corpus,
    questions: &Questions,
    sweep: bool,
) -> Result<Report> {
    let baseline = Baseline::build(corpus)?;
    let mut splits = Vec::new();
    for name in ["dev", "test"] {
        let (ans, oos) = questions.split(name);
        if !ans.is_empty() || !oos.is_empty() {
            splits.push(run_split(index, config, &baseline, name, &ans, &oos)?);
        }
    }
    let mut report = Report {
        splits,
        sweep: Vec::new(),
    };
    if sweep {
        let (ans, oos) = questions.split("dev");
        for step in 4..=14 {
            let t = step as f32 * 0.05;
            let c = AnswerConfig {
                min_coverage: t,
                ..config.clone()
            };
            let mut tally = Tally::default();
            let opts = AskOptions {
                top: Some(10),
                ..AskOptions::default()
            };
            for a in &ans {
                let r = answer::answer(index, &a.q, &c, &opts)?;
                tally.add(rank_of(a, &r), r.answered, a.paraphrase, line_right(a, &r));
            }
            for o in &oos {
                tally.out_of_scope(!answer::answer(index, &o.q, &c, &opts)?.answered);
            }
            report.sweep.push((t, tally.metrics()));
        }
    }
    Ok(report)
}

fn run_split(
    index: &SearchIndex,
    config: &AnswerConfig,
    baseline: &Baseline,
    name: &str,
    answerable: &[&Answerable],
    out_of_scope: &[&OutOfScope],
) -> Result<SplitReport> {
    let hybrid = AskOptions {
        top: Some(10),
        ..AskOptions::default()
    };
    let lexical = AskOptions {
        mode: Mode::Lexical,
        ..hybrid.clone()
    };
    let (mut ours, mut lex, mut doc, mut base) = Default::default();
    let (ours, lex, doc, base): (&mut Tally, &mut Tally, &mut Tally, &mut Tally) =
        (&mut ours, &mut lex, &mut doc, &mut base);
    let mut rows = Vec::new();
    for a in answerable {
        let ans = answer::answer(index, &a.q, config, &hybrid)?;
        let rank = rank_of(a, &ans);
        let line = line_right(a, &ans);
        ours.add(rank, ans.answered, a.paraphrase, line);
        doc.add(
            document_rank(a, &ans, rank),
            ans.answered,
            a.paraphrase,
            None,
        );
        let before = answer::answer(index, &a.q, config, &lexical)?;
        lex.add(
            rank_of(a, &before),
            before.answered,
            a.paraphrase,
            line_right(a, &before),
        );
        let right_docs: Vec<&str> = a.passage.iter().map(|p| doc_of(p)).collect();
        let base_docs = baseline.search(&a.q)?;
        let base_rank = base_docs
            .iter()
            .position(|d| right_docs.contains(&d.as_str()))
            .map(|i| i + 1);
        base.add(base_rank, !base_docs.is_empty(), a.paraphrase, None);
        rows.push(Row {
            question: a.q.clone(),
            rank,
            answered: ans.answered,
            top: ans.citations.first().map(|c| c.passage_id.clone()),
            line: ans.summary.clone(),
            line_right: line,
        });
    }
    let mut wrongly_answered = Vec::new();
    for o in out_of_scope {
        let ans = answer::answer(index, &o.q, config, &hybrid)?;
        if ans.answered {
            wrongly_answered.push(o.q.clone());
        }
        ours.out_of_scope(!ans.answered);
        doc.out_of_scope(!ans.answered);
        lex.out_of_scope(!answer::answer(index, &o.q, config, &lexical)?.answered);
        base.out_of_scope(baseline.search(&o.q)?.is_empty());
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.rank.map_or(usize::MAX, |r| r)));
    Ok(SplitReport {
        split: name.to_string(),
        answerable: answerable.len(),
        paraphrases: answerable.iter().filter(|a| a.paraphrase).count(),
        with_answer_terms: answerable.iter().filter(|a| !a.answer.is_empty()).count(),
        out_of_scope: out_of_scope.len(),
        ours_passage: ours.metrics(),
        lexical_passage: lex.metrics(),
        ours_document: doc.metrics(),
        baseline_document: base.metrics(),
        rows,
        wrongly_answered,
    })
}

/// The report as tables, one per split, as `ohwb-bot eval` prints it. `listing` says whose
/// misses, wrong answer lines and wrongly answered out-of-scope questions are listed.
pub fn render(r: &Report, listing: Listing) -> String {
    let mut s = String::new();
    for sp in &r.splits {
        s.push_str(&format!(
            "## {} split: {} answerable ({} paraphrases, {} with answer-line terms), {} out-of-scope\n\n",
            sp.split, sp.answerable, sp.paraphrases, sp.with_answer_terms, sp.out_of_scope
        ));
        s.push_str("| metric | bot, hybrid (passage) | lexical only, before (passage) | bot (document) | baseline (document) |\n|---|---|---|---|---|\n");
        let row = |name: &str, f: fn(&Metrics) -> f64, baseline: bool| {
            let b = if baseline {
                format!("{:.3}", f(&sp.baseline_document))
            } else {
                "-".into()
            };
            format!(
                "| {name} | {:.3} | {:.3} | {:.3} | {b} |\n",
                f(&sp.ours_passage),
                f(&sp.lexical_passage),
                f(&sp.ours_document),
            )
        };
        s.push_str(&row("hit@1", |m| m.hit_at_1, true));
        s.push_str(&row("hit@3", |m| m.hit_at_3, true));
        s.push_str(&row("MRR", |m| m.mrr, true));
        s.push_str(&row("paraphrase hit@3", |m| m.paraphrase_hit_at_3, true));
        s.push_str(&row("answer line right", |m| m.answer_line_right, false));
        s.push_str(&row(
            "out-of-scope declined",
            |m| m.declined_out_of_scope,
            true,
        ));
        s.push_str(&row("answerable declined", |m| m.declined_answerable, true));
        s.push('\n');
        if listing.withholds(&sp.split) {
            s.push_str("(this split's cases are not listed: `eval -v --show-test` lists them)\n\n");
        }
        if listing.lists(&sp.split) {
            s.push_str("misses (rank of the right passage, or - ):\n");
            for row in sp.rows.iter().filter(|x| x.rank != Some(1)) {
                s.push_str(&format!(
                    "  {:>2}  {}  -> {}\n",
                    row.rank.map_or("-".to_string(), |r| r.to_string()),
                    row.question,
                    row.top
                        .as_deref()
                        .unwrap_or(if row.answered { "?" } else { "(declined)" })
                ));
            }
            for row in sp.rows.iter().filter(|x| x.line_right == Some(false)) {
                s.push_str(&format!(
                    "  line wrong: {}  => {}\n",
                    row.question, row.line
                ));
            }
            for q in &sp.wrongly_answered {
                s.push_str(&format!("  answered out-of-scope: {q}\n"));
            }
            s.push('\n');
        }
    }
    if !r.sweep.is_empty() {
        s.push_str("decline threshold (answer.min_coverage) trade-off, dev split, bot at passage level:\n| min_coverage | hit@1 | hit@3 | out-of-scope declined | answerable declined |\n|---|---|---|---|---|\n");
        for (t, m) in &r.sweep {
            s.push_str(&format!(
                "| {t:.2} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
                m.hit_at_1, m.hit_at_3, m.declined_out_of_scope, m.declined_answerable
            ));
        }
        s.push('\n');
    }
    for sp in &r.splits {
        let m = &sp.ours_passage;
        s.push_str(&format!(
            "summary ({}): hit@1 {:.3}, hit@3 {:.3}, MRR {:.3}, answer line {:.3}, out-of-scope declined {:.3}, answerable declined {:.3}\n",
            sp.split, m.hit_at_1, m.hit_at_3, m.mrr, m.answer_line_right, m.declined_out_of_scope, m.declined_answerable
        ));
    }
    s
}
