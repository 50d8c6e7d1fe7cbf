//! `ohwb-bot check`: validates the corpus (every problem with its file and line) and reports
//! what the detector and the models will learn from (safety examples and phrases, scope
//! examples, line phrasings), with warnings for an empty `[support]` and overdue reviews.
//!
//! Invariant: exits with failure when the corpus has any problem, so a script or CI step can
//! gate a reindex on it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use ohwb_bot::config::Config;
use ohwb_bot::corpus;

use crate::output::term;

/// Checks the corpus in `corpus_dir` against `config`.
pub fn run(corpus_dir: &Path, config: &Config) -> Result<ExitCode> {
    let corpus = corpus::load(corpus_dir)?;
    if config.support.is_empty() {
        eprintln!(
            "warning: [support] in the config is empty: support answers will tell staff to \
             check their intranet or OH team instead of giving your trust's contacts"
        );
    }
    let today = ohwb_bot::dates::PartialDate::today();
    for d in &corpus.documents {
        if ohwb_bot::dates::review_overdue(d.meta.review_due.as_deref(), &today) {
            eprintln!(
                "warning: {}: review was due {} (reviewed: {}): check it against its \
                 sources, then update `reviewed` and `review_due`",
                term(&d.path.display().to_string()),
                d.meta.review_due.as_deref().unwrap_or_default(),
                d.meta.reviewed.as_deref().unwrap_or("never")
            );
        }
    }
    if corpus.problems.is_empty() {
        outln!(
            "corpus OK: {} documents, {} passages",
            corpus.documents.len(),
            corpus.passage_count()
        )?;
        let examples = ohwb_bot::safety::training_examples(
            corpus.safety_examples.as_deref().unwrap_or_default(),
        );
        let distress = examples.iter().filter(|e| e.distress).count();
        outln!(
            "safety lists OK: {} distress and {} ordinary examples (built in, plus {} of \
             this trust's), {} distress phrases",
            distress,
            examples.len() - distress,
            corpus.safety_examples.as_ref().map_or(0, Vec::len),
            {
                let mut p = ohwb_bot::safety::Phrases::builtin();
                p.extend(corpus.safety_phrases.clone().unwrap_or_default());
                p.distress.len()
            }
        )?;
        let asks: usize = corpus
            .phrasings
            .sections
            .iter()
            .map(|(_, a, _)| a.len())
            .sum();
        let outside = corpus.out_of_scope.questions().count();
        if asks == 0 || outside == 0 {
            outln!(
                "scope examples: none (phrasings.toml and out-of-scope.toml are both \
                 needed); questions in other words than the documents will be declined \
                 more often"
            )?;
        } else {
            outln!(
                "scope examples OK: {asks} questions the documents answer \
                 (phrasings.toml), {outside} they do not (out-of-scope.toml)"
            )?;
        }
        let lines = &corpus.line_phrasings.entries;
        outln!(
            "line phrasings: {} questions for {} sentences (line-phrasings.toml)",
            lines.iter().map(|e| e.asks.len()).sum::<usize>(),
            lines.len()
        )?;
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &corpus.problems {
            eprintln!("{}", term(&p_with_dir(corpus_dir, p)));
        }
        eprintln!("{} problem(s) found", corpus.problems.len());
        Ok(ExitCode::FAILURE)
    }
}

/// `p` with its path shown under `dir`, as the admin typed it.
fn p_with_dir(dir: &std::path::Path, p: &corpus::Problem) -> String {
    let full = corpus::Problem {
        path: dir.join(&p.path),
        ..p.clone()
    };
    full.to_string()
}
