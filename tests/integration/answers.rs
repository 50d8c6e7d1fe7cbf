use crate::common::{ask, real_index};
use ohwb_bot::answer::{self, AskOptions};
use ohwb_bot::config::AnswerConfig;

/// (question as staff might ask it, section path the best citation must be in)
const DRIVER_QUESTIONS: &[(&str, &str)] = &[
    // Growing the strategic OHWB identity and impact
    (
        "What is the value proposition for OH?",
        "Purpose of OH and a clear value proposition",
    ),
    (
        "what does board level recognition mean for OH",
        "Board-level recognition",
    ),
    // Growing our OHWB services across systems
    (
        "How will occupational health services become easier to reach?",
        "Inclusion, equality and ease of access",
    ),
    (
        "will technology be used in occupational health",
        "Effective use of technology",
    ),
    (
        "how is OH going to get better at measuring quality",
        "Better service standards, quality, measurement",
    ),
    (
        "should OH be part of ICS-wide health and wellbeing plans",
        "Alignment with health and wellbeing in organisation and ICS-wide plans",
    ),
    // Growing our OHWB people
    (
        "is there a multidisciplinary team model",
        "Multi-disciplinary delivery model",
    ),
    (
        "why is there a shortage of OH nurses and doctors",
        "More OH workforce capacity and capability",
    ),
    (
        "what leadership programmes are there for OH people",
        "Empowered OH leadership",
    ),
    // Growing OHWB evidence-based practice
    (
        "recovery, restoration and transformation",
        "Supporting recovery, restoration and transformation",
    ),
    (
        "what are the four strategic drivers",
        "The four strategic drivers",
    ),
    ("what is the vision of the strategy", "Vision and aim"),
];

#[test]
fn questions_about_each_driver_cite_the_right_section() {
    // Rank 1 is what the eval floors hold overall; here each driver question must at least
    // cite its section among the three citations, and most must cite it first.
    let mut failures = Vec::new();
    let mut first = 0;
    for (q, section) in DRIVER_QUESTIONS {
        let a = ask(q);
        match a.citations.iter().position(|c| c.section.contains(section)) {
            Some(0) => first += 1,
            Some(_) => {}
            None => failures.push(format!(
                "{q:?}: wanted {section:?}, got {:?} (answered={})",
                a.citations.iter().map(|c| &c.section).collect::<Vec<_>>(),
                a.answered
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        first * 4 >= DRIVER_QUESTIONS.len() * 3,
        "only {first} of {} first",
        DRIVER_QUESTIONS.len()
    );
}

#[test]
fn background_documents_are_cited_for_their_own_questions() {
    let cases = [
        (
            "What did the Boorman review find about sickness absence?",
            "boorman-review-2009",
        ),
        (
            "what did dame carol black recommend about sick notes",
            "working-for-a-healthier-tomorrow-2008",
        ),
        (
            "what are the seven elements of the health and wellbeing framework",
            "health-and-wellbeing-framework-2021",
        ),
        (
            "what is the people promise",
            "people-plan-and-people-promise",
        ),
    ];
    for (q, slug) in cases {
        let a = ask(q);
        assert!(a.answered, "{q}");
        assert_eq!(a.citations[0].doc_slug, slug, "{q}");
    }
}

/// The parts of an answer line, each with the citation number that follows it.
fn line_parts(summary: &str) -> Vec<(&str, usize)> {
    let mut parts = Vec::new();
    let mut rest = summary;
    while let Some(open) = rest.find(" [") {
        let Some(close) = rest[open..].find(']').map(|c| open + c) else {
            break;
        };
        match rest[open + 2..close].parse() {
            Ok(n) => parts.push((rest[..open].trim(), n)),
            Err(_) => break,
        }
        rest = &rest[close + 1..];
    }
    parts
}

#[test]
fn answers_are_built_from_the_cited_passage() {
    let a = ask("How will occupational health services become easier to reach?");
    assert!(a.answered);
    let best = &a.citations[0];
    // Each part of the answer line is copied from a cited passage, not generated, and says
    // which.
    let parts = line_parts(&a.summary);
    assert!(!parts.is_empty(), "ends with a citation marker");
    for (line, n) in parts {
        let source = &a.citations[n - 1];
        let line = line.trim_end_matches('…');
        let text = source.text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains(line.trim()),
            "{:?} not in {:?}",
            a.summary,
            source.text
        );
    }
    assert!(best.url.starts_with("https://"));
    assert!(best.passage_id.starts_with("growing-ohwb-together/"));
    assert!(
        !best.snippet.highlights.is_empty(),
        "matched words are marked"
    );
    for r in &best.snippet.highlights {
        let word = best.snippet.text[r.clone()].to_lowercase();
        assert!(
            [
                "occupational",
                "health",
                "services",
                "easier",
                "reach",
                "become"
            ]
            .iter()
            .any(|w| word.starts_with(&w[..4])),
            "highlighted {word:?}"
        );
    }
    let ranks: Vec<usize> = a.citations.iter().map(|c| c.rank).collect();
    assert_eq!(ranks, (1..=a.citations.len()).collect::<Vec<_>>());
    assert!(a.citations.len() <= 3);
    assert!(a.citations.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn out_of_scope_questions_are_declined_without_citations() {
    for q in [
        "what is on the canteen menu today?",
        "how do I reset my IT password",
        "what is my pay band",
        "where can I park at the hospital",
    ] {
        let a = ask(q);
        assert!(
            !a.answered,
            "{q} was answered: {:?}",
            a.citations.first().map(|c| &c.section)
        );
        assert!(a.citations.is_empty(), "{q}");
        assert!(a.summary.contains("/sources"), "{q}: {}", a.summary);
    }
}

#[test]
fn the_source_filter_keeps_to_one_document() {
    let opts = AskOptions {
        document: Some("boorman-review-2009".into()),
        top: Some(5),
        ..AskOptions::default()
    };
    let a = answer::answer(
        real_index(),
        "what are the recommendations",
        &AnswerConfig::default(),
        &opts,
    )
    .unwrap();
    assert!(a.answered);
    assert!(a
        .citations
        .iter()
        .all(|c| c.doc_slug == "boorman-review-2009"));
}

#[test]
fn hostile_queries_all_return_normally() {
    let long = "occupational health ".repeat(500);
    let huge_word = "x".repeat(10_000);
    let hostile: Vec<String> = vec![
        "\"".into(),
        "\"\"\"unbalanced".into(),
        "AND".into(),
        "OR OR AND NOT".into(),
        "title:".into(),
        "document:strategy text:(".into(),
        "(".into(),
        ")))(((".into(),
        "[a TO z]".into(),
        "health~2 wellbeing^10".into(),
        "*".into(),
        "\\".into(),
        "-".into(),
        "🙂🚑💉".into(),
        "مرحبا שלום 你好".into(),
        "\0\u{7}\u{1b}[31m".into(),
        "'; DROP TABLE passages; --".into(),
        "<script>alert(1)</script>".into(),
        "@everyone @here <@123>".into(),
        "   ".into(),
        "".into(),
        long,
        huge_word,
        "a".repeat(10_000),
    ];
    for q in &hostile {
        let a = ask(q);
        assert_eq!(&a.question, q);
        if !a.answered {
            assert!(a.citations.is_empty());
        }
        assert!(a.summary.chars().count() <= answer::MAX_SUMMARY_CHARS);
    }
}

#[test]
fn list_questions_get_the_list_in_the_answer_line() {
    let a = ask("what are the 4 drivers");
    for driver in [
        "identity and impact",
        "services across systems",
        "OHWB people",
        "evidence-based practice",
    ] {
        assert!(
            a.summary.contains(driver),
            "{driver} missing from {:?}",
            a.summary
        );
    }
    let a = ask("what are the 7 elements of the wellbeing framework");
    for element in ["Relationships", "Fulfilment at work", "Data insights"] {
        assert!(
            a.summary.contains(element),
            "{element} missing from {:?}",
            a.summary
        );
    }
    assert!(a.summary.ends_with("[1]"));
}

#[test]
fn a_question_about_one_list_item_gets_that_item() {
    // The item is read under its list's heading ("the seven elements of the health and
    // wellbeing model"), so it can win the line over the list of names.
    let a = ask("what does the environment element of the wellbeing framework cover");
    assert!(
        a.summary.contains("rest, recover and succeed"),
        "{:?}",
        a.summary
    );
    // The next item's number ("6.") is not carried along as a sentence of its own.
    assert!(
        !a.summary
            .split_whitespace()
            .any(|w| (2..=3).contains(&w.len())
                && w.ends_with('.')
                && w[..w.len() - 1].chars().all(|c| c.is_ascii_digit())),
        "{:?}",
        a.summary
    );
}
