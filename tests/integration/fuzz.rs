//! Property tests over everything that reads outside input: question analysis and answering,
//! the console line parser, front-matter parsing and the Markdown splitter, link validation,
//! and terminal output. Each runs a bounded number of cases in `cargo test`
//! (`OHWB_FUZZ_CASES`, default 48); the README gives the longer run.

use std::path::Path;

use proptest::prelude::*;

use crate::common::real_index;
use ohwb_bot::answer::{self, AskOptions, MAX_SUMMARY_CHARS};
use ohwb_bot::commands::{Caller, Invocation};
use ohwb_bot::config::AnswerConfig;

fn config() -> ProptestConfig {
    let cases = std::env::var("OHWB_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    ProptestConfig {
        cases,
        // Shrinking a failure is worth a little time; a run stays bounded.
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    }
}

/// Pieces hostile text is made of: words of the corpus, typos, query syntax, Markdown, mentions,
/// control and invisible characters, other scripts, emoji, very long words.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("occupational".to_string()),
        Just("health".to_string()),
        Just("wellbeing".to_string()),
        Just("preventitive".to_string()),
        Just("OH".to_string()),
        Just("NOT".to_string()),
        Just("AND".to_string()),
        Just("title:".to_string()),
        Just("\"".to_string()),
        Just("*".to_string()),
        Just("(".to_string()),
        Just("[x](https://evil)".to_string()),
        Just("@everyone".to_string()),
        Just("<@123>".to_string()),
        Just("share:true".to_string()),
        Just("source:boorman".to_string()),
        Just("\u{1b}[31m".to_string()),
        Just("\u{200b}".to_string()),
        Just("\u{202e}".to_string()),
        Just("\0".to_string()),
        Just("\n".to_string()),
        Just("ｆｕｌｌ".to_string()),
        Just("ﬁ".to_string()),
        Just("Gesundheit".to_string()),
        Just("صحة".to_string()),
        Just("😀".to_string()),
        Just("#".to_string()),
        Just("-".to_string()),
        Just("|".to_string()),
        "[a-z]{1,60}",
        "\\PC{0,12}",
        any::<char>().prop_map(String::from),
    ]
}

fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..max).prop_map(|t| t.join(" "))
}

proptest! {
    #![proptest_config(config())]

    /// Any question is answered or declined, never an error or a panic; an answer cites what
    /// it quotes and keeps to the length limit.
    #[test]
    fn any_question_is_answered_or_declined(q in hostile_text(40)) {
        let a = answer::answer(real_index(), &q, &AnswerConfig::default(), &AskOptions::default())
            .unwrap();
        prop_assert!(a.summary.chars().count() <= MAX_SUMMARY_CHARS + 200);
        prop_assert_eq!(a.answered, !a.citations.is_empty());
        let _ = real_index().assess(&q).unwrap();
    }

    /// The console parser accepts or refuses any line with a message; it never panics, and
    /// what it accepts is a known command.
    #[test]
    fn any_console_line_parses_or_is_refused(rest in hostile_text(20), cmd in prop_oneof![
        Just("/ask"), Just("/sources"), Just("/help"), Just("/resource add"),
        Just("/resource list"), Just("/resource remove"), Just("/reindex"), Just("/nope"), Just(""),
    ]) {
        let line = format!("{cmd} {rest}");
        if let Ok(inv) = Invocation::parse(&line, Caller::operator("fuzz")) {
            let known: Vec<&str> = ohwb_bot::commands::specs().iter().map(|s| s.name).collect();
            prop_assert!(known.contains(&inv.command.as_str()));
        }
    }

    /// Any bytes as a corpus file: a document or a list of problems, never a panic.
    #[test]
    fn any_bytes_are_a_document_or_problems(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = ohwb_bot::corpus::parse_document(Path::new("x.md"), &bytes);
    }

    /// Valid front matter over any Markdown body: the corpus loads with every passage holding
    /// text, a unique id and an http(s) link, or `load` names the problem (two sections with
    /// the same heading, a bad source link).
    #[test]
    fn any_markdown_body_splits_into_sound_passages(body in prop::collection::vec(prop_oneof![
        Just("# Title\n".to_string()),
        Just("## Section\n".to_string()),
        Just("### Sub\n".to_string()),
        Just("- item\n".to_string()),
        Just("1. item\n".to_string()),
        Just("| a | b |\n|---|---|\n| 1 | 2 |\n".to_string()),
        Just("<!-- source: https://example.org/s -->\n".to_string()),
        Just("<!-- source: javascript:x -->\n".to_string()),
        Just("```\ncode\n```\n".to_string()),
        Just("> quote\n".to_string()),
        Just("\n".to_string()),
        hostile_text(12).prop_map(|t| format!("{t}\n")),
    ], 0..30)) {
        let text = format!(
            "+++\ntitle = \"T\"\nsource_url = \"https://example.org/t\"\npublisher = \"P\"\n\
             published = \"2024\"\nkind = \"background\"\n+++\n\n{}",
            body.concat()
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.md"), &text).unwrap();
        let corpus = ohwb_bot::corpus::load(dir.path()).unwrap();
        // The trust's safety files are missing from this bare corpus; nothing else may be.
        let other: Vec<_> = corpus.problems.iter().filter(|p| !p.path.starts_with("safety")).collect();
        if other.is_empty() {
            let mut ids = std::collections::HashSet::new();
            for p in corpus.documents.iter().flat_map(|d| d.passages.iter()) {
                prop_assert!(!p.text.trim().is_empty());
                prop_assert!(ids.insert(p.id.clone()), "duplicate id {}", p.id);
                prop_assert!(p.url.starts_with("https://") || p.url.starts_with("http://"));
            }
        }
    }

    /// Any string as a posted link: refused with a reason, or a public https link.
    #[test]
    fn any_link_is_refused_or_public(raw in prop_oneof![
        hostile_text(6),
        "https?://[a-z0-9.:\\[\\]%@_-]{0,40}(/[a-z%0-9]{0,10})?",
        "https://(\\d{1,3}\\.){3}\\d{1,3}(:\\d{1,5})?/",
        "https://\\[[0-9a-f:.]{2,39}\\]/",
    ]) {
        let policy = ohwb_bot::resources::Policy::default();
        if let Ok(url) = ohwb_bot::resources::check_url(&raw, policy) {
            prop_assert_eq!(url.scheme(), "https");
            prop_assert!(ohwb_bot::links::check_public(&url).is_ok());
        }
    }

    /// Whatever a string holds, the terminal form has no control character but newline.
    #[test]
    fn terminal_output_never_carries_control_characters(s in hostile_text(30)) {
        let safe = ohwb_bot::console::for_terminal(&s);
        prop_assert!(!safe.chars().any(|c| c.is_control() && c != '\n'));
    }
}
