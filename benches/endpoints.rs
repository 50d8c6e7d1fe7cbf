//! # Endpoint throughput: signed Discord interactions and Teams activities on one instance
//!
//! One bot on the bundled corpus, with the default pool (one worker per core), serves
//! `POST /discord/interactions`, `POST /api/messages` and `GET /healthz` on a loopback port,
//! in-process, exactly as `serve` wires them. Discord's REST side (for any deferred reply) and
//! the Bot Framework (keys, token, connector) are the integration tests' fakes. A load
//! generator with [`CLIENTS`] concurrent keep-alive clients sends, per kind:
//!
//! - `/ask` interactions, each signed with Ed25519 (the endpoint verifies every one);
//! - Teams messages, each with an RS256 bearer token (verified every time) and a reply posted
//!   to the fake connector before the request is acknowledged;
//! - `GET /healthz`: the HTTP stack with no command run, the floor for the two above;
//! - the same `/ask`s run in-process on the same pool with no HTTP, no signature and no
//!   reply to send: the limit the endpoints are compared with (what the command itself costs).
//!
//! It prints requests per second and p50/p99 latency per kind. The load generator shares the
//! 2 cores with the bot, so the figures are a lower bound for a bot with the machine to itself.
//! Run with `cargo bench --bench endpoints`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

use ohwb_bot::commands::Bot;
use ohwb_bot::config::{Config, TeamsConfig};
use ohwb_bot::discord::{interactions, Connection};

#[allow(dead_code)]
mod common;
use common::{percentiles, QUESTIONS};

#[allow(dead_code)]
#[path = "../tests/integration/fake_discord.rs"]
mod fake_discord;
#[allow(dead_code)]
#[path = "../tests/integration/fake_teams.rs"]
mod fake_teams;

/// Requests in flight at once.
const CLIENTS: usize = 32;
/// Requests per command kind.
const COMMANDS: usize = 640;
/// Requests to `/healthz`.
const PROBES: usize = 8000;

/// A request to send: path, headers, body.
type Request = (&'static str, Vec<(String, String)>, String);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends every request with [`CLIENTS`] at a time; returns (requests per second, p50 ms,
/// p99 ms, non-2xx responses).
async fn load(base: &str, requests: Vec<Request>) -> (f64, f64, f64, usize) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let queue = Arc::new(std::sync::Mutex::new(requests));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, queue, base) = (client.clone(), queue.clone(), base.to_string());
            tokio::spawn(async move {
                let (mut times, mut failed) = (Vec::new(), 0);
                loop {
                    let Some((path, headers, body)) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let url = format!("{base}{path}");
                    let mut req = if body.is_empty() {
                        client.get(&url)
                    } else {
                        client.post(&url).body(body)
                    };
                    for (k, v) in headers {
                        req = req.header(k, v);
                    }
                    let t = Instant::now();
                    let ok = match req.send().await {
                        Ok(r) => {
                            let ok = r.status().is_success();
                            let _ = r.bytes().await;
                            ok
                        }
                        Err(_) => false,
                    };
                    times.push(t.elapsed());
                    failed += usize::from(!ok);
                }
                (times, failed)
            })
        })
        .collect();
    let (mut times, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (t, f) = t.await.unwrap();
        times.extend(t);
        failed += f;
    }
    let rate = times.len() as f64 / started.elapsed().as_secs_f64();
    let (p50, p99) = percentiles(times);
    (rate, p50, p99, failed)
}

/// The same questions as the endpoints get, run in-process through `Bot::execute` on a pool of
/// `workers`, [`CLIENTS`] at a time: (requests per second, p50 ms, p99 ms).
async fn in_process(bot: Arc<Bot>, workers: usize) -> (f64, f64, f64) {
    let pool = Arc::new(tokio::sync::Semaphore::new(workers));
    let queue = Arc::new(std::sync::Mutex::new((0..COMMANDS).collect::<Vec<_>>()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (bot, pool, queue) = (bot.clone(), pool.clone(), queue.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let Some(i) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let t = Instant::now();
                    let _permit = pool.clone().acquire_owned().await.unwrap();
                    let bot = bot.clone();
                    let line = format!("/ask {}", QUESTIONS[i % QUESTIONS.len()]);
                    tokio::task::spawn_blocking(move || {
                        let inv = ohwb_bot::commands::Invocation::parse(
                            &line,
                            ohwb_bot::commands::Caller::default(),
                        )
                        .unwrap();
                        bot.execute(&inv).unwrap()
                    })
                    .await
                    .unwrap();
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await.unwrap());
    }
    let rate = times.len() as f64 / started.elapsed().as_secs_f64();
    let (p50, p99) = percentiles(times);
    (rate, p50, p99)
}

fn discord_requests(key: &SigningKey) -> Vec<Request> {
    (0..COMMANDS)
        .map(|i| {
            let q = QUESTIONS[i % QUESTIONS.len()];
            let body = fake_discord::Interaction::command("ask", &[("question", json!(q))])
                .to_json(10_000 + i as u64)
                .to_string();
            let ts = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                .to_string();
            let sig = key.sign(format!("{ts}{body}").as_bytes());
            let headers = vec![
                ("content-type".into(), "application/json".into()),
                ("x-signature-ed25519".into(), hex(&sig.to_bytes())),
                ("x-signature-timestamp".into(), ts),
            ];
            (interactions::PATH, headers, body)
        })
        .collect()
}

fn teams_requests(fake: &fake_teams::FakeBotFramework) -> Vec<Request> {
    let token = fake_teams::token(
        &fake_teams::claims(&fake.service_url()),
        &fake_teams::trusted_key(),
        "trusted-key",
    );
    (0..COMMANDS)
        .map(|i| {
            let body: Value = json!({
                "type": "message", "id": format!("m{i}"), "serviceUrl": fake.service_url(),
                "channelId": "msteams", "text": QUESTIONS[i % QUESTIONS.len()],
                "from": {"id": format!("29:user{}", i % 50), "name": "Bench"},
                "recipient": {"id": "28:bot"},
                "conversation": {"id": format!("a:chat{}", i % 50), "conversationType": "personal"},
            });
            let headers = vec![
                ("content-type".into(), "application/json".into()),
                ("authorization".into(), format!("Bearer {token}")),
            ];
            (ohwb_bot::teams::PATH, headers, body.to_string())
        })
        .collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let index_dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.paths.corpus = root.join("corpus");
    config.paths.index = index_dir.path().to_path_buf();
    config.paths.model = root.join(ohwb_bot::embed::DEFAULT_DIR);
    // The load comes from a handful of made-up people: the per-person limit would refuse it.
    config.limits.asks_per_minute = 0;
    let workers = config.limits.worker_count();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let fake_discord = fake_discord::FakeDiscord::start().await;
        let fake_teams = fake_teams::FakeBotFramework::start().await;
        let bot = Arc::new(tokio::task::block_in_place(|| Bot::open(config.clone())).unwrap());
        let passages = bot.index().manifest().passage_count();
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let conn = Connection {
            token: "bench".into(),
            proxy_url: fake_discord.rest_url.clone(),
            guild_ids: Vec::new(),
            defer_after: Duration::from_millis(1500),
            gateway: Default::default(),
            workers,
        };
        let discord =
            interactions::Endpoint::new(bot.clone(), &conn, &hex(key.verifying_key().as_bytes()))
                .unwrap();
        let teams_config = TeamsConfig {
            app_id: fake_teams::APP_ID.into(),
            openid_metadata_url: fake_teams.openid_url(),
            token_url: format!("{}/token", fake_teams.url),
            allowed_service_urls: vec![fake_teams.service_url()],
            ..TeamsConfig::default()
        };
        let teams = ohwb_bot::teams::Endpoint::new(bot.clone(), &teams_config, "s".into(), workers)
            .unwrap();
        let routes = ohwb_bot::http::router(bot.clone(), None)
            .merge(Arc::new(discord).router())
            .merge(Arc::new(teams).router());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(ohwb_bot::http::serve(listener, routes, std::future::pending()));

        // Warm up: the model's first calls, the keys and the connector token.
        let _ = load(&base, discord_requests(&key).into_iter().take(8).collect()).await;
        let _ = load(&base, teams_requests(&fake_teams).into_iter().take(8).collect()).await;

        println!(
            "\n### One instance, {passages} passages, {workers} workers, {CLIENTS} clients at once\n"
        );
        println!("| requests | count | requests/s | p50 ms | p99 ms | failed |");
        println!("|---|---|---|---|---|---|");
        let probes: Vec<Request> = (0..PROBES).map(|_| ("/healthz", Vec::new(), String::new())).collect();
        for (name, requests) in [
            ("signed Discord `/ask` interactions", discord_requests(&key)),
            ("Teams messages (JWT checked, reply posted)", teams_requests(&fake_teams)),
            ("`GET /healthz` (HTTP floor)", probes),
        ] {
            let n = requests.len();
            let (rate, p50, p99, failed) = load(&base, requests).await;
            println!("| {name} | {n} | {rate:.0} | {p50:.1} | {p99:.1} | {failed} |");
        }
        let (rate, p50, p99) = in_process(bot.clone(), workers).await;
        println!(
            "| the same `/ask`s in-process (`Bot::execute`, no HTTP): the limit | {COMMANDS} | {rate:.0} | {p50:.1} | {p99:.1} | 0 |"
        );
    });
}
