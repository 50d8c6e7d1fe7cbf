//! Evaluation. Retrieval (here): scores the answer pipeline on a questions file, next to a naive
//! baseline (tantivy's default query parser over whole documents, no stemming, no boosts, no
//! expansion, no decline logic).
//!
//! Metrics over answerable questions: hit@1, hit@3 and MRR, where a declined question counts as
//! a miss; and the share of out-of-scope questions declined. Our ranking is scored twice: at
//! passage level (the contract: the right passage is cited) and at document level (the only
//! level the baseline can reach), so the comparison with the baseline is like for like.

pub mod distress;

use std::path::Path;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Schema, STORED, TEXT};
use tantivy::{Index, TantivyDocument};

use crate::answer::{self, AskOptions};
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

/// A question with its right answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answerable {
    /// As staff would type it.
    pub q: String,
    /// Passage ids, any of which answers it.
    #[serde(default)]
    pub passage: Vec<String>,
    /// Or: words a right passage contains (all of them, case-insensitive).
    #[serde(default)]
    pub contains: Vec<String>,
}

/// A question the bot should decline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutOfScope {
    /// As staff would type it.
    pub q: String,
}

impl Questions {
    /// Reads and checks a questions file.
    pub fn load(path: &Path) -> Result<Questions> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let q: Questions = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if let Some(bad) = q
            .answerable
            .iter()
            .find(|a| a.passage.is_empty() && a.contains.is_empty())
        {
            return Err(Error::Config {
                path: path.to_path_buf(),
                message: format!("question {:?} names no passage and no words", bad.q),
            });
        }
        Ok(q)
    }
}

/// One system's scores.
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
}

/// One answerable question's outcome for our pipeline.
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
}

/// The full report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Answerable questions.
    pub answerable: usize,
    /// Out-of-scope questions.
    pub out_of_scope: usize,
    /// Our pipeline, passage level.
    pub ours_passage: Metrics,
    /// Our pipeline, document level.
    pub ours_document: Metrics,
    /// The naive baseline, document level.
    pub baseline_document: Metrics,
    /// Per-question outcomes, misses first.
    pub rows: Vec<Row>,
    /// Out-of-scope questions we answered anyway.
    pub wrongly_answered: Vec<String>,
    /// The decline threshold's trade-off: our passage-level metrics at other values of
    /// `answer.min_coverage`.
    pub sweep: Vec<(f32, Metrics)>,
}

fn doc_of(passage_id: &str) -> &str {
    passage_id.split('/').next().unwrap_or_default()
}

fn reciprocal(rank: Option<usize>) -> f64 {
    rank.map_or(0.0, |r| 1.0 / r as f64)
}

struct Tally {
    h1: usize,
    h3: usize,
    rr: f64,
    declined_ans: usize,
    declined_oos: usize,
}

impl Tally {
    fn new() -> Self {
        Tally {
            h1: 0,
            h3: 0,
            rr: 0.0,
            declined_ans: 0,
            declined_oos: 0,
        }
    }
    fn add(&mut self, rank: Option<usize>, answered: bool) {
        self.h1 += usize::from(rank == Some(1));
        self.h3 += usize::from(rank.is_some_and(|r| r <= 3));
        self.rr += reciprocal(rank);
        self.declined_ans += usize::from(!answered);
    }
    fn metrics(&self, n_ans: usize, n_oos: usize) -> Metrics {
        let share = |x: usize, n: usize| if n == 0 { 0.0 } else { x as f64 / n as f64 };
        Metrics {
            hit_at_1: share(self.h1, n_ans),
            hit_at_3: share(self.h3, n_ans),
            mrr: if n_ans == 0 {
                0.0
            } else {
                self.rr / n_ans as f64
            },
            declined_out_of_scope: share(self.declined_oos, n_oos),
            declined_answerable: share(self.declined_ans, n_ans),
        }
    }
}

/// Runs the evaluation. `corpus` feeds the baseline; `index` and `config` are ours.
pub fn run(
    index: &SearchIndex,
    config: &AnswerConfig,
    corpus: &Corpus,
    questions: &Questions,
) -> Result<Report> {
    let baseline = Baseline::build(corpus)?;
    let mut report = run_once(index, config, questions, Some(&baseline))?;
    for step in 4..=14 {
        let t = step as f32 * 0.05;
        let c = AnswerConfig {
            min_coverage: t,
            ..config.clone()
        };
        // The baseline does not depend on the threshold: score it once, above.
        let r = run_once(index, &c, questions, None)?;
        report.sweep.push((t, r.ours_passage));
    }
    Ok(report)
}

fn run_once(
    index: &SearchIndex,
    config: &AnswerConfig,
    questions: &Questions,
    baseline: Option<&Baseline>,
) -> Result<Report> {
    let opts = AskOptions {
        document: None,
        top: Some(10),
    };
    let (mut passage, mut document, mut base) = (Tally::new(), Tally::new(), Tally::new());
    let mut rows = Vec::new();
    for a in &questions.answerable {
        let ans = answer::answer(index, &a.q, config, &opts)?;
        let right = |id: &str, text: &str| {
            a.passage.iter().any(|p| p == id)
                || (!a.contains.is_empty() && {
                    let t = text.to_lowercase();
                    a.contains.iter().all(|w| t.contains(&w.to_lowercase()))
                })
        };
        let rank = ans
            .citations
            .iter()
            .position(|c| right(&c.passage_id, &c.text))
            .map(|i| i + 1);
        passage.add(rank, ans.answered);
        let right_docs: Vec<&str> = a.passage.iter().map(|p| doc_of(p)).collect();
        let mut seen = Vec::new();
        for c in &ans.citations {
            if !seen.contains(&c.doc_slug) {
                seen.push(c.doc_slug.clone());
            }
        }
        let doc_rank = if a.passage.is_empty() {
            rank
        } else {
            seen.iter()
                .position(|d| right_docs.contains(&d.as_str()))
                .map(|i| i + 1)
        };
        document.add(doc_rank, ans.answered);
        if let Some(baseline) = baseline {
            let base_docs = baseline.search(&a.q)?;
            let base_rank = base_docs
                .iter()
                .position(|d| right_docs.contains(&d.as_str()))
                .map(|i| i + 1);
            base.add(base_rank, !base_docs.is_empty());
        }
        rows.push(Row {
            question: a.q.clone(),
            rank,
            answered: ans.answered,
            top: ans.citations.first().map(|c| c.passage_id.clone()),
        });
    }
    let mut wrongly_answered = Vec::new();
    for o in &questions.out_of_scope {
        let ans = answer::answer(index, &o.q, config, &opts)?;
        if ans.answered {
            wrongly_answered.push(o.q.clone());
        } else {
            passage.declined_oos += 1;
            document.declined_oos += 1;
        }
        if let Some(baseline) = baseline {
            base.declined_oos += usize::from(baseline.search(&o.q)?.is_empty());
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.rank.map_or(usize::MAX, |r| r)));
    let (n_ans, n_oos) = (questions.answerable.len(), questions.out_of_scope.len());
    Ok(Report {
        answerable: n_ans,
        out_of_scope: n_oos,
        ours_passage: passage.metrics(n_ans, n_oos),
        ours_document: document.metrics(n_ans, n_oos),
        baseline_document: base.metrics(n_ans, n_oos),
        rows,
        wrongly_answered,
        sweep: Vec::new(),
    })
}

/// Whole documents in a RAM index with tantivy's defaults.
struct Baseline {
    index: Index,
    parser: QueryParser,
    slug: tantivy::schema::Field,
}

impl Baseline {
    fn build(corpus: &Corpus) -> Result<Baseline> {
        let mut b = Schema::builder();
        let slug = b.add_text_field("slug", STORED);
        let title = b.add_text_field("title", TEXT);
        let body = b.add_text_field("body", TEXT);
        let index = Index::create_in_ram(b.build());
        let mut w: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
        for d in &corpus.documents {
            let mut doc = TantivyDocument::default();
            doc.add_text(slug, &d.slug);
            doc.add_text(title, &d.meta.title);
            let text: Vec<String> = d
                .passages
                .iter()
                .map(|p| format!("{}\n{}", p.section_path(), p.text))
                .collect();
            doc.add_text(body, text.join("\n\n"));
            w.add_document(doc)?;
        }
        w.commit()?;
        let parser = QueryParser::for_index(&index, vec![title, body]);
        Ok(Baseline {
            index,
            parser,
            slug,
        })
    }

    /// Document slugs, best first, top 3.
    fn search(&self, q: &str) -> Result<Vec<String>> {
        use tantivy::schema::Value;
        let (query, _errors) = self.parser.parse_query_lenient(q);
        let searcher = self.index.reader()?.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(3).order_by_score())?;
        let mut out = Vec::new();
        for (_, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            out.push(
                d.get_first(self.slug)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        Ok(out)
    }
}

/// The report as a table and a summary line, as `ohwb-bot eval` prints it.
pub fn render(r: &Report, verbose: bool) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{} answerable, {} out-of-scope questions\n\n",
        r.answerable, r.out_of_scope
    ));
    s.push_str(
        "| metric | ours (passage) | ours (document) | baseline (document) |\n|---|---|---|---|\n",
    );
    let row = |name: &str, f: fn(&Metrics) -> f64| {
        format!(
            "| {name} | {:.3} | {:.3} | {:.3} |\n",
            f(&r.ours_passage),
            f(&r.ours_document),
            f(&r.baseline_document)
        )
    };
    s.push_str(&row("hit@1", |m| m.hit_at_1));
    s.push_str(&row("hit@3", |m| m.hit_at_3));
    s.push_str(&row("MRR", |m| m.mrr));
    s.push_str(&row("out-of-scope declined", |m| m.declined_out_of_scope));
    s.push_str(&row("answerable declined", |m| m.declined_answerable));
    s.push_str("\ndecline threshold (answer.min_coverage) trade-off, ours at passage level:\n| min_coverage | hit@1 | hit@3 | out-of-scope declined | answerable declined |\n|---|---|---|---|---|\n");
    for (t, m) in &r.sweep {
        s.push_str(&format!(
            "| {t:.2} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            m.hit_at_1, m.hit_at_3, m.declined_out_of_scope, m.declined_answerable
        ));
    }
    if verbose {
        s.push_str("\nmisses (rank of the right passage, or - ):\n");
        for row in r.rows.iter().filter(|x| x.rank != Some(1)) {
            s.push_str(&format!(
                "  {:>2}  {}  -> {}\n",
                row.rank.map_or("-".to_string(), |r| r.to_string()),
                row.question,
                row.top
                    .as_deref()
                    .unwrap_or(if row.answered { "?" } else { "(declined)" })
            ));
        }
        for q in &r.wrongly_answered {
            s.push_str(&format!("  answered out-of-scope: {q}\n"));
        }
    }
    s.push_str(&format!(
        "\nsummary: hit@1 {:.3}, hit@3 {:.3}, MRR {:.3}, out-of-scope declined {:.3} (baseline document-level: hit@1 {:.3}, hit@3 {:.3}, MRR {:.3}, declined {:.3})\n",
        r.ours_passage.hit_at_1,
        r.ours_passage.hit_at_3,
        r.ours_passage.mrr,
        r.ours_passage.declined_out_of_scope,
        r.baseline_document.hit_at_1,
        r.baseline_document.hit_at_3,
        r.baseline_document.mrr,
        r.baseline_document.declined_out_of_scope
    ));
    s
}
