//! What the command line prints: an answer as text (bold matches on a terminal) or as the
//! `ask --json` contract ([`JsonAnswer`]), the `--explain` block, and the `ingest` report.
//!
//! Invariants:
//! - Text from documents, resources or the user goes through [`term`] before it reaches a
//!   terminal, so it cannot move the cursor or hide anything.
//! - `JsonAnswer`'s shape is a contract other tools rely on: it must not change without a new
//!   major version.

use std::io::IsTerminal;

use serde::Serialize;

use ohwb_bot::answer::Answer;
use ohwb_bot::commands;

/// Text from documents, resources or the user, made safe to print on a terminal.
pub(crate) fn term(s: &str) -> std::borrow::Cow<'_, str> {
    ohwb_bot::console::for_terminal(s)
}

pub(crate) fn out_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

pub(crate) fn render_text(answer: &Answer, tty: bool) -> String {
    let mut s = format!("{}\n", term(&answer.summary));
    let (open, close) = if tty {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("**", "**")
    };
    for c in &answer.citations {
        s.push_str(&format!(
            "\n{}\n    {}{}\n    {}\n",
            term(&commands::citation_name(c)),
            term(&c.url),
            term(&commands::citation_details(c)),
            c.snippet
                .marked(open, close, |t| term(&t.replace('\n', " ")).into_owned())
        ));
    }
    s
}

pub(crate) fn render_ingest(r: &ohwb_bot::ingest::Report) -> String {
    let mut s = format!(
        "wrote {} from a {} file: \"{}\", published {} (from {})\n  kept: {} heading(s) (from \
         {}), {} paragraph(s), {} list(s), {} table(s){}\n",
        r.path.display(),
        r.format,
        r.title,
        r.published,
        r.published_from,
        r.headings,
        r.headings_from,
        r.paragraphs,
        r.lists,
        r.tables,
        if r.pages > 0 {
            format!(", over {} page(s)", r.pages)
        } else {
            String::new()
        }
    );
    for l in &r.left_out {
        s.push_str(&format!("  left out: {l}\n"));
    }
    s.push_str(
        "Not indexed yet: read the file against the original, fix anything wrong (headings, \
         tables, the title and date), then run `ohwb-bot check` and `ohwb-bot index`.",
    );
    s
}

pub(crate) fn render_explain(answer: &Answer) -> String {
    let e = &answer.explain;
    let rank = |r: Option<usize>| r.map_or("-".to_string(), |r| r.to_string());
    let mut s = format!(
        "\nexplain:\n  terms: {}\n  words: best passage matches {} ({:.0}% coverage; lexical rank {})\n  meaning: similarity {:.2}, {:.1} sd above the corpus mean (dense rank {})\n",
        term(&e.terms.join(", ")),
        term(&e.matched.join(", ")),
        e.coverage * 100.0,
        rank(e.lexical_rank),
        e.cosine,
        e.standout,
        rank(e.dense_rank),
    );
    if let Some(scope) = e.scope {
        s.push_str(&format!(
            "  scope: reads like a question the documents answer {scope:.2} (answers from {:.2})\n",
            ohwb_bot::answer::IN_SCOPE
        ));
    }
    if let Some(why) = &e.declined_because {
        s.push_str(&format!("  declined: {}\n", term(why)));
    }
    for c in &answer.citations {
        s.push_str(&format!(
            "  [{}] {} score {:.3}\n",
            c.rank, c.passage_id, c.score
        ));
    }
    s
}

/// The `ask --json` contract.
#[derive(Debug, Serialize)]
pub(crate) struct JsonAnswer<'a> {
    question: &'a str,
    answered: bool,
    answer: &'a str,
    citations: Vec<JsonCitation<'a>>,
}

#[derive(Debug, Serialize)]
struct JsonCitation<'a> {
    rank: usize,
    passage_id: &'a str,
    document: &'a str,
    section: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<u32>,
    dated: &'a str,
    score: f32,
    snippet: String,
    text: &'a str,
}

impl<'a> From<&'a Answer> for JsonAnswer<'a> {
    fn from(a: &'a Answer) -> Self {
        JsonAnswer {
            question: &a.question,
            answered: a.answered,
            answer: &a.summary,
            citations: a
                .citations
                .iter()
                .map(|c| JsonCitation {
                    rank: c.rank,
                    passage_id: &c.passage_id,
                    document: &c.document,
                    section: &c.section,
                    url: &c.url,
                    page: c.page,
                    dated: &c.dated,
                    score: c.score,
                    snippet: c.snippet.marked("**", "**", str::to_string),
                    text: &c.text,
                })
                .collect(),
        }
    }
}
