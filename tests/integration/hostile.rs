//! Hostile input, one row per defect the hostile test pass found (issue 11): each row is what
//! an attacker or an unlucky user sends and what must come back. Rows go through the one
//! command layer (`Invocation::parse` → `Bot::execute`), as every chat front end does.
//! Item 12 needs a gateway, so it lives with the Discord tests (`discord.rs`: shutdown against a
//! silent gateway); items 1 and 14 (the index directory) live in `index.rs`.

use crate::common::{bot_cmd, corpus_copy, snapshot};
use ohwb_bot::commands::{Bot, Caller, Invocation};

fn run(bot: &Bot, line: &str) -> String {
    let inv = Invocation::parse(line, Caller::operator("tester")).unwrap();
    bot.execute(&inv).unwrap().plain_text()
}

const POSTED: &str = "/resource add url:https://www.nhs.uk/page title:Back care summary:Stretches for staff with back pain.";

/// Posting refused, with a message that says why, and nothing stored.
#[test]
fn hostile_resource_posts_are_refused_and_store_nothing() {
    let (_dir, config) = corpus_copy();
    let corpus = config.paths.corpus.clone();
    let bot = Bot::open(config).unwrap();
    assert!(run(&bot, POSTED).contains("searchable now"));
    let before = snapshot(&corpus);
    let rows: &[(&str, &str, &str)] = &[
        // (item, the line, what the reply must say)
        (
            "3 ESC",
            "/resource add url:https://www.nhs.uk/a title:Back\u{1b}[31m care summary:S",
            "control character U+001B",
        ),
        (
            "3 BEL",
            "/resource add url:https://www.nhs.uk/a title:T summary:Ring\u{7} ring",
            "control character U+0007",
        ),
        (
            "3 NUL",
            "/resource add url:https://www.nhs.uk/a title:T\u{0} summary:S",
            "control character U+0000",
        ),
        (
            "3 C1",
            "/resource add url:https://www.nhs.uk/a title:T\u{9b}2J summary:S",
            "control character U+009B",
        ),
        (
            "3 bidi",
            "/resource add url:https://www.nhs.uk/a title:T\u{202e}txt.exe summary:S",
            "control character U+202E",
        ),
        (
            "3 tags",
            "/resource add url:https://www.nhs.uk/a title:T summary:S tags:a\u{1b}b",
            "control character U+001B",
        ),
        (
            "5 .internal",
            "/resource add url:https://metadata.google.internal/computeMetadata/ title:T summary:S",
            "post a public link",
        ),
        (
            "5 .corp",
            "/resource add url:https://wiki.corp/ title:T summary:S",
            "post a public link",
        ),
        (
            "5 .lan",
            "/resource add url:https://nas.lan/ title:T summary:S",
            "post a public link",
        ),
        (
            "5 home.arpa",
            "/resource add url:https://router.home.arpa/ title:T summary:S",
            "post a public link",
        ),
        (
            "5 v4-compatible",
            "/resource add url:https://[::127.0.0.1]/ title:T summary:S",
            "post a public link",
        ),
        (
            "5 NAT64",
            "/resource add url:https://[64:ff9b::127.0.0.1]/ title:T summary:S",
            "post a public link",
        ),
        (
            "5 6to4",
            "/resource add url:https://[2002:7f00:1::1]/ title:T summary:S",
            "post a public link",
        ),
        (
            "5 0/8",
            "/resource add url:https://0.1.2.3/ title:T summary:S",
            "post a public link",
        ),
        (
            "5 multicast",
            "/resource add url:https://224.0.0.1/ title:T summary:S",
            "post a public link",
        ),
        (
            "5 240/4",
            "/resource add url:https://240.0.0.1/ title:T summary:S",
            "post a public link",
        ),
        (
            "5 port 0",
            "/resource add url:https://www.nhs.uk:0/ title:T summary:S",
            "port is 0",
        ),
        (
            "6 root dot",
            "/resource add url:https://www.nhs.uk./page title:T summary:S",
            "already",
        ),
        (
            "6 escaped",
            "/resource add url:https://www.nhs.uk/%70age title:T summary:S",
            "already",
        ),
        (
            "6 tracking",
            "/resource add url:https://www.nhs.uk/page?UTM_SOURCE=mail title:T summary:S",
            "already",
        ),
    ];
    for (item, line, want) in rows {
        let reply = run(&bot, line);
        assert!(reply.contains(want), "item {item}: {line:?} got {reply}");
        assert_eq!(snapshot(&corpus), before, "item {item} stored something");
    }
}

/// Output that reaches a terminal never carries a control character from a document.
#[test]
fn control_characters_in_documents_never_reach_the_terminal() {
    let (_dir, config) = corpus_copy();
    std::fs::write(
        config.paths.corpus.join("strategy/evil.md"),
        "+++\ntitle = \"Evil\\u001b]0;pwned\\u0007 title\"\nsource_url = \"https://example.org/e\"\n\
         publisher = \"X\"\npublished = \"2024\"\nkind = \"background\"\n+++\n\n\
         # Evil\n\n## Zebra crossings\n\nZebra crossings\u{1b}[2J are painted \u{9b}stripes.\n\
         <!-- source: https://example.org/zebra -->\n",
    )
    .unwrap();
    let index = bot_cmd(&config, &["index"]).output().unwrap();
    assert!(
        index.status.success(),
        "{}",
        String::from_utf8_lossy(&index.stderr)
    );
    for args in [
        vec!["sources"],
        vec!["ask", "zebra crossings painted stripes"],
        vec!["ask", "--explain", "zebra\u{1b}[31m crossings"],
    ] {
        let out = bot_cmd(&config, &args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Evil") || text.contains("zebra"),
            "{args:?}: {text}"
        );
        assert!(
            !text
                .chars()
                .any(|c| (c.is_control() && c != '\n') || c == '\u{9b}'),
            "{args:?} printed a control character: {text:?}"
        );
    }
    let console = {
        use std::io::Write;
        let mut child = bot_cmd(&config, &["console"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // Item 8: a line that is not UTF-8 is reported and the session goes on.
        stdin
            .write_all(b"/ask zebra \xff\xfe crossings\n/sources\n")
            .unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    };
    assert!(console.status.success());
    let text = String::from_utf8_lossy(&console.stdout);
    assert!(text.contains("line 1 is not valid UTF-8"), "{text}");
    assert!(text.contains("Evil"), "the next line still ran: {text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
}

/// Item 7: a long question costs bounded work. One repeated misspelt word is analysed once,
/// and a question past the answer limit gets a polite message (after the distress check,
/// which still reads it whole).
#[test]
fn long_and_repetitive_questions_cost_bounded_work() {
    let index = crate::common::real_index();
    let concepts = ohwb_bot::query::analyse(index, &"preventitve ".repeat(80));
    assert_eq!(concepts.len(), 1, "{concepts:?}");
    let distinct: String = (0..60).map(|i| format!("zqxv{i}wort ")).collect();
    let typos = ohwb_bot::query::analyse(index, &distinct)
        .iter()
        .filter(|c| !c.alternatives.is_empty())
        .count();
    assert!(typos <= ohwb_bot::query::MAX_TYPO_WORDS, "{typos}");

    let (_dir, config) = corpus_copy();
    let bot = Bot::open(config).unwrap();
    let long = format!("/ask {}", "occupational health prevention ".repeat(200));
    let reply = run(&bot, &long);
    assert!(reply.contains("one question at a time"), "{reply}");
    assert!(reply.contains("Please ask a shorter question"), "{reply}");
    // A long message that discloses distress still gets the crisis reply first.
    let distress = format!(
        "/ask {} and honestly i took all my tablets an hour ago",
        "the rota is a mess this month. ".repeat(150)
    );
    assert!(run(&bot, &distress).contains("999"));
}

/// Item 9: a closed pipe ends a command quietly (exit 0, as ripgrep does); a full disk is an
/// error message and exit 1; neither panics. `resource list` included: it has stored nothing.
#[test]
fn closed_and_full_stdout_end_cleanly() {
    let (_dir, config) = corpus_copy();
    let built = bot_cmd(&config, &["index"]).output().unwrap();
    assert!(built.status.success());
    for args in [vec!["sources"], vec!["check"], vec!["resource", "list"]] {
        let full = bot_cmd(&config, &args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&full.stderr);
        assert_eq!(full.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("No space left"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");

        let mut child = bot_cmd(&config, &args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let closed = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&closed.stderr);
        assert_eq!(closed.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Item 8: zero-width characters, soft hyphens, ANSI codes or full-width letters inside words
/// change nothing: the same passage is cited as for the plain question, and a disclosure
/// hidden the same way still gets the crisis reply.
#[test]
fn invisible_characters_inside_words_change_nothing() {
    let index = crate::common::real_index();
    let config = ohwb_bot::config::AnswerConfig::default();
    let ask = |q: &str| {
        ohwb_bot::answer::answer(index, q, &config, &Default::default())
            .unwrap()
            .citations
            .first()
            .map(|c| c.passage_id.clone())
    };
    let plain = ask("how will occupational health become easier to reach");
    assert!(plain.is_some());
    for hidden in [
        "how will occupa\u{200B}tional health become easier to re\u{00AD}ach",
        "how will \u{1b}[1moccupational\u{1b}[0m health become easier to reach",
        "how will ｏｃｃｕｐａｔｉｏｎａｌ health become easier to reach",
        "how will occupational\u{2060} health\u{FEFF} become easier to reach",
    ] {
        assert_eq!(ask(hidden), plain, "{hidden:?}");
    }
    let plain = index.assess("i want to kill myself").unwrap();
    let hidden = index
        .assess("i want to k\u{200B}ill my\u{00AD}self")
        .unwrap();
    assert_eq!(plain.need, ohwb_bot::safety::Need::Distress);
    assert_eq!(hidden.need, plain.need);
}

/// Items 11 and 13: `check` never says "corpus OK" while leaving a document out: a link to a
/// file outside the corpus, a FIFO and a file over the size limit are named; a link that stays
/// inside is followed.
#[cfg(unix)]
#[test]
fn files_left_out_of_the_corpus_are_named_by_check() {
    let (_dir, config) = corpus_copy();
    let corpus = &config.paths.corpus;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.md"), "not ours").unwrap();
    std::os::unix::fs::symlink(outside.path().join("x.md"), corpus.join("linked-out.md")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(corpus.join("pipe.md"))
        .status()
        .unwrap();
    assert!(status.success());
    let huge = format!(
        "+++\ntitle = \"Huge\"\nsource_url = \"https://example.org/h\"\npublisher = \"P\"\n\
         published = \"2024\"\nkind = \"background\"\n+++\n\n# Huge\n\n{}\n<!-- source: https://example.org/h -->\n",
        "word ".repeat(2 * 1024 * 1024)
    );
    std::fs::write(corpus.join("huge.md"), huge).unwrap();
    let out = bot_cmd(&config, &["check"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("linked-out.md") && err.contains("outside the corpus"),
        "{err}"
    );
    assert!(
        err.contains("pipe.md") && err.contains("not a regular file"),
        "{err}"
    );
    assert!(
        err.contains("huge.md") && err.contains("the limit is 8.0 MiB"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("corpus OK"));
}

/// Item 2: a posted resource cannot pass for the strategy. A title like a bundled document's
/// is refused; a keyword-stuffed one is marked "Posted by the OH team" wherever cited and never
/// gives the answer to a question the strategy answers; `source:` prefers the bundled document
/// when a hand-written resource copies its title.
#[test]
fn a_posted_resource_cannot_impersonate_the_strategy() {
    let (_dir, config) = corpus_copy();
    let corpus = config.paths.corpus.clone();
    let bot = Bot::open(config).unwrap();
    for title in [
        "Growing Occupational Health and Wellbeing Together",
        "growing OHWB together",
        "Growing Occupational Health & Well-being Together (2023)",
    ] {
        let reply = run(
            &bot,
            &format!(
                "/resource add url:https://www.nhs.uk/{} title:{title} summary:A summary.",
                title.len()
            ),
        );
        assert!(
            reply.contains("too close to the bundled document"),
            "{title}: {reply}"
        );
    }
    let stuffed = "/resource add url:https://www.example.org/stuffed title:Staff access guide \
        summary:How will occupational health become easier to reach? Occupational health easier \
        to reach, occupational health easier to reach, easier to reach occupational health.";
    assert!(run(&bot, stuffed).contains("searchable now"));
    let answer = run(
        &bot,
        "/ask how will occupational health become easier to reach",
    );
    let first = answer
        .lines()
        .find(|l| l.starts_with("[1]"))
        .unwrap_or_default()
        .to_string();
    assert!(
        first.contains("Growing Occupational Health and Wellbeing Together"),
        "{answer}"
    );
    assert!(!answer
        .lines()
        .next()
        .unwrap_or_default()
        .contains("easier to reach, occupational"));
    if answer.contains("Staff access guide") {
        assert!(
            answer.contains("Posted by the OH team: Staff access guide"),
            "{answer}"
        );
    }
    let only = run(
        &bot,
        "/ask how will occupational health become easier to reach source:Staff access guide",
    );
    assert!(
        only.contains("[1] Posted by the OH team: Staff access guide"),
        "{only}"
    );

    // A resource file written by hand with the strategy's exact title.
    std::fs::write(
        corpus.join("resources/posted/copy.md"),
        "+++\ntitle = \"Growing Occupational Health and Wellbeing Together\"\n\
         source_url = \"https://www.example.org/copy\"\npublisher = \"x\"\npublished = \"2024\"\n\
         kind = \"resource\"\n+++\n\n## Summary\n\nOccupational health easier to reach.\n",
    )
    .unwrap();
    assert!(run(&bot, "/reindex").contains("passages"));
    let sourced = run(
        &bot,
        "/ask how will occupational health become easier to reach source:Growing Occupational Health and Wellbeing Together",
    );
    assert!(!sourced.contains("Posted by the OH team"), "{sourced}");
    assert!(
        sourced.contains("[1] Growing Occupational Health and Wellbeing Together"),
        "{sourced}"
    );
}

/// Item 10: a build stuck while holding the index lock (paused here, as SIGSTOP or a hung NFS
/// mount would) never makes a reader wait: `ask` answers from the current index and says it is
/// being rebuilt; a writer gives up after `[index] lock_timeout_s` with a message.
#[test]
fn a_stuck_build_never_makes_readers_wait_and_writers_give_up() {
    use std::io::BufRead;
    let (dir, config) = corpus_copy();
    let built = bot_cmd(&config, &["index"]).output().unwrap();
    assert!(built.status.success());
    std::fs::write(
        config.paths.corpus.join("strategy/extra.md"),
        "+++\ntitle = \"Extra\"\nsource_url = \"https://example.org/x\"\npublisher = \"P\"\n\
         published = \"2024\"\nkind = \"background\"\n+++\n\n# Extra\n\n## More\n\nMore words.\n<!-- source: https://example.org/x -->\n",
    )
    .unwrap();
    let mut stuck = bot_cmd(&config, &["index"])
        .env("OHWB_TEST_PAUSE_AT", "index-generation-written")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(stuck.stderr.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.starts_with("PAUSED"))));

    let asked = bot_cmd(&config, &["ask", "--json", "what is a wellbeing guardian"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&asked.stderr);
    assert!(asked.status.success(), "{err}");
    assert!(
        err.contains("another process is rebuilding the index"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&asked.stdout).unwrap();
    assert_eq!(v["answered"], true);

    let config_file = dir.path().join("config.toml");
    std::fs::write(&config_file, "[index]\nlock_timeout_s = 1\n").unwrap();
    let writer = bot_cmd(&config, &["index"])
        .arg("--config")
        .arg(&config_file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&writer.stderr);
    assert!(!writer.status.success());
    assert!(err.contains("held the index lock for over 1 s"), "{err}");

    stuck.kill().unwrap();
    stuck.wait().unwrap();
}
