//! Several instances as one bot: two `serve` processes in Discord's HTTP mode, each with its
//! own corpus and index, share one database (a SQLite file with `shared = true`, and the
//! PostgreSQL test database when `OHWB_TEST_POSTGRES_URL` is set). A resource posted through
//! instance A, which is then killed, is cited by instance B: nothing A acknowledged is lost.

use serde_json::{json, Value};

use crate::common::corpus_copy;
use crate::fake_discord::{FakeDiscord, Interaction};
use crate::interactions::{key, now, post, HttpServe};

const OH_TEAM: u64 = 7100;

fn add_resource() -> Value {
    Interaction::subcommand(
        "resource",
        "add",
        &[
            ("url", json!("https://example.org/night-shift-sleep")),
            ("title", json!("Sleeping well between night shifts")),
            ("summary", json!("Practical advice for staff on sleep hygiene, napping and recovery days after a run of night shifts.")),
            ("tags", json!("sleep, nights")),
        ],
    )
    .with_roles(&[OH_TEAM])
    .to_json(5100)
}

fn ask(question: &str, id: u64) -> Value {
    Interaction::command("ask", &[("question", json!(question))]).to_json(id)
}

/// The reply to interaction `id`: from the response body, or the edit a deferral was
/// followed by.
async fn reply(fake: &mut FakeDiscord, id: u64, status: u16, body: &str) -> Value {
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(body).unwrap();
    if v["type"] == 5 {
        return fake.edit(id).await.body;
    }
    v["data"].clone()
}

// The PostgreSQL test database is shared with the synchronous store tests, which take the same
// std lock; it is held for the whole test on purpose.
#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_posted_on_one_instance_is_cited_by_another_after_the_first_dies() {
    let _pg = crate::store::POSTGRES
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let shared_dir = tempfile::tempdir().unwrap();
    for url in crate::store::databases(&shared_dir) {
        let mut fake = FakeDiscord::start().await;
        let extra = format!(
            "[roles]\noh_team = [{OH_TEAM}]\n\n[limits]\nasks_per_minute = 0\n\n\
             [database]\nurl = {url:?}\nshared = true\n"
        );
        let (_a_dir, a_config) = corpus_copy();
        let (_b_dir, b_config) = corpus_copy();
        let mut a = HttpServe::start_with(&fake, 2500, &a_config, &extra).await;
        let b = HttpServe::start_with(&fake, 2500, &b_config, &extra).await;
        let question = "any tips for sleeping after a run of night shifts";

        // Posted through A: acknowledged, then A dies at once.
        let (status, body) = post(&a.addr, &add_resource(), Some(&key()), now()).await;
        let saved = reply(&mut fake, 5100, status, &body).await;
        assert_eq!(saved["embeds"][0]["title"], "Resource saved", "{saved}");
        a.child.kill().await.unwrap();
        let acknowledged = std::time::Instant::now();
        // B catches up (it polls the database every second) and cites it.
        let deadline = std::time::Instant::now() + crate::fake_discord::PATIENCE;
        let mut id = 6000;
        let cited = loop {
            id += 1;
            let (status, body) = post(&b.addr, &ask(question, id), Some(&key()), now()).await;
            let answer = reply(&mut fake, id, status, &body).await;
            if answer.to_string().contains("example.org/night-shift-sleep") {
                break answer;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "instance B never cited the resource posted on A ({url}): {answer}"
            );
            tokio::task::yield_now().await;
        };
        assert!(cited
            .to_string()
            .contains("Sleeping well between night shifts"));
        eprintln!(
            "{}: cited by B {} ms after A acknowledged it",
            url.split(':').next().unwrap_or_default(),
            acknowledged.elapsed().as_millis()
        );
        // B's corpus now holds the file, as A wrote it.
        let posted = b_config.paths.corpus.join("resources/posted");
        assert_eq!(
            posted
                .read_dir()
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "md")
                })
                .count(),
            1
        );
        drop(b);
    }
}

#[test]
fn removals_reindexes_counts_and_votes_are_shared_and_own_changes_cost_no_second_reindex() {
    use ohwb_bot::commands::{Bot, Caller, Invocation, ReindexOutcome, SyncState};
    let db = tempfile::tempdir().unwrap();
    let staff = Caller {
        roles: vec![OH_TEAM, OH_TEAM + 1],
        in_guild: true,
        name: "Test".into(),
        ..Caller::default()
    };
    let open = || {
        let (dir, mut c) = corpus_copy();
        c.database.url = crate::store::sqlite_url(&db);
        c.database.shared = true;
        c.roles.oh_team = vec![OH_TEAM];
        c.roles.admin = vec![OH_TEAM + 1];
        (dir, Bot::open(c).unwrap())
    };
    let ((_a_dir, a), (_b_dir, b)) = (open(), open());
    let run = |bot: &Bot, line: &str| {
        bot.execute(&Invocation::parse(line, staff.clone()).unwrap())
            .unwrap()
    };
    let posted = |bot: &Bot| {
        ohwb_bot::resources::list(&bot.config().paths.corpus)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    let (mut sa, mut sb) = (SyncState::default(), SyncState::default());
    assert!(a.sync_step(&mut sa).is_none(), "nothing shared yet");
    assert!(b.sync_step(&mut sb).is_none());

    // Posted on A: B copies it and reindexes; A, which raised the change, does not again.
    let saved = run(
        &a,
        "/resource add url:https://example.org/night-shift-sleep title:Sleeping well between night shifts summary:Practical advice for staff on sleep after night shifts.",
    );
    assert_eq!(saved.title.as_deref(), Some("Resource saved"), "{saved:?}");
    assert!(matches!(
        b.sync_step(&mut sb),
        Some(ReindexOutcome::Done(_))
    ));
    assert_eq!(posted(&b), posted(&a));
    assert_eq!(posted(&b).len(), 1);
    assert!(
        a.sync_step(&mut sa).is_none(),
        "no second reindex for its own change"
    );
    assert!(b.sync_step(&mut sb).is_none(), "nothing new");

    // Removed on B: gone from A's corpus too.
    let id = posted(&b).remove(0);
    let removed = run(&b, &format!("/resource remove {id}"));
    assert_eq!(
        removed.title.as_deref(),
        Some("Resource removed"),
        "{removed:?}"
    );
    assert!(matches!(
        a.sync_step(&mut sa),
        Some(ReindexOutcome::Done(_))
    ));
    assert!(posted(&a).is_empty());

    // Counts and votes from both land in one report, whichever instance reads it.
    let answered = |bot: &Bot| bot.store().report(1).unwrap().totals.answered;
    let before = answered(&b);
    let on_a = run(&a, "/ask what is the people promise");
    run(&b, "/ask what is the people promise");
    assert_eq!(answered(&b), before + 2);
    let vote = format!(
        "/feedback down answer:{}",
        on_a.feedback.as_deref().expect("an answer can be voted on")
    );
    let voter = Caller {
        person_key: "teams:someone".into(),
        ..staff.clone()
    };
    b.execute(&Invocation::parse(&vote, voter).unwrap())
        .unwrap();
    assert!(
        !a.store().report(1).unwrap().not_helpful.is_empty(),
        "a vote on B about A's answer"
    );

    // /reindex on A: B rebuilds too, though no file changed.
    let before = b.index().manifest().generation.clone();
    run(&a, "/reindex");
    assert!(matches!(
        b.sync_step(&mut sb),
        Some(ReindexOutcome::Done(_))
    ));
    assert_ne!(b.index().manifest().generation, before);
}
