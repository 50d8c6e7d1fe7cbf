use crate::common::{self, front_matter, temp_corpus};
use ohwb_bot::index::{self, Freshness, SearchIndex, SearchRequest};
use ohwb_bot::{corpus, Error};

fn doc(title: &str, body: &str) -> String {
    common::sourced(&format!(
        "{}# {title}\n\n{body}",
        front_matter(title, "strategy")
    ))
}

fn search(index: &SearchIndex, word: &str) -> Vec<String> {
    let req = SearchRequest::words(index.analyze(word), 10);
    index
        .search(&req)
        .unwrap()
        .into_iter()
        .map(|h| h.passage_id)
        .collect()
}

#[test]
fn round_trip_keeps_every_passage_and_its_fields() {
    let corpus_dir = temp_corpus(&[
        ("a.md", doc("Alpha", "## Prevention\n\nPrevention comes first in alpha.\n\n## Access\n\nAccess for everyone.\n")),
        ("sub/b.md", doc("Beta", "## Tables\n\n| x | y |\n|---|---|\n| zebra | 2 |\n")),
    ]);
    let index_dir = tempfile::tempdir().unwrap();
    let report = index::rebuild(corpus_dir.path(), index_dir.path(), &common::embedder()).unwrap();
    assert_eq!((report.documents, report.passages), (2, 3));
    assert_eq!(report.changes.added, vec!["a", "b"]);

    let index = SearchIndex::open(index_dir.path(), common::embedder()).unwrap();
    let loaded = corpus::load(corpus_dir.path()).unwrap();
    let ids: Vec<&str> = loaded
        .documents
        .iter()
        .flat_map(|d| d.passages.iter().map(|p| p.id.as_str()))
        .collect();
    assert_eq!(ids, ["a/prevention/1", "a/access/1", "b/tables/1"]);
    assert_eq!(index.num_passages(), 3);
    assert_eq!(
        search(&index, "preventing"),
        ["a/prevention/1"],
        "stemmed match"
    );
    assert_eq!(
        search(&index, "zebra"),
        ["b/tables/1"],
        "table cells are searchable"
    );

    let hit = &index
        .search(&SearchRequest::words(vec!["access".into()], 1))
        .unwrap()[0];
    assert_eq!(hit.document, "Alpha");
    assert_eq!(hit.section, "Access");
    // The page its source comment names (common::sourced), not the document's own link.
    assert_eq!(hit.url, "https://example.org/page");
    assert_eq!(hit.page, None);
    assert_eq!(hit.kind, "strategy");
    assert_eq!(hit.text, "Access for everyone.");
}

#[test]
fn a_bad_file_leaves_the_previous_index_serving_and_is_named() {
    let corpus_dir = temp_corpus(&[(
        "a.md",
        doc("Alpha", "## One\n\nFirst text about kestrels.\n"),
    )]);
    let index_dir = tempfile::tempdir().unwrap();
    index::rebuild(corpus_dir.path(), index_dir.path(), &common::embedder()).unwrap();
    let before = std::fs::read(index_dir.path().join("current.json")).unwrap();

    std::fs::write(
        corpus_dir.path().join("broken.md"),
        "no front matter here\n",
    )
    .unwrap();
    std::fs::write(
        corpus_dir.path().join("bad-utf8.md"),
        b"+++\n\xff\xfe\n+++\n",
    )
    .unwrap();
    let err = index::rebuild(corpus_dir.path(), index_dir.path(), &common::embedder()).unwrap_err();
    let Error::Corpus(problems) = &err else {
        panic!("{err}")
    };
    let named: Vec<String> = problems
        .iter()
        .map(|p| p.path.display().to_string())
        .collect();
    assert_eq!(named, ["bad-utf8.md", "broken.md"]);
    assert_eq!(
        std::fs::read(index_dir.path().join("current.json")).unwrap(),
        before
    );

    // Asking still works, from the old index, and says why it did not rebuild.
    let (index, freshness) =
        index::open_fresh(corpus_dir.path(), index_dir.path(), &common::embedder()).unwrap();
    assert!(matches!(freshness, Freshness::StaleCorpusInvalid(ref p) if p.len() == 2));
    assert_eq!(search(&index, "kestrels"), ["a/one/1"]);
}

#[test]
fn the_index_is_reused_until_the_corpus_changes() {
    let corpus_dir = temp_corpus(&[("a.md", doc("Alpha", "## One\n\nOld words about herons.\n"))]);
    let index_dir = tempfile::tempdir().unwrap();
    let (_, f) =
        index::open_fresh(corpus_dir.path(), index_dir.path(), &common::embedder()).unwrap();
    assert!(matches!(f, Freshness::Rebuilt(_)));
    let (_, f) =
        index::open_fresh(corpus_dir.path(), index_dir.path(), &common::embedder()).unwrap();
    assert!(matches!(f, Freshness::UpToDate));

    std::fs::write(
        corpus_dir.path().join("a.md"),
        doc("Alpha", "## One\n\nNew words about egrets.\n"),
    )
    .unwrap();
    let (index, f) =
        index::open_fresh(corpus_dir.path(), index_dir.path(), &common::embedder()).unwrap();
    let Freshness::Rebuilt(report) = f else {
        panic!("{f:?}")
    };
    assert_eq!(report.changes.updated, vec!["a"]);
    assert_eq!(search(&index, "egrets"), ["a/one/1"]);
    assert!(search(&index, "herons").is_empty());
    // Old generations are cleaned up: the served one and at most one before it remain.
    let gens = std::fs::read_dir(index_dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gen-")
        })
        .count();
    assert!(gens <= 2, "{gens} generations left");
}

#[test]
fn no_index_and_a_bad_corpus_is_an_error_naming_the_file() {
    let corpus_dir = temp_corpus(&[("empty.md", front_matter("Empty", "strategy"))]);
    let index_dir = tempfile::tempdir().unwrap();
    let err = index::open_fresh(corpus_dir.path(), index_dir.path(), &common::embedder())
        .err()
        .unwrap();
    assert!(err.to_string().contains("empty.md"), "{err}");
    assert!(err.to_string().contains("empty document"), "{err}");
}

/// The names in a directory, sorted.
fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_directory_that_is_not_an_index_is_refused_and_left_alone() {
    let corpus_dir = temp_corpus(&[("a.md", doc("Alpha", "## One\n\nSome words.\n"))]);
    let shared = tempfile::tempdir().unwrap();
    std::fs::create_dir(shared.path().join("gen-keep")).unwrap();
    std::fs::write(shared.path().join("gen-keep/thesis.docx"), "mine").unwrap();
    std::fs::write(shared.path().join("notes.txt"), "mine too").unwrap();
    let before = entries(shared.path());
    let err = index::rebuild(corpus_dir.path(), shared.path(), &common::embedder()).unwrap_err();
    assert!(err.to_string().contains("not an ohwb-bot index"), "{err}");
    assert_eq!(entries(shared.path()), before);
    assert_eq!(
        std::fs::read_to_string(shared.path().join("gen-keep/thesis.docx")).unwrap(),
        "mine"
    );
}

#[test]
fn the_repositorys_own_index_folder_is_claimed_and_its_gitignore_kept() {
    // A fresh clone has `index/` holding only the committed `.gitignore`.
    let corpus_dir = temp_corpus(&[("a.md", doc("Alpha", "## One\n\nSome words.\n"))]);
    let index_dir = tempfile::tempdir().unwrap();
    let ignore = std::fs::read_to_string("index/.gitignore").unwrap();
    std::fs::write(index_dir.path().join(".gitignore"), &ignore).unwrap();
    let embedder = common::embedder();
    for _ in 0..2 {
        index::rebuild(corpus_dir.path(), index_dir.path(), &embedder).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(index_dir.path().join(".gitignore")).unwrap(),
        ignore
    );
}

#[test]
fn builds_delete_only_the_generations_they_wrote() {
    let corpus_dir = temp_corpus(&[("a.md", doc("Alpha", "## One\n\nSome words.\n"))]);
    let index_dir = tempfile::tempdir().unwrap();
    let embedder = common::embedder();
    index::rebuild(corpus_dir.path(), index_dir.path(), &embedder).unwrap();
    // Someone's own files, named like ours, put in the index directory after the first build.
    std::fs::create_dir(index_dir.path().join("gen-keep")).unwrap();
    std::fs::write(index_dir.path().join("gen-keep/data"), "mine").unwrap();
    std::fs::write(index_dir.path().join("current.json.tmp-notes"), "mine").unwrap();
    for _ in 0..3 {
        index::rebuild(corpus_dir.path(), index_dir.path(), &embedder).unwrap();
    }
    let names = entries(index_dir.path());
    assert!(names.contains(&"gen-keep".to_string()), "{names:?}");
    assert!(
        names.contains(&"current.json.tmp-notes".to_string()),
        "{names:?}"
    );
    // The served generation and the one before it; the older ones are gone.
    let ours = names
        .iter()
        .filter(|n| n.starts_with("gen-") && *n != "gen-keep")
        .count();
    assert_eq!(ours, 2, "{names:?}");
    assert!(SearchIndex::open(index_dir.path(), embedder).is_ok());
}

#[test]
fn a_failed_build_leaves_no_generation_behind() {
    let (_dir, config) = common::corpus_copy();
    let ok = common::bot_cmd(&config, &["index"]).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let before = entries(&config.paths.index);
    // A change, so the next build writes a new generation, and a failure after it is written.
    std::fs::write(
        config.paths.corpus.join("strategy/extra.md"),
        doc("Extra", "## Extra\n\nMore words.\n"),
    )
    .unwrap();
    let failed = common::bot_cmd(&config, &["index"])
        .env("OHWB_TEST_FAIL_AT", "index-generation-written")
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("injected failure"));
    assert_eq!(entries(&config.paths.index), before);
}

/// A hit's matched terms are read from the term lists stored at build time, not by analysing
/// its text again: they must be exactly what analysing it would give, for passages the lexical
/// search finds and for passages fetched by id (what the dense side finds).
#[test]
fn matched_terms_are_what_analysing_the_passage_gives() {
    let index = common::real_index();
    let questions = [
        "how will occupational health services become easier to reach",
        "what did the Boorman review say about sickness absence costs",
        "who wrote the foreword of the strategy",
        "wellbeing guardians and board level champions",
        "SEQOHS accreditation standards for OH services",
    ];
    let mut checked = 0;
    for q in questions {
        let req = SearchRequest::words(index.analyze(q), 40);
        let wanted: std::collections::HashSet<String> = index.analyze(q).into_iter().collect();
        let found = index.search(&req).unwrap();
        let ids: Vec<&str> = found.iter().map(|h| h.passage_id.as_str()).collect();
        let fetched = index.passages(&ids, &req).unwrap();
        assert_eq!(fetched.len(), found.len());
        // Fetched in the order asked for, whatever order the index holds them in; an unknown
        // id is skipped.
        let mut asked: Vec<&str> = ids.iter().rev().copied().collect();
        asked.insert(asked.len() / 2, "no-such-document/none/1");
        let again: Vec<String> = index
            .passages(&asked, &req)
            .unwrap()
            .into_iter()
            .map(|h| h.passage_id)
            .collect();
        assert_eq!(
            again,
            ids.iter().rev().map(|s| s.to_string()).collect::<Vec<_>>()
        );
        for hit in found.iter().chain(&fetched) {
            let expect = |text: &str| {
                let present: std::collections::HashSet<String> =
                    index.analyze(text).into_iter().collect();
                let mut m: Vec<String> = wanted.intersection(&present).cloned().collect();
                m.sort();
                m
            };
            assert_eq!(
                hit.matched,
                expect(&format!("{}\n{}", hit.text, hit.section)),
                "{q}: {}",
                hit.passage_id
            );
            assert_eq!(
                hit.matched_title,
                expect(&hit.document),
                "{q}: {}",
                hit.passage_id
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} hits checked");
}
