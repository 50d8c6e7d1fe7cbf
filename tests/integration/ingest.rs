//! `ohwb-bot ingest` on the committed fixtures (tests/fixtures/ingest/, made by
//! scripts/make-ingest-fixtures.py): structure kept, boilerplate dropped, bad files refused with
//! nothing written, and an ingested PDF cited with its page once indexed.

use std::path::{Path, PathBuf};

use crate::common::{bot_cmd, corpus_copy, run_bin, snapshot, Run};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ingest")
        .join(name)
}

fn ingest(config: &ohwb_bot::config::Config, args: &[&str]) -> Run {
    run_bin(config, &[&["ingest"], args].concat())
}

/// The heading lines of a Markdown file, without their `#`s.
fn headings(md: &str) -> Vec<String> {
    md.lines()
        .filter(|l| l.starts_with("## ") || l.starts_with("### "))
        .map(|l| l.trim_start_matches('#').trim().replace('\\', ""))
        .collect()
}

#[test]
fn every_fixture_becomes_a_reviewable_corpus_document() {
    let (_dir, config) = corpus_copy();
    struct Case {
        file: &'static str,
        extra: &'static [&'static str],
        written: &'static str,
        title: &'static str,
        published: &'static str,
        headings: &'static [&'static str],
        kept: &'static [&'static str],
        dropped: &'static [&'static str],
    }
    let cases = [
        Case {
            file: "referral-guide.pdf",
            extra: &["--published", "2024-01"],
            written: "ingested/occupational-health-referral-guide.md",
            title: "Occupational Health Referral Guide",
            published: "2024-01",
            headings: &[
                "1 Introduction",
                "2 Making a referral",
                "2.1 Who can refer",
                "3 Health surveillance",
                "4 Contacts",
            ],
            kept: &[
                "<!-- page: 3 -->",
                "| Noise | Hearing test | Every two years |",
                "It does not replace your GP",
                "from the PDF's outline",
            ],
            dropped: &["version 3", "Page 2 of 4", "Page 4"],
        },
        Case {
            file: "back-care-leaflet.pdf",
            extra: &["--published", "2023"],
            written: "ingested/looking-after-your-back-at-work.md",
            title: "Looking after your back at work",
            published: "2023",
            headings: &["Why backs matter", "Moving and handling", "Getting help"],
            kept: &["<!-- page: 2 -->", "gentle activity", "from font size"],
            dropped: &[],
        },
        Case {
            file: "wellbeing-hub.html",
            extra: &[],
            written: "ingested/staff-wellbeing-hub.md",
            title: "Staff wellbeing hub",
            // From the page's own article:published_time.
            published: "2024-03-05",
            headings: &["What the hub offers", "Opening hours", "Out of hours"],
            kept: &[
                "- Financial wellbeing advice",
                "| Saturday | 10am to 2pm |",
                "including bank staff",
            ],
            dropped: &[
                "cookies",
                "Jobs",
                "Privacy",
                "Related pages",
                "Example Trust home",
                "analytics",
                "Home > Staff",
            ],
        },
        Case {
            file: "flexible-working.docx",
            extra: &[],
            written: "ingested/flexible-working-and-health.md",
            title: "Flexible working and health",
            // From docProps/core.xml.
            published: "2025-01-15",
            headings: &["Purpose", "Adjustments that may help", "How to ask"],
            kept: &[
                "- Changes to shift patterns",
                "2. Ask occupational health for advice",
            ],
            dropped: &[],
        },
        Case {
            file: "at-a-glance.txt",
            extra: &["--published", "2025-06-01", "--title", "OH at a glance"],
            written: "ingested/oh-at-a-glance.md",
            title: "OH at a glance",
            published: "2025-06-01",
            headings: &[],
            kept: &["Staff can refer themselves for advice."],
            dropped: &[],
        },
    ];
    for c in &cases {
        let file = fixture(c.file);
        let run = ingest(
            &config,
            &[
                &[
                    file.to_str().unwrap(),
                    "--url",
                    "https://example.nhs.uk/doc",
                ],
                c.extra,
            ]
            .concat(),
        );
        assert_eq!(run.code, Some(0), "{}: {}", c.file, run.stderr);
        assert!(run.stdout.contains("Not indexed yet"), "{}", run.stdout);
        let path = config.paths.corpus.join(c.written);
        assert!(
            run.stdout.contains(&path.display().to_string()),
            "{}",
            run.stdout
        );
        let md = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", c.file));
        assert!(
            md.contains(&format!("title = \"{}\"", c.title)),
            "{}:\n{md}",
            c.file
        );
        assert!(
            md.contains(&format!("published = \"{}\"", c.published)),
            "{}:\n{md}",
            c.file
        );
        assert_eq!(headings(&md), c.headings, "{}:\n{md}", c.file);
        for k in c.kept {
            assert!(
                md.contains(k) || run.stdout.contains(k),
                "{}: `{k}` missing:\n{md}",
                c.file
            );
        }
        for d in c.dropped {
            assert!(!md.contains(d), "{}: boilerplate `{d}` kept:\n{md}", c.file);
        }
        // A valid document, every paragraph sourced (it is a background document).
        let doc = ohwb_bot::corpus::parse_document(Path::new(c.written), md.as_bytes())
            .unwrap_or_else(|p| panic!("{}: {p:?}", c.file));
        assert!(doc
            .passages
            .iter()
            .all(|p| p.url == "https://example.nhs.uk/doc"));
    }
    let check = bot_cmd(&config, &["check"]).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn bad_files_are_refused_with_the_reason_and_nothing_is_written() {
    let (_dir, config) = corpus_copy();
    let url = "https://example.nhs.uk/doc";
    let guide = fixture("referral-guide.pdf");
    let guide = guide.to_str().unwrap();
    // One good file first, to test that it is never overwritten.
    assert_eq!(ingest(&config, &[guide, "--url", url]).code, Some(0));
    let before = snapshot(&config.paths.corpus);
    let f = |n: &str| fixture(n).to_str().unwrap().to_string();
    let rows: Vec<(Vec<String>, &str)> = vec![
        (vec![f("encrypted.pdf")], "encrypted"),
        (vec![f("scanned.pdf")], "no text layer"),
        (vec![f("malformed.pdf")], "malformed or truncated"),
        (vec![f("empty.pdf")], "is empty (0 bytes)"),
        (vec![f("not-word.docx")], "not a Word document"),
        (vec![f("at-a-glance.txt")], "--published"),
        (vec![guide.to_string()], "already exists: pass --force"),
        (
            vec![
                guide.to_string(),
                "--out".into(),
                config
                    .paths
                    .corpus
                    .join("strategy/growing-ohwb-together.md")
                    .display()
                    .to_string(),
            ],
            "already exists",
        ),
        (
            vec![
                guide.to_string(),
                "--title".into(),
                "Growing OHWB Together".into(),
                "--out".into(),
                config
                    .paths
                    .corpus
                    .join("x/growing-ohwb-together.md")
                    .display()
                    .to_string(),
            ],
            "same document id",
        ),
        (vec![f("no-such-file.pdf")], "No such file"),
    ];
    for (args, reason) in &rows {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        if !all.contains(&"--url") {
            all.extend(["--url", url]);
        }
        let run = ingest(&config, &all);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stdout);
        assert!(
            run.stderr.contains(reason),
            "{args:?}: expected `{reason}` in {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert_eq!(
            snapshot(&config.paths.corpus),
            before,
            "{args:?} changed the corpus"
        );
    }
    for bad_url in [
        "example.nhs.uk/doc",
        "javascript:alert(1)",
        "file:///etc/passwd",
    ] {
        let run = ingest(&config, &[guide, "--url", bad_url, "--force"]);
        assert_eq!(run.code, Some(1), "{bad_url}");
        assert!(run.stderr.contains("--url"), "{}", run.stderr);
    }
    assert_eq!(snapshot(&config.paths.corpus), before);
    // --force replaces.
    let run = ingest(
        &config,
        &[guide, "--url", url, "--force", "--published", "2022"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

/// An ingested PDF goes through `index` unchanged, and a citation from it names its page and
/// links to that page of the original.
#[test]
fn an_ingested_pdf_is_cited_with_its_page() {
    let (_dir, config) = corpus_copy();
    let guide = fixture("referral-guide.pdf");
    let run = ingest(
        &config,
        &[
            guide.to_str().unwrap(),
            "--url",
            "https://example.nhs.uk/guide.pdf",
            "--published",
            "2024-06",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let index = bot_cmd(&config, &["index"]).output().unwrap();
    assert!(
        index.status.success(),
        "{}",
        String::from_utf8_lossy(&index.stderr)
    );
    let out = bot_cmd(
        &config,
        &[
            "ask",
            "--json",
            "--source",
            "occupational-health-referral-guide",
            "how often is the hearing test for noise",
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let top = &v["citations"][0];
    assert_eq!(top["page"], 3, "{v:#}");
    assert_eq!(
        top["url"], "https://example.nhs.uk/guide.pdf#page=3",
        "{v:#}"
    );
    assert_eq!(top["dated"], "published June 2024", "{v:#}");
    let text = bot_cmd(
        &config,
        &[
            "ask",
            "--source",
            "occupational-health-referral-guide",
            "how often is the hearing test for noise",
        ],
    )
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("· page 3 · published June 2024"), "{text}");
}
