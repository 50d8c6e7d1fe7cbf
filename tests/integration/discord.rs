use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::common::real_config;
use crate::fake_discord::{FakeDiscord, Interaction, Request, APP_ID, GUILD_ID, PATIENCE, USER_ID};
use ohwb_bot::commands::Bot;
use ohwb_bot::discord::{self, Connection};

/// A bot connected to its own fake Discord, stopped cleanly by [`Running::stop`].
pub struct Running {
    pub fake: FakeDiscord,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), discord::Error>>,
}

pub async fn start(bot: Bot, guilds: &[u64], defer_after: Duration) -> Running {
    start_with_workers(bot, guilds, defer_after, 2).await
}

/// [`start`] with `workers` commands running at once.
pub async fn start_with_workers(
    bot: Bot,
    guilds: &[u64],
    defer_after: Duration,
    workers: usize,
) -> Running {
    let mut fake = FakeDiscord::start().await;
    let conn = Connection {
        token: "fake-token".into(),
        proxy_url: fake.rest_url.clone(),
        guild_ids: guilds.to_vec(),
        defer_after,
        gateway: Default::default(),
        workers,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(discord::run(Arc::new(bot), conn, async move {
        let _ = stopped.await;
    }));
    let ident = fake.identified().await;
    assert_eq!(ident["token"], "Bot fake-token");
    assert_eq!(
        ident["intents"], 0,
        "a slash-command bot asks for no intents"
    );
    // Registration happens on READY; wait for it so later expectations are about commands only.
    fake.expect("command registration", |r| {
        r.method == "PUT" && r.path.ends_with("/commands")
    })
    .await;
    Running { fake, stop, task }
}

pub async fn start_default() -> Running {
    start(
        Bot::open(real_config()).unwrap(),
        &[GUILD_ID],
        Duration::from_millis(1500),
    )
    .await
}

impl Running {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let result = tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("bot stops promptly");
        result
            .expect("run task did not panic")
            .expect("run ended cleanly");
    }

    /// Sends `interaction` and returns the JSON body of its (immediate) callback.
    pub async fn ask(&mut self, interaction: Interaction) -> Value {
        let id = self.fake.send(interaction);
        self.fake.callback(id).await.body
    }

    /// Sends `interaction` and returns the reply message itself, in the callback's `data`
    /// shape, whether it came at once or as the edit after a deferral (a loaded machine may
    /// defer a long question's distress check past `defer_after`).
    pub async fn reply(&mut self, interaction: Interaction) -> Value {
        let id = self.fake.send(interaction);
        let cb = self.fake.callback(id).await.body;
        if cb["type"] == 5 {
            json!({ "data": self.fake.edit(id).await.body })
        } else {
            cb
        }
    }
}

fn ask(question: &str) -> Interaction {
    Interaction::command("ask", &[("question", json!(question))])
}

fn embed(callback: &Value) -> &Value {
    &callback["data"]["embeds"][0]
}

fn assert_no_pings(data: &Value) {
    assert_eq!(data["allowed_mentions"]["parse"], json!([]), "{data}");
    assert!(data["allowed_mentions"]["users"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
    assert!(data["allowed_mentions"]["roles"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fn assert_within_limits(e: &Value) {
    assert!(chars(&e["title"]) <= 256);
    assert!(chars(&e["description"]) <= 4096);
    let fields = e["fields"].as_array().cloned().unwrap_or_default();
    assert!(fields.len() <= 25);
    let mut total = chars(&e["title"]) + chars(&e["description"]) + chars(&e["footer"]["text"]);
    for f in &fields {
        assert!(chars(&f["name"]) <= 256 && chars(&f["value"]) <= 1024);
        total += chars(&f["name"]) + chars(&f["value"]);
    }
    assert!(total <= 6000, "{total}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_commands_per_guild_with_their_options() {
    let mut fake = FakeDiscord::start().await;
    let conn = Connection {
        token: "fake-token".into(),
        proxy_url: fake.rest_url.clone(),
        guild_ids: vec![GUILD_ID, 5001],
        defer_after: Duration::from_millis(1500),
        gateway: Default::default(),
        workers: 2,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(discord::run(
        Arc::new(Bot::open(real_config()).unwrap()),
        conn,
        async move {
            let _ = stopped.await;
        },
    ));
    for guild in [GUILD_ID, 5001] {
        let path = format!("/api/v10/applications/{APP_ID}/guilds/{guild}/commands");
        let r: Request = fake
            .expect("guild registration", |r| {
                r.method == "PUT" && r.path == path
            })
            .await;
        assert_eq!(r.header("authorization"), Some("Bot fake-token"));
        let cmds = r.body.as_array().unwrap();
        let names: Vec<&str> = cmds.iter().map(|c| c["name"].as_str().unwrap()).collect();
        // `/feedback` is reached through the buttons under an answer, never registered.
        assert_eq!(
            names,
            ["ask", "sources", "resource", "reindex", "report", "help"]
        );
        let resource = &cmds[2];
        let subs: Vec<(&str, u64)> = resource["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["name"].as_str().unwrap(), o["type"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            subs,
            [("add", 1), ("list", 1), ("remove", 1)],
            "subcommands"
        );
        let add_opts: Vec<&str> = resource["options"][0]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(add_opts, ["url", "title", "summary", "tags"]);
        assert_eq!(resource["options"][2]["options"][0]["autocomplete"], true);
        let ask = &cmds[0];
        let opts = ask["options"].as_array().unwrap();
        let summary: Vec<(&str, u64, bool, bool)> = opts
            .iter()
            .map(|o| {
                (
                    o["name"].as_str().unwrap(),
                    o["type"].as_u64().unwrap(),
                    o["required"].as_bool().unwrap_or(false),
                    o["autocomplete"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("question", 3, true, false),
                ("source", 3, false, true),
                ("share", 5, false, false)
            ]
        );
        assert_eq!(opts[0]["max_length"], 6000);
    }
    let _ = stop.send(());
    tokio::time::timeout(PATIENCE, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_globally_without_guild_ids() {
    let running = start(
        Bot::open(real_config()).unwrap(),
        &[],
        Duration::from_millis(1500),
    )
    .await;
    let log = running.fake.log.lock().await.clone();
    let put = log.iter().find(|r| r.method == "PUT").unwrap();
    assert_eq!(put.path, format!("/api/v10/applications/{APP_ID}/commands"));
    assert_eq!(put.body.as_array().unwrap().len(), 6);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_replies_privately_with_an_embed_citing_the_right_section() {
    let mut bot = start_default().await;
    let cb = bot
        .ask(ask(
            "How will occupational health services become easier to reach?",
        ))
        .await;
    assert_eq!(cb["type"], 4, "an immediate message, not deferred");
    assert_eq!(cb["data"]["flags"], 64, "ephemeral by default");
    assert_no_pings(&cb["data"]);
    let e = embed(&cb);
    let first = e["fields"][0]["name"].as_str().unwrap();
    assert!(
        first.starts_with("[1] Growing Occupational Health and Wellbeing Together › "),
        "{first}"
    );
    assert!(
        first.contains("Inclusion, equality and ease of access"),
        "{first}"
    );
    let value = e["fields"][0]["value"].as_str().unwrap();
    assert!(value.contains("**"), "matched words in bold: {value}");
    assert!(value.contains("](https://"), "links to the source: {value}");
    assert!(
        e["description"].as_str().unwrap().contains(r"\[1\]"),
        "answer line points at [1]"
    );
    assert_within_limits(e);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_true_posts_for_the_channel() {
    let mut bot = start_default().await;
    let mut i = ask("what is the people promise");
    i.options
        .push(json!({"name": "share", "type": 5, "value": true}));
    let cb = bot.ask(i).await;
    assert_eq!(cb["type"], 4);
    let flags = cb["data"]["flags"].as_u64().unwrap_or(0);
    assert_eq!(flags & 64, 0, "not ephemeral when shared");
    assert_no_pings(&cb["data"]);
    assert!(embed(&cb)["fields"][0]["name"]
        .as_str()
        .unwrap()
        .contains("People Promise"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_filter_and_its_autocomplete() {
    let mut bot = start_default().await;
    let cb = bot
        .ask(Interaction::autocomplete(
            "ask",
            &[("question", "recommendations")],
            "source",
            "boor",
        ))
        .await;
    assert_eq!(cb["type"], 8, "autocomplete result");
    let choices = cb["data"]["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1, "{choices:?}");
    assert_eq!(
        choices[0]["name"],
        "NHS Health and Well-being Review (Boorman Review, 2009)"
    );
    let slug = choices[0]["value"].as_str().unwrap().to_string();

    let all = bot
        .ask(Interaction::autocomplete("ask", &[], "source", ""))
        .await;
    let n = all["data"]["choices"].as_array().unwrap().len();
    assert!((2..=25).contains(&n));

    let i = Interaction::command(
        "ask",
        &[
            ("question", json!("what were the recommendations")),
            ("source", json!(slug)),
        ],
    );
    let cb = bot.ask(i).await;
    let fields = embed(&cb)["fields"].as_array().unwrap();
    assert!(!fields.is_empty());
    for f in fields {
        assert!(
            f["name"].as_str().unwrap().contains("Boorman Review"),
            "{f}"
        );
    }

    let i = Interaction::command(
        "ask",
        &[
            ("question", json!("anything")),
            ("source", json!("Not a document")),
        ],
    );
    let cb = bot.ask(i).await;
    assert_eq!(embed(&cb)["title"], "Unknown source");
    assert_eq!(cb["data"]["flags"], 64);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_and_help_list_what_the_bot_knows() {
    let mut bot = start_default().await;
    let cb = bot.ask(Interaction::command("sources", &[])).await;
    let e = embed(&cb);
    assert_eq!(e["title"], "What I answer from");
    let fields = e["fields"].as_array().unwrap();
    let docs = crate::common::real_index().manifest().documents.len();
    assert_eq!(fields.len(), docs);
    assert!(
        fields[0]["name"].as_str().unwrap().contains("Growing"),
        "strategy first"
    );
    assert!(fields
        .iter()
        .all(|f| f["value"].as_str().unwrap().contains("passages")));
    assert_no_pings(&cb["data"]);

    let cb = bot.ask(Interaction::command("help", &[])).await;
    let names: Vec<&str> = embed(&cb)["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("/ask")), "{names:?}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anyone_can_ask_in_a_dm_or_with_any_roles() {
    let mut bot = start_default().await;
    let cb = bot.ask(ask("what is the people promise").in_dm()).await;
    assert_eq!(cb["data"]["flags"], 64);
    assert!(embed(&cb)["fields"][0]["name"]
        .as_str()
        .unwrap()
        .contains("People Promise"));
    let cb = bot
        .ask(ask("what is the people promise").with_roles(&[1, 2, 3]))
        .await;
    assert!(embed(&cb)["fields"][0]["name"]
        .as_str()
        .unwrap()
        .contains("People Promise"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_questions_get_a_kind_not_covered_reply() {
    let mut bot = start_default().await;
    let cb = bot.ask(ask("what is on the canteen menu today?")).await;
    let e = embed(&cb);
    assert_eq!(e["title"], "Not covered by the strategy");
    // No citations: the one field routes the question to a person.
    let fields = e["fields"].as_array().expect("fields");
    let names: Vec<&str> = fields.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, ["Ask a person"], "{e}");
    assert!(fields[0]["value"]
        .as_str()
        .unwrap()
        .contains("check your trust's intranet"));
    assert!(e["description"].as_str().unwrap().contains("/sources"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_questions_cannot_ping_inject_markdown_or_break_limits() {
    let mut bot = start_default().await;
    let nasty = format!(
        "@everyone @here <@6000> <@&5000> **bold** [click](https://evil.example) `code` > quote # head {}",
        "occupational health access ".repeat(200)
    );
    let nasty: String = nasty.chars().take(5000).collect();
    let cb = bot.reply(ask(&nasty)).await;
    assert_no_pings(&cb["data"]);
    let e = embed(&cb);
    assert_within_limits(e);
    let d = e["description"].as_str().unwrap();
    assert!(!d.contains("@everyone") && !d.contains("@here"), "{d}");
    assert!(
        !d.contains("<@6000") && !d.contains("<@&5000"),
        "no mention syntax survives: {d}"
    );
    assert!(
        !d.contains("**bold**") && !d.contains("[click](https://evil"),
        "{d}"
    );
    assert!(cb["data"]["content"].as_str().is_none_or(|c| c.is_empty()));

    // Answered despite the noise, and the echoed question still cannot ping or format.
    let cb = bot
        .ask(ask(
            "@everyone **how** will _occupational health_ be easier to access? <@6000>",
        ))
        .await;
    assert_no_pings(&cb["data"]);
    let e = embed(&cb);
    assert!(
        e["fields"][0]["name"]
            .as_str()
            .unwrap()
            .contains("ease of access"),
        "{e}"
    );
    let d = e["description"].as_str().unwrap();
    assert!(
        d.contains(r"\*\*how\*\*") && d.contains(r"\_occupational"),
        "{d}"
    );
    assert!(!d.contains("@everyone") && !d.contains("<@6000"), "{d}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_replies_are_deferred_then_edited() {
    // A zero deferral budget forces the path a slow search takes.
    let mut bot = start(
        Bot::open(real_config()).unwrap(),
        &[GUILD_ID],
        Duration::ZERO,
    )
    .await;
    let id = bot.fake.send(ask("what are the four strategic drivers"));
    let cb = bot.fake.callback(id).await;
    assert_eq!(cb.body["type"], 5, "deferred first");
    assert_eq!(
        cb.body["data"]["flags"], 64,
        "the deferral is already private"
    );
    let edit = bot.fake.edit(id).await;
    assert_no_pings(&edit.body);
    let e = &edit.body["embeds"][0];
    assert!(
        e["fields"][0]["name"]
            .as_str()
            .unwrap()
            .contains("The four strategic drivers"),
        "{e}"
    );

    let mut shared = ask("what are the four strategic drivers");
    shared
        .options
        .push(json!({"name": "share", "type": 5, "value": true}));
    let id = bot.fake.send(shared);
    let cb = bot.fake.callback(id).await;
    assert_eq!(cb.body["type"], 5);
    assert_eq!(
        cb.body["data"]["flags"].as_u64().unwrap_or(0) & 64,
        0,
        "a shared answer defers publicly"
    );
    bot.fake.edit(id).await;
    bot.stop().await;
}

/// A burst larger than the pool queues: every question still gets its one first response and
/// its answer, the queued ones as a deferral then an edit, and a shared answer that waited in
/// the queue (so its distress check had not run by the deferral) is deferred privately and
/// then posted publicly, never the other way round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_queues_on_the_pool_and_every_question_is_answered() {
    let mut config = real_config();
    config.limits.asks_per_minute = 0;
    let mut bot = start_with_workers(
        Bot::open(config).unwrap(),
        &[GUILD_ID],
        Duration::from_millis(50),
        1,
    )
    .await;
    let questions = [
        "what is the people promise",
        "what are the four strategic drivers",
        "what did the Boorman review find",
        "what is on the canteen menu today?",
    ];
    let mut ids: Vec<u64> = (0..12)
        .map(|i| bot.fake.send(ask(questions[i % questions.len()])))
        .collect();
    let shared = bot.fake.send(Interaction::command(
        "ask",
        &[
            ("question", json!("what is the people promise")),
            ("share", json!(true)),
        ],
    ));
    ids.push(shared);
    let mut first: std::collections::HashMap<u64, Value> = Default::default();
    let mut finished = std::collections::HashSet::new();
    let mut followups: std::collections::HashMap<u64, Value> = Default::default();
    while finished.len() < ids.len() {
        let r = bot.fake.expect("replies", |r| r.method != "GET").await;
        let id: u64 = match r.path.split('/').nth(4).and_then(|s| s.parse().ok()) {
            Some(id) if r.path.ends_with("/callback") => id,
            // Webhook paths carry the token: /webhooks/{app}/token-{id}/…
            _ => r
                .path
                .split("token-")
                .nth(1)
                .and_then(|s| s.split(['/', '?']).next())
                .and_then(|s| s.parse().ok())
                .expect("a reply to a known interaction"),
        };
        match (r.method.as_str(), r.path.ends_with("/callback")) {
            ("POST", true) => {
                assert!(
                    first.insert(id, r.body.clone()).is_none(),
                    "two first responses for {id}"
                );
                if r.body["type"] == 4 {
                    finished.insert(id);
                }
            }
            ("PATCH", _) => {
                finished.insert(id);
            }
            ("POST", false) => {
                followups.insert(id, r.body.clone());
                finished.insert(id);
            }
            _ => {}
        }
    }
    let deferred = first.values().filter(|b| b["type"] == 5).count();
    assert!(
        deferred >= 6,
        "one worker and 13 questions: most wait in the queue ({deferred})"
    );
    let flags = |v: &Value| v["flags"].as_u64().unwrap_or(0) & 64;
    let cb = &first[&shared];
    match (cb["type"].as_u64(), flags(&cb["data"])) {
        // Answered at once, or deferred after its check cleared it: public throughout.
        (Some(4), 0) | (Some(5), 0) => assert!(!followups.contains_key(&shared)),
        // Deferred while still queued, before its check: privately, then the public answer
        // replaces the placeholder as a follow-up.
        (Some(5), 64) => {
            let public = followups.get(&shared).expect("a public follow-up");
            assert_eq!(flags(public), 0, "{public}");
        }
        _ => panic!("a shared answer's first response: {cb}"),
    }
    // Nothing else needed a follow-up: private placeholders were edited in place.
    assert!(followups.keys().all(|id| *id == shared), "{followups:?}");
    bot.stop().await;
}

/// A real `ohwb-bot serve` process pointed at a fake Discord through `discord.proxy_url`, the
/// way a deployment behind a REST proxy is configured. Its stderr is drained as it comes (a
/// full pipe would stall the bot's logging and so the bot) and returned by [`Serve::stop`].
pub struct Serve {
    child: tokio::process::Child,
    logs: tokio::task::JoinHandle<std::io::Result<String>>,
    _dir: tempfile::TempDir,
}

impl Serve {
    pub async fn start(fake: &mut FakeDiscord, discord_toml: &str, env: &[(&str, &str)]) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let cfg = real_config();
        std::fs::write(
            &config,
            format!(
                "[paths]\ncorpus = {:?}\nindex = {:?}\nmodel = {:?}\n\n[discord]\nproxy_url = {:?}\nguild_ids = [{GUILD_ID}]\n{discord_toml}",
                cfg.paths.corpus, cfg.paths.index, cfg.paths.model, fake.rest_url
            ),
        )
        .unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ohwb-bot"))
            .args(["serve", "--config", config.to_str().unwrap()])
            .env_remove("OHWB_LOG")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let logs = tokio::spawn(async move {
            let mut s = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut s)
                .await
                .map(|_| s)
        });
        fake.identified().await;
        let path = format!("/api/v10/applications/{APP_ID}/guilds/{GUILD_ID}/commands");
        fake.expect("registration", |r| r.method == "PUT" && r.path == path)
            .await;
        Serve {
            child,
            logs,
            _dir: dir,
        }
    }

    /// SIGTERM, a clean exit, and everything the process logged.
    pub async fn stop(mut self) -> String {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .unwrap();
        assert!(status.success(), "exit status {status:?}");
        self.logs.await.unwrap().unwrap()
    }
}

/// The real binary answers, stops on SIGTERM, and logs neither the token, nor who asked, nor
/// what they asked, even at the most verbose log level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_binary_answers_and_stops_on_sigterm_without_logging_secrets() {
    let mut fake = FakeDiscord::start().await;
    let serve = Serve::start(
        &mut fake,
        "token_env = \"OHWB_TEST_TOKEN\"\n",
        &[
            ("OHWB_TEST_TOKEN", "secret-token-123"),
            // More specific directives must not lift the cap on the HTTP and WebSocket stack.
            (
                "OHWB_LOG",
                "trace,hyper_util::client=trace,hyper_util::client::legacy=trace,\
                 hyper::proto=trace,reqwest::connect=trace,serenity::http=trace,\
                 serenity::gateway=trace,tungstenite::protocol=trace,h2::codec=trace",
            ),
        ],
    )
    .await;

    let id = fake.send(ask(
        "how will occupational health for my back pain become easier to reach?",
    ));
    let cb = fake.callback(id).await;
    assert_eq!(cb.header("authorization"), Some("Bot secret-token-123"));
    assert_eq!(cb.body["data"]["flags"], 64);
    assert!(
        cb.body["data"]["embeds"][0]["description"].is_string(),
        "an embed reply: {}",
        cb.body
    );

    // A question showing distress: answered privately, and only the fact is logged.
    let id = fake.send(ask("honestly i want to end it all"));
    let cb = fake.callback(id).await;
    assert_eq!(cb.body["data"]["flags"], 64);
    assert_eq!(
        cb.body["data"]["embeds"][0]["title"],
        "You don't have to face this alone"
    );

    let logs = serve.stop().await;
    assert!(logs.contains("replied"), "the command is logged: {logs}");
    assert!(
        logs.contains("support=true"),
        "the support reply is logged as a fact: {logs}"
    );
    assert!(
        !logs.contains("Failed to cleanly shutdown"),
        "the gateway connection closes cleanly: {logs}"
    );
    assert!(!logs.contains("secret-token-123"), "token leaked into logs");
    assert!(
        !logs.contains("back pain"),
        "question text leaked into logs"
    );
    assert!(
        !logs.contains("end it all"),
        "distress text leaked into logs"
    );
    assert!(
        !logs.contains(USER_ID) && !logs.contains("staff-member"),
        "user identity leaked into logs"
    );
}

/// A gateway that stops answering (a dead network path) must not hold up shutdown: serenity
/// alone waits 5 s for the close reply and then warns of an unclean shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_promptly_when_discord_never_answers_the_close() {
    let mut fake = FakeDiscord::start().await;
    let serve = Serve::start(
        &mut fake,
        "token_env = \"OHWB_TEST_TOKEN\"\n",
        &[("OHWB_TEST_TOKEN", "t")],
    )
    .await;
    fake.mute_gateway();
    let started = std::time::Instant::now();
    let logs = serve.stop().await;
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(4),
        "shutdown took {took:?}: {logs}"
    );
}

#[test]
fn serve_without_a_token_refuses_clearly() {
    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ohwb-bot"))
        .args(["serve"])
        .env_remove("DISCORD_TOKEN")
        .current_dir(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DISCORD_TOKEN is not set"), "{err}");
}

const OH_TEAM: u64 = 111;
const ADMIN: u64 = 222;

fn add_resource(url: &str) -> Interaction {
    Interaction::subcommand(
        "resource",
        "add",
        &[
            ("url", json!(url)),
            ("title", json!("Menopause support at work")),
            ("summary", json!("Guidance for staff and managers on menopause symptoms and reasonable adjustments at work.")),
            ("tags", json!("menopause, adjustments")),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_enforced_by_the_bot_on_every_command() {
    let (_dir, mut config) = crate::common::corpus_copy();
    config.roles.oh_team = vec![OH_TEAM];
    config.roles.admin = vec![ADMIN];
    let corpus = config.paths.corpus.clone();
    let mut bot = start(
        Bot::open(config).unwrap(),
        &[GUILD_ID],
        Duration::from_millis(1500),
    )
    .await;
    let before = crate::common::snapshot(&corpus);

    // Staff without roles: refused, told which role is needed, nothing stored.
    let cb = bot
        .ask(add_resource("https://example.org/menopause").with_roles(&[999]))
        .await;
    assert_eq!(embed(&cb)["title"], "Not allowed");
    assert!(
        embed(&cb)["description"]
            .as_str()
            .unwrap()
            .contains("OH team role"),
        "{cb}"
    );
    assert_eq!(cb["data"]["flags"], 64);
    let cb = bot.ask(Interaction::command("reindex", &[])).await;
    assert!(
        embed(&cb)["description"]
            .as_str()
            .unwrap()
            .contains("admin role"),
        "{cb}"
    );
    assert_eq!(crate::common::snapshot(&corpus), before);

    // An admin in a DM has no guild roles to check: refused.
    let cb = bot
        .ask(add_resource("https://example.org/menopause").in_dm())
        .await;
    assert!(
        embed(&cb)["description"]
            .as_str()
            .unwrap()
            .contains("direct messages"),
        "{cb}"
    );

    // The OH team may post; the answer is cited straight away; staff can list it.
    let cb = bot
        .ask(add_resource("https://example.org/menopause").with_roles(&[OH_TEAM]))
        .await;
    assert_eq!(embed(&cb)["title"], "Resource saved", "{cb}");
    let cb = bot
        .ask(ask("menopause reasonable adjustments at work"))
        .await;
    assert!(
        embed(&cb)["fields"][0]["value"]
            .as_str()
            .unwrap()
            .contains("https://example.org/menopause"),
        "{cb}"
    );
    let cb = bot
        .ask(Interaction::subcommand("resource", "list", &[]))
        .await;
    assert!(
        embed(&cb)["fields"][0]["name"]
            .as_str()
            .unwrap()
            .contains("Menopause support"),
        "{cb}"
    );

    // …but not reindex; an admin may.
    let cb = bot
        .ask(Interaction::command("reindex", &[]).with_roles(&[OH_TEAM]))
        .await;
    assert_eq!(embed(&cb)["title"], "Not allowed");
    let cb = bot
        .ask(Interaction::command("reindex", &[]).with_roles(&[ADMIN]))
        .await;
    assert_eq!(embed(&cb)["title"], "Reindex complete", "{cb}");

    // Removal: ids are offered while typing, and staff cannot remove.
    let cb = bot
        .ask(Interaction::sub_autocomplete(
            "resource", "remove", "id", "meno",
        ))
        .await;
    let choice = &cb["data"]["choices"][0];
    assert!(
        choice["name"]
            .as_str()
            .unwrap()
            .starts_with("Menopause support at work (r-"),
        "{cb}"
    );
    let id = choice["value"].as_str().unwrap().to_string();
    let cb = bot
        .ask(Interaction::subcommand(
            "resource",
            "remove",
            &[("id", json!(id))],
        ))
        .await;
    assert_eq!(embed(&cb)["title"], "Not allowed");
    let cb = bot
        .ask(
            Interaction::subcommand("resource", "remove", &[("id", json!(id))])
                .with_roles(&[ADMIN]),
        )
        .await;
    assert_eq!(embed(&cb)["title"], "Resource removed", "{cb}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distress_stays_private_when_shared_and_the_team_is_told_anonymously() {
    let mut config = real_config();
    config.support.escalation_channel_id = 7777;
    config.support.oh_team = "Anytown OH".into();
    let notice = ohwb_bot::commands::escalation_notice(&config);
    let mut bot = start(
        Bot::open(config).unwrap(),
        &[GUILD_ID],
        Duration::from_millis(1500),
    )
    .await;
    let mut i = ask("i cant go on like this");
    i.options
        .push(json!({"name": "share", "type": 5, "value": true}));
    let cb = bot.ask(i).await;
    assert_eq!(cb["data"]["flags"], 64, "private despite share:true");
    assert_no_pings(&cb["data"]);
    let e = embed(&cb);
    assert_eq!(e["title"], "You don't have to face this alone");
    let all = e.to_string();
    assert!(
        all.contains("116 123") && all.contains("Anytown OH"),
        "{all}"
    );
    assert!(
        !all.contains("cant go on"),
        "the question is not echoed: {all}"
    );

    let posted = bot
        .fake
        .expect("the wellbeing team notice", |r| {
            r.method == "POST" && r.path == "/api/v10/channels/7777/messages"
        })
        .await;
    let content = posted.body["content"].as_str().unwrap();
    assert_eq!(content.replace('\\', ""), notice);
    assert!(
        !content.contains("cant go on") && !content.contains("Staff") && !content.contains(USER_ID)
    );
    assert_eq!(posted.body["allowed_mentions"]["parse"], json!([]));

    // An ordinary question does not notify anyone.
    bot.ask(ask("what are the four strategic drivers")).await;
    let log = bot.fake.log.lock().await;
    assert_eq!(
        log.iter().filter(|r| r.path.contains("/channels/")).count(),
        1
    );
    drop(log);
    bot.stop().await;
}

/// A command that fails inside the bot: the user gets a short private message with a reference
/// id, the same id is in the log, and no internals reach the chat. Driven through the real
/// binary with a failure injected at `execute`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_reach_the_user_privately_with_a_reference_in_the_log() {
    let mut fake = FakeDiscord::start().await;
    let serve = Serve::start(
        &mut fake,
        "defer_after_ms = 0\n",
        &[
            ("DISCORD_TOKEN", "fake-token"),
            ("OHWB_TEST_FAIL_AT", "execute"),
        ],
    )
    .await;

    // share:true defers publicly; the error must still end up private.
    let mut i = ask("what are the four strategic drivers");
    i.options
        .push(json!({"name": "share", "type": 5, "value": true}));
    let id = fake.send(i);
    let cb = fake.callback(id).await;
    assert_eq!(cb.body["type"], 5);
    let delete_path = format!("/api/v10/webhooks/{APP_ID}/token-{id}/messages/@original");
    fake.expect("the public placeholder removed", |r| {
        r.method == "DELETE" && r.path == delete_path
    })
    .await;
    let follow_path = format!("/api/v10/webhooks/{APP_ID}/token-{id}");
    let followup = fake
        .expect("a private follow-up", |r| {
            r.method == "POST" && r.path == follow_path
        })
        .await;
    assert_eq!(followup.body["flags"], 64);
    assert_eq!(followup.body["allowed_mentions"]["parse"], json!([]));
    let text = followup.body["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("something went wrong"), "{text}");
    assert!(
        !text.contains("injected"),
        "internals stay out of chat: {text}"
    );
    let reference = text
        .split_whitespace()
        .map(|w| w.trim_end_matches('.'))
        .find(|w| w.len() == 8 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .expect("a reference id")
        .to_string();

    let logs = serve.stop().await;
    let line = logs
        .lines()
        .find(|l| l.contains(&reference))
        .unwrap_or_else(|| panic!("reference {reference} not logged: {logs}"));
    assert!(
        line.contains("injected failure"),
        "the log has the detail: {line}"
    );
    assert!(
        !logs.contains("four strategic drivers"),
        "no question text in logs"
    );
}

/// The custom ids of the buttons under a reply (in the callback's `data` shape).
fn button_ids(reply: &Value) -> Vec<String> {
    reply["data"]["components"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .flat_map(|r| r["components"].as_array().cloned().unwrap_or_default())
                .filter_map(|b| b["custom_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_question_reaches_the_oh_team_only_when_the_asker_sends_it() {
    let mut config = real_config();
    config.escalation.channel_id = 4242;
    config.limits.asks_per_minute = 0;
    let mut bot = start(
        Bot::open(config).unwrap(),
        &[GUILD_ID],
        Duration::from_millis(1500),
    )
    .await;
    let posts = |log: &[Request]| {
        log.iter()
            .filter(|r| r.path == "/api/v10/channels/4242/messages")
            .count()
    };
    let declined = bot
        .reply(ask("how do I change my pension contributions"))
        .await;
    let ids = button_ids(&declined);
    let named = ids
        .iter()
        .find(|i| i.starts_with("ohwb-fw:named:"))
        .unwrap();
    assert!(
        ids.iter().any(|i| i.starts_with("ohwb-fw:anon:")),
        "{ids:?}"
    );
    assert_eq!(
        posts(&bot.fake.log.lock().await),
        0,
        "nothing sent before a press"
    );

    let sent = bot.ask(Interaction::button(named)).await;
    assert_eq!(sent["data"]["flags"], 64);
    let told = sent["data"]["embeds"][0]["description"].as_str().unwrap();
    assert!(
        told.contains("with your name") && told.contains("pension contributions"),
        "the asker sees what was sent: {told}"
    );
    // Posted before the asker is told (so they are never told of a post that failed).
    let last_post = |log: &[Request]| {
        log.iter()
            .rfind(|r| r.method == "POST" && r.path == "/api/v10/channels/4242/messages")
            .cloned()
            .expect("a post to the OH team")
    };
    let post = last_post(&bot.fake.log.lock().await);
    let content = post.body["content"].as_str().unwrap();
    assert!(
        content.contains("pension contributions") && content.contains("Staff Member"),
        "{content}"
    );
    assert_eq!(post.body["allowed_mentions"]["parse"], json!([]));
    // Once only.
    let again = bot.ask(Interaction::button(named)).await;
    assert_eq!(again["data"]["embeds"][0]["title"], "Nothing sent");

    // Without the name.
    let declined = bot.reply(ask("what is on the canteen menu today?")).await;
    let ids = button_ids(&declined);
    let anon = ids.iter().find(|i| i.starts_with("ohwb-fw:anon:")).unwrap();
    bot.ask(Interaction::button(anon)).await;
    assert_eq!(posts(&bot.fake.log.lock().await), 2);
    let post = last_post(&bot.fake.log.lock().await);
    let content = post.body["content"].as_str().unwrap();
    assert!(
        content.contains("canteen") && !content.contains("Staff Member"),
        "{content}"
    );

    // Never offered on a crisis reply or an answer.
    let crisis = bot.reply(ask("i want to end my life")).await;
    assert!(button_ids(&crisis).is_empty(), "{crisis}");
    let answered = bot.reply(ask("what is the people promise")).await;
    assert!(
        button_ids(&answered)
            .iter()
            .all(|i| i.starts_with("ohwb-fb:")),
        "{answered}"
    );
    bot.stop().await;
}
