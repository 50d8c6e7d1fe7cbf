use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::common::{bot_cmd, corpus_copy, snapshot};
use ohwb_bot::commands::{Bot, Caller, Invocation, ReindexOutcome};
use ohwb_bot::config::Config;
use ohwb_bot::reply::{Reply, Tone};

fn run(bot: &Bot, line: &str) -> Reply {
    let inv = Invocation::parse(line, Caller::operator("tester")).unwrap();
    bot.execute(&inv).unwrap()
}

fn cited_urls(bot: &Bot, question: &str) -> Vec<String> {
    let inv = Invocation::parse(&format!("/ask {question}"), Caller::operator("tester")).unwrap();
    let reply = bot.execute(&inv).unwrap();
    reply
        .fields
        .iter()
        .flat_map(|f| f.value.0.iter())
        .filter_map(|i| match i {
            ohwb_bot::reply::Inline::Link { url, .. } => Some(url.clone()),
            _ => None,
        })
        .collect()
}

const POST: &str = "/resource add url:https://www.example.nhs.uk/back-care title:Back care for ward staff summary:Stretches and safe moving and handling advice for nurses with lower back pain, from the trust physiotherapy team. tags:msk, back pain";

#[test]
fn a_posted_resource_is_cited_at_once_and_removal_takes_it_out() {
    let (_dir, config) = corpus_copy();
    let bot = Bot::open(config).unwrap();
    let q = "physiotherapy stretches for lower back pain";
    assert!(!cited_urls(&bot, q).contains(&"https://www.example.nhs.uk/back-care".to_string()));

    let reply = run(&bot, POST);
    assert_eq!(reply.tone, Tone::Info, "{}", reply.plain_text());
    assert_eq!(reply.title.as_deref(), Some("Resource saved"));
    let text = reply.plain_text();
    assert!(text.contains("searchable now"), "{text}");
    assert!(
        text.contains("[1] Back care for ward staff › Summary"),
        "shows how it will be cited: {text}"
    );
    let id = ohwb_bot::resources::list(bot.corpus_dir()).unwrap()[0]
        .id
        .clone();
    assert!(text.contains(&id), "shows the id: {text}");

    // Cited at once. (Not necessarily first: a bundled passage that answers the question on
    // its own goes before any posted resource; see hostile.rs, item 2.)
    assert!(
        cited_urls(&bot, q).contains(&"https://www.example.nhs.uk/back-care".to_string()),
        "{:?}",
        cited_urls(&bot, q)
    );

    let listed = run(&bot, "/resource list tag:msk").plain_text();
    assert!(
        listed.contains("Back care for ward staff") && listed.contains(&id),
        "{listed}"
    );
    assert!(run(&bot, "/resource list tag:parking")
        .plain_text()
        .contains("No posted resources have the tag"));

    let removed = run(&bot, &format!("/resource remove id:{id}"));
    assert!(
        removed.plain_text().contains("no longer cite"),
        "{}",
        removed.plain_text()
    );
    assert!(!cited_urls(&bot, q).contains(&"https://www.example.nhs.uk/back-care".to_string()));
    let again = run(&bot, &format!("/resource remove id:{id}"))
        .plain_text()
        .to_lowercase();
    assert!(again.contains("no posted resource has the id"), "{again}");
}

#[test]
fn every_validation_rule_refuses_with_its_message_and_stores_nothing() {
    let (_dir, config) = corpus_copy();
    let corpus = config.paths.corpus.clone();
    let bot = Bot::open(config).unwrap();
    run(&bot, POST);
    let before = snapshot(&corpus);
    let long_title = "t".repeat(201);
    let long_summary = "s ".repeat(1001);
    let cases: Vec<(String, &str)> = vec![
        (
            "url:http://www.example.org/a title:T summary:S".into(),
            "only https://",
        ),
        (
            "url:javascript:alert(1) title:T summary:S".into(),
            "`javascript` links are not allowed",
        ),
        (
            "url:data:text/html,x title:T summary:S".into(),
            "`data` links are not allowed",
        ),
        (
            "url:file:///etc/passwd title:T summary:S".into(),
            "`file` links are not allowed",
        ),
        (
            "url:https://me:secret@example.org/ title:T summary:S".into(),
            "user name or password",
        ),
        (
            "url:https://127.0.0.1/admin title:T summary:S".into(),
            "post a public link",
        ),
        (
            "url:https://192.168.1.10/ title:T summary:S".into(),
            "post a public link",
        ),
        (
            "url:https://localhost:8080/ title:T summary:S".into(),
            "post a public link",
        ),
        (
            "url:https://[::1]/ title:T summary:S".into(),
            "post a public link",
        ),
        (
            "url:not-a-link title:T summary:S".into(),
            "not a valid link",
        ),
        (
            format!("url:https://example.org/x title:{long_title} summary:S"),
            "the limit is 200",
        ),
        (
            format!("url:https://example.org/x title:T summary:{long_summary}"),
            "the limit is 2000",
        ),
        (
            "url:https://example.org/x title:    summary:S".into(),
            "the title is empty",
        ),
        (
            "url:https://example.org/x title:T summary:   ".into(),
            "the summary is empty",
        ),
        (
            "url:https://WWW.EXAMPLE.nhs.uk/back-care/?utm_source=chat#top title:T summary:S"
                .into(),
            "already posted as `r-back-care-for-ward-staff-",
        ),
    ];
    for (args, message) in cases {
        let reply = run(&bot, &format!("/resource add {args}"));
        assert_eq!(reply.tone, Tone::Error, "{args}");
        let text = reply.plain_text().to_lowercase();
        assert!(text.contains(&message.to_lowercase()), "{args}: {text}");
        assert!(
            text.contains("nothing was stored") || text.contains("already posted"),
            "{args}: {text}"
        );
        assert_eq!(snapshot(&corpus), before, "{args} changed the corpus");
    }
}

#[test]
fn markdown_and_mentions_in_a_post_are_text_and_never_ping() {
    let (_dir, config) = corpus_copy();
    let bot = Bot::open(config).unwrap();
    let reply = run(&bot, "/resource add url:https://example.org/m title:**Bold** @everyone <@123> summary:# not a heading [x](https://evil.example) sleep hygiene");
    assert_eq!(reply.tone, Tone::Info, "{}", reply.plain_text());
    let r = &ohwb_bot::resources::list(bot.corpus_dir()).unwrap()[0];
    assert_eq!(r.title, "**Bold** @everyone <@123>");
    let answer = run(&bot, "/ask sleep hygiene");
    let field = &answer.fields[0];
    assert!(
        field.name.contains("**Bold** @everyone <@123>"),
        "stored literally: {}",
        field.name
    );
    let parts = ohwb_bot::discord::render::layout(&answer);
    let (name, value) = &parts.fields[0];
    assert!(
        !name.contains("@everyone") && !name.contains("**Bold**"),
        "{name}"
    );
    assert!(!value.contains("[x](https://evil"), "{value}");
}

#[test]
fn a_reindex_with_a_bad_file_keeps_the_old_index_serving_and_names_the_file() {
    let (_dir, config) = corpus_copy();
    let corpus = config.paths.corpus.clone();
    let bot = Bot::open(config).unwrap();
    std::fs::write(
        corpus.join("strategy/broken.md"),
        "+++\ntitle = \"x\"\n+++\n\nno closing\n",
    )
    .unwrap();
    std::fs::write(
        corpus.join("strategy/latin1.md"),
        b"+++\ntitle = \"caf\xe9\"\n+++\n",
    )
    .unwrap();
    let reply = run(&bot, "/reindex");
    assert_eq!(reply.title.as_deref(), Some("Reindex failed"));
    let text = reply.plain_text();
    assert!(
        text.contains("strategy/broken.md") && text.contains("strategy/latin1.md"),
        "{text}"
    );
    assert!(text.contains("UTF-8"), "{text}");
    assert!(text.contains("previous index"), "{text}");
    assert!(
        !cited_urls(&bot, "what are the four strategic drivers").is_empty(),
        "still answering"
    );

    std::fs::remove_file(corpus.join("strategy/broken.md")).unwrap();
    std::fs::remove_file(corpus.join("strategy/latin1.md")).unwrap();
    std::fs::write(
        corpus.join("strategy/extra.md"),
        crate::common::sourced(&format!(
            "{}## Kingfishers\n\nKingfishers are not in the strategy.\n",
            crate::common::front_matter("Extra", "strategy")
        )),
    )
    .unwrap();
    let reply = run(&bot, "/reindex");
    assert_eq!(
        reply.title.as_deref(),
        Some("Reindex complete"),
        "{}",
        reply.plain_text()
    );
    let text = reply.plain_text();
    assert!(text.contains("Added") && text.contains("extra"), "{text}");
    assert!(text.contains("passages"), "{text}");
}

#[test]
fn asks_keep_answering_across_many_index_swaps() {
    let (_dir, config) = corpus_copy();
    let bot = Arc::new(Bot::open(config).unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let askers: Vec<_> = (0..4)
        .map(|i| {
            let (bot, stop) = (bot.clone(), stop.clone());
            std::thread::spawn(move || {
                let q = [
                    "what are the four strategic drivers",
                    "what is the people promise",
                ][i % 2];
                let mut answered = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || answered < 20 {
                    let inv = Invocation::parse(&format!("/ask {q}"), Caller::default()).unwrap();
                    let reply = bot.execute(&inv).expect("no ask fails during a reindex");
                    assert_eq!(reply.tone, Tone::Answer, "{}", reply.plain_text());
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    for _ in 0..15 {
        assert!(matches!(bot.reindex_wait(), ReindexOutcome::Done(_)));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let total: usize = askers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(total >= 80, "{total} answers");
}

#[test]
fn the_watcher_reindexes_once_edits_settle() {
    let (_dir, config) = corpus_copy();
    let corpus = config.paths.corpus.clone();
    let bot = Bot::open(config).unwrap();
    let mut state = Default::default();
    assert!(
        bot.watch_step(&mut state).is_none(),
        "first look only records the corpus"
    );
    assert!(bot.watch_step(&mut state).is_none(), "nothing changed");
    std::fs::write(
        corpus.join("strategy/herons.md"),
        crate::common::sourced(&format!(
            "{}## Herons\n\nGrey herons nest early.\n",
            crate::common::front_matter("Herons", "strategy")
        )),
    )
    .unwrap();
    assert!(
        bot.watch_step(&mut state).is_none(),
        "a fresh change waits one step"
    );
    assert!(matches!(
        bot.watch_step(&mut state),
        Some(ReindexOutcome::Done(_))
    ));
    assert!(run(&bot, "/ask grey herons nest")
        .plain_text()
        .contains("Herons"));
    assert!(
        bot.watch_step(&mut state).is_none(),
        "no reindex without a change"
    );
    std::fs::write(corpus.join("strategy/herons.md"), "broken").unwrap();
    bot.watch_step(&mut state);
    assert!(matches!(
        bot.watch_step(&mut state),
        Some(ReindexOutcome::Invalid(_))
    ));
    assert!(
        bot.watch_step(&mut state).is_none(),
        "a bad corpus is not retried until it changes"
    );
}

/// Starts the binary paused at `point`, then SIGKILLs it there.
fn kill_at(config: &Config, args: &[&str], point: &str) {
    let mut child = bot_cmd(config, args)
        .env("OHWB_TEST_PAUSE_AT", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let reached = lines
        .find(|l| l.as_ref().is_ok_and(|l| l.starts_with("PAUSED")))
        .expect("reached the pause point")
        .unwrap();
    assert_eq!(reached, format!("PAUSED {point}"));
    let status = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(!exit.success(), "killed");
}

fn ask_json(config: &Config, q: &str) -> serde_json::Value {
    crate::common::json_output(&mut bot_cmd(config, &["ask", "--json", q]))
}

#[test]
fn sigkill_during_a_post_leaves_a_corpus_and_index_that_load_and_answer() {
    let (_dir, config) = corpus_copy();
    assert_eq!(
        ask_json(&config, "what is the people promise")["answered"],
        true
    );
    let add = [
        "resource",
        "add",
        "--url",
        "https://example.org/kill",
        "--title",
        "Night shift sleep guide",
        "--summary",
        "Sleep advice for night shift workers",
        "--tags",
        "sleep",
    ];

    // Killed before the rename: nothing was posted, and a retry succeeds.
    kill_at(&config, &add, "resource-temp-written");
    let check = bot_cmd(&config, &["check"]).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(ohwb_bot::resources::list(&config.paths.corpus)
        .unwrap()
        .is_empty());
    assert_eq!(
        ask_json(&config, "what is the people promise")["answered"],
        true
    );

    // Killed after the rename but before reindexing: the post is whole, and the next ask
    // notices the corpus changed and rebuilds.
    kill_at(&config, &add, "resource-renamed");
    assert_eq!(
        ohwb_bot::resources::list(&config.paths.corpus)
            .unwrap()
            .len(),
        1
    );
    let v = ask_json(&config, "night shift sleep advice");
    assert_eq!(v["citations"][0]["url"], "https://example.org/kill");
    let posted = config.paths.corpus.join(ohwb_bot::resources::POSTED_DIR);
    let leftovers: Vec<_> = std::fs::read_dir(&posted)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the second post cleaned up the first one's temporary file"
    );
}

#[test]
fn sigkill_during_a_reindex_keeps_the_previous_index_and_a_running_reindex_is_reported() {
    let (_dir, config) = corpus_copy();
    let bot = Bot::open(config.clone()).unwrap();
    let before = std::fs::read(config.paths.index.join("current.json")).unwrap();

    // While another process is mid-build, /reindex says one is running.
    let mut child = bot_cmd(&config, &["index"])
        .env("OHWB_TEST_PAUSE_AT", "index-generation-written")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().starts_with("PAUSED")));
    let reply = run(&bot, "/reindex");
    assert_eq!(
        reply.title.as_deref(),
        Some("Reindex already running"),
        "{}",
        reply.plain_text()
    );
    assert!(
        !run(&bot, "/ask what is the people promise")
            .fields
            .is_empty(),
        "asks still answered"
    );
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read(config.paths.index.join("current.json")).unwrap(),
        before
    );

    kill_at(&config, &["index"], "index-manifest-written");
    assert_eq!(
        std::fs::read(config.paths.index.join("current.json")).unwrap(),
        before,
        "the swap never half-happened"
    );
    assert_eq!(
        ask_json(&config, "what is the people promise")["answered"],
        true
    );
    let reply = run(&bot, "/reindex");
    assert_eq!(
        reply.title.as_deref(),
        Some("Reindex complete"),
        "{}",
        reply.plain_text()
    );
    let names: Vec<String> = std::fs::read_dir(&config.paths.index)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().filter(|n| n.starts_with("gen-")).count() <= 2,
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("current.json.tmp")),
        "{names:?}"
    );
}

#[test]
fn the_cli_posts_lists_and_removes_with_the_same_rules() {
    let (_dir, config) = corpus_copy();
    let out = bot_cmd(
        &config,
        &[
            "resource",
            "add",
            "--url",
            "https://example.org/cli",
            "--title",
            "CLI resource",
            "--summary",
            "Posted from the host shell about kestrel care",
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(id.starts_with("r-cli-resource-"), "{id}");
    assert_eq!(
        ask_json(&config, "kestrel care")["citations"][0]["url"],
        "https://example.org/cli"
    );

    let out = bot_cmd(&config, &["resource", "list", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["id"], id.as_str());
    assert!(v[0]["posted_by"].as_str().unwrap().starts_with("cli"));

    let before = snapshot(&config.paths.corpus);
    let out = bot_cmd(
        &config,
        &[
            "resource",
            "add",
            "--url",
            "javascript:alert(1)",
            "--title",
            "x",
            "--summary",
            "y",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`javascript` links are not allowed"));
    assert_eq!(snapshot(&config.paths.corpus), before);

    let out = bot_cmd(&config, &["resource", "remove", &id])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(ask_json(&config, "kestrel care")["answered"], false);
    let out = bot_cmd(&config, &["resource", "remove", &id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn two_posts_at_once_both_land_and_the_list_pages() {
    let (_dir, config) = corpus_copy();
    let corpus = config.paths.corpus.clone();
    let posters: Vec<_> = (0..2)
        .map(|i| {
            let corpus = corpus.clone();
            std::thread::spawn(move || {
                let new = ohwb_bot::resources::NewResource {
                    url: format!("https://example.org/at-once-{i}"),
                    title: format!("Simultaneous post {i}"),
                    summary: "Posted at the same moment as another.".into(),
                    tags: String::new(),
                    posted_by: "tester".into(),
                };
                ohwb_bot::resources::add(&corpus, &new, Default::default()).unwrap()
            })
        })
        .collect();
    let ids: Vec<String> = posters.into_iter().map(|h| h.join().unwrap().id).collect();
    let listed: Vec<String> = ohwb_bot::resources::list(&corpus)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    for id in &ids {
        assert!(listed.contains(id), "{id} missing from {listed:?}");
    }

    for i in 0..8 {
        let new = ohwb_bot::resources::NewResource {
            url: format!("https://example.org/page-{i}"),
            title: format!("Paged resource {i}"),
            summary: "One of many.".into(),
            tags: "paging".into(),
            posted_by: "tester".into(),
        };
        ohwb_bot::resources::add(&corpus, &new, Default::default()).unwrap();
    }
    let bot = Bot::open(config).unwrap();
    let first = run(&bot, "/resource list");
    assert_eq!(first.fields.len(), 8);
    assert!(
        first.footer.as_deref().unwrap().contains("Page 1 of 2"),
        "{:?}",
        first.footer
    );
    let second = run(&bot, "/resource list page:2");
    assert_eq!(second.fields.len(), 2);
    let tagged = run(&bot, "/resource list tag:paging");
    assert!(
        tagged.body.plain_text().starts_with("8 resources tagged"),
        "{}",
        tagged.body.plain_text()
    );
}

#[test]
fn a_running_bot_serves_an_index_rebuilt_by_the_cli() {
    let (_dir, config) = corpus_copy();
    let bot = Bot::open(config.clone()).unwrap();
    std::fs::write(
        config.paths.corpus.join("strategy/otters.md"),
        crate::common::sourced(&format!(
            "{}## Otters\n\nRiver otters are not in the strategy.\n",
            crate::common::front_matter("Otters", "strategy")
        )),
    )
    .unwrap();
    let out = bot_cmd(&config, &["index"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bot.refresh_now();
    assert!(run(&bot, "/ask river otters")
        .plain_text()
        .contains("Otters › Otters"));
}
