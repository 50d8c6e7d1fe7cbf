use std::path::Path;

use crate::common::{assert_cited_first, corpus_copy, real_index};
use ohwb_bot::answer::{self, AskOptions};
use ohwb_bot::commands::Bot;
use ohwb_bot::config::AnswerConfig;
use ohwb_bot::eval;

/// The retrieval floors on the original (dev) questions: a little under what the pipeline
/// reaches (hit@1 0.802, hit@3 0.965, out-of-scope declined 0.95), so a ranking regression
/// fails CI.
#[test]
fn eval_holds_its_floors_and_beats_the_baseline() {
    let (questions, report) = crate::common::eval_set("questions.toml");
    assert!(questions.answerable.len() >= 60 && questions.out_of_scope.len() >= 15);
    let table = eval::render(&report, eval::Listing::Every);
    let dev = report.split("dev").expect("all of questions.toml is dev");
    assert!(report.split("test").is_none(), "{table}");
    let ours = dev.ours_passage;
    assert!(ours.hit_at_1 >= 0.78, "{table}");
    assert!(ours.hit_at_3 >= 0.94, "{table}");
    assert!(ours.declined_out_of_scope >= 0.90, "{table}");
    assert!(ours.declined_answerable <= 0.05, "{table}");
    let base = dev.baseline_document;
    assert!(dev.ours_document.hit_at_1 > base.hit_at_1 + 0.1, "{table}");
    assert!(dev.ours_document.mrr > base.mrr, "{table}");
}

#[test]
fn thesaurus_and_typos_are_explained() {
    let a = answer::answer(
        real_index(),
        "how much NHS absence is down to MSK",
        &AnswerConfig::default(),
        &AskOptions::default(),
    )
    .unwrap();
    assert!(
        a.explain
            .terms
            .iter()
            .any(|t| t.starts_with("msk → musculoskelet") && t.ends_with("(thesaurus)")),
        "{:?}",
        a.explain.terms
    );
    // The section's figures come from several pages, so its passages are split by source:
    // the right one is the one stating the MSK share.
    assert_cited_first(&a, "boorman-review-2009/sickness-absence-figures/");
    assert!(a.citations[0].text.contains("musculoskeletal"));

    let a = answer::answer(
        real_index(),
        "how many recomendations did boorman make",
        &AnswerConfig::default(),
        &AskOptions::default(),
    )
    .unwrap();
    assert!(
        a.explain
            .terms
            .iter()
            .any(|t| t.starts_with("recomendations → recommend") && t.ends_with("(typo?)")),
        "{:?}",
        a.explain.terms
    );
    assert!(a.answered);
}

#[test]
fn short_unknown_words_are_not_guessed_into_answers() {
    // "reset" is one edit from "rest"; guessing would answer an IT question from the People Promise.
    let a = answer::answer(
        real_index(),
        "how do I reset my NHS IT password",
        &AnswerConfig::default(),
        &AskOptions::default(),
    )
    .unwrap();
    assert!(!a.answered, "{:?}", a.explain);
}

#[test]
fn a_thesaurus_edit_is_picked_up_by_the_next_reindex() {
    let (_dir, config) = corpus_copy();
    let thesaurus = config.paths.corpus.join("thesaurus.toml");
    let bot = Bot::open(config.clone()).unwrap();
    let ask = |bot: &Bot| {
        answer::answer(
            &bot.index(),
            "what does the wobbly plan say about staff",
            &AnswerConfig::default(),
            &AskOptions::default(),
        )
        .unwrap()
    };
    assert!(!ask(&bot)
        .explain
        .terms
        .iter()
        .any(|t| t.contains("thesaurus")));
    let mut text = std::fs::read_to_string(&thesaurus).unwrap();
    text.push_str("\"wobbly plan\" = [\"people plan\"]\n");
    std::fs::write(&thesaurus, text).unwrap();
    assert!(matches!(
        bot.reindex(),
        ohwb_bot::commands::ReindexOutcome::Done(_)
    ));
    let a = ask(&bot);
    assert!(
        a.explain
            .terms
            .iter()
            .any(|t| t.starts_with("wobbly plan → peopl plan")),
        "{:?}",
        a.explain.terms
    );
    assert!(
        a.citations
            .iter()
            .any(|c| c.section.contains("People Plan") || c.text.contains("People Plan")),
        "{:?}",
        a.citations
            .iter()
            .map(|c| &c.passage_id)
            .collect::<Vec<_>>()
    );

    std::fs::write(&thesaurus, "[synonyms]\noh = []\n").unwrap();
    let problems = ohwb_bot::corpus::load(&config.paths.corpus)
        .unwrap()
        .problems;
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, Path::new("thesaurus.toml"));
    assert_eq!(problems[0].line, 2);
}

#[test]
fn the_eval_command_prints_a_table_and_json() {
    let index = tempfile::tempdir().unwrap();
    crate::common::seed_vector_cache(index.path());
    let mut config = crate::common::real_config();
    config.paths.index = index.path().to_path_buf();
    let questions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eval/questions.toml");
    let v = crate::common::json_output(&mut crate::common::bot_cmd(
        &config,
        &["eval", "--json", questions.to_str().unwrap()],
    ));
    let dev = &v["splits"][0];
    assert_eq!(dev["split"], "dev");
    for k in [
        "ours_passage",
        "lexical_passage",
        "ours_document",
        "baseline_document",
    ] {
        assert!(dev[k]["hit_at_1"].is_f64() && dev[k]["mrr"].is_f64(), "{k}");
        assert!(dev[k]["answer_line_right"].is_f64(), "{k}");
    }
}
