use std::path::Path;
use std::process::{Command, Output};

use crate::common::{corpus_dir, front_matter, model_dir, temp_corpus};

fn bot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ohwb-bot"))
        .args(args)
        .env_remove("OHWB_LOG")
        .output()
        .expect("binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn ask_json_has_exactly_the_contracted_shape() {
    let index = tempfile::tempdir().unwrap();
    let corpus = corpus_dir();
    let out = bot(&[
        "--corpus",
        path(&corpus),
        "--index",
        path(index.path()),
        "ask",
        "--json",
        "How will occupational health services become easier to reach?",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["answer", "answered", "citations", "question"]);
    assert_eq!(
        v["question"],
        "How will occupational health services become easier to reach?"
    );
    assert_eq!(v["answered"], true);
    assert!(v["answer"].as_str().unwrap().len() > 20);
    let cites = v["citations"].as_array().unwrap();
    assert!((1..=3).contains(&cites.len()));
    for (i, c) in cites.iter().enumerate() {
        let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            // `page` too, for passages from an ingested PDF (tests/integration/ingest.rs).
            [
                "dated",
                "document",
                "passage_id",
                "rank",
                "score",
                "section",
                "snippet",
                "text",
                "url"
            ]
        );
        assert_eq!(c["rank"].as_u64(), Some(i as u64 + 1));
        assert!(c["score"].is_f64());
        assert!(c["dated"].as_str().unwrap().starts_with("published "));
        for k in [
            "document",
            "passage_id",
            "section",
            "snippet",
            "text",
            "url",
        ] {
            assert!(c[k].is_string(), "{k}");
        }
    }
    assert!(cites[0]["section"]
        .as_str()
        .unwrap()
        .contains("Inclusion, equality and ease of access"));
    assert!(
        cites[0]["snippet"].as_str().unwrap().contains("**"),
        "matched terms are marked"
    );
}

#[test]
fn global_flags_work_before_or_after_the_subcommand_and_override_config() {
    let index = tempfile::tempdir().unwrap();
    let corpus = corpus_dir();
    // A config that points somewhere useless: the flags must win.
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("bot.toml");
    std::fs::write(
        &cfg,
        "[paths]\ncorpus = \"nowhere\"\nindex = \"nowhere-index\"\nmodel = \"nowhere-model\"\n\n[answer]\ntop = 1\n",
    )
    .unwrap();
    let model = model_dir();

    let after = bot(&[
        "ask",
        "--json",
        "what is the people promise",
        "--corpus",
        path(&corpus),
        "--index",
        path(index.path()),
        "--config",
        path(&cfg),
        "--model",
        path(&model),
    ]);
    assert!(after.status.success(), "{}", text(&after.stderr));
    let v: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(
        v["citations"].as_array().unwrap().len(),
        1,
        "answer.top from the config applies"
    );

    let before = bot(&[
        "--model",
        path(&model),
        "--config",
        path(&cfg),
        "--index",
        path(index.path()),
        "--corpus",
        path(&corpus),
        "ask",
        "--json",
        "--top",
        "2",
        "what is the people promise",
    ]);
    assert!(before.status.success(), "{}", text(&before.stderr));
    let v: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    assert_eq!(
        v["citations"].as_array().unwrap().len(),
        2,
        "--top beats the config"
    );

    // Without flags, the config's (missing) corpus is reported clearly.
    let out = bot(&["--config", path(&cfg), "check"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("nowhere"),
        "{}",
        text(&out.stderr)
    );

    let out = bot(&["--config", "/no/such/config.toml", "check"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("/no/such/config.toml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn declined_questions_are_valid_json_with_no_citations() {
    let index = tempfile::tempdir().unwrap();
    let out = bot(&[
        "--corpus",
        path(&corpus_dir()),
        "--index",
        path(index.path()),
        "ask",
        "--json",
        "what is on the canteen menu today?",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["answered"], false);
    assert_eq!(v["citations"].as_array().unwrap().len(), 0);
    assert!(v["answer"].as_str().unwrap().contains("/sources"));
}

#[test]
fn bad_input_gets_a_clear_error_not_a_panic() {
    let index = tempfile::tempdir().unwrap();
    let corpus = corpus_dir();
    let base = ["--corpus", path(&corpus), "--index", path(index.path())];
    let run = |extra: &[&str]| bot(&[&base[..], extra].concat());

    let out = run(&["ask", "   "]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("question is empty"),
        "{}",
        text(&out.stderr)
    );

    let out = run(&["ask", "--top", "0", "x"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");

    let out = run(&["ask", "--source", "no-such-doc", "anything"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown source"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("boorman-review-2009"),
        "lists the choices"
    );

    for out in [
        &run(&["ask", "title:( AND \"🙂"]),
        &run(&["ask", "--json", &"x ".repeat(5000)]),
    ] {
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("panicked"));
    }
}

#[test]
fn check_and_index_name_every_bad_file_and_keep_the_old_index() {
    let good = crate::common::sourced(&format!(
        "{}## One\n\nSome words about otters.\n",
        front_matter("Good", "strategy")
    ));
    let corpus = temp_corpus(&[("good.md", good)]);
    let index = tempfile::tempdir().unwrap();
    let base = [
        "--corpus",
        path(corpus.path()),
        "--index",
        path(index.path()),
    ];
    let run = |extra: &[&str]| bot(&[&base[..], extra].concat());

    let out = run(&["check"]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("1 documents, 1 passages"),
        "{}",
        text(&out.stdout)
    );

    let out = run(&["index"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Indexed 1 documents, 1 passages"),
        "{}",
        text(&out.stdout)
    );
    let manifest = std::fs::read(index.path().join("current.json")).unwrap();

    let bad = front_matter("Bad", "strategy").replace("kind = \"strategy\"", "kind = \"blog\"")
        + "## X\n\nText.\n";
    std::fs::write(corpus.path().join("bad.md"), bad).unwrap();
    let out = run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("bad.md:6:"), "{err}");
    assert!(err.contains("blog"), "{err}");

    let out = run(&["index"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("bad.md"), "{err}");
    assert!(err.contains("unchanged"), "{err}");
    assert_eq!(
        std::fs::read(index.path().join("current.json")).unwrap(),
        manifest
    );

    let out = run(&["ask", "--json", "otters"]);
    assert!(
        out.status.success(),
        "the old index still answers: {}",
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["citations"][0]["passage_id"], "good/one/1");
    assert!(
        text(&out.stderr).contains("bad.md"),
        "and warns about the bad file"
    );
}
