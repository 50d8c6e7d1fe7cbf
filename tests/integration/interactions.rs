//! Discord's HTTP interactions mode through the real `serve` binary: every request's Ed25519
//! signature checked (bad, missing and stale ones refused with 401), PING answered, a command
//! answered in the response body or deferred and PATCHed in over REST, distress kept private,
//! and `register` over REST without a gateway.

use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

use crate::common::real_config;
use crate::fake_discord::{FakeDiscord, Interaction, APP_ID, GUILD_ID};
use crate::monitoring::{free_addr, get_within, request};

pub fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// POSTs `body` to the endpoint, signed by `signer` at `timestamp` (no signature when `None`).
pub async fn post(
    addr: &str,
    body: &Value,
    signer: Option<&SigningKey>,
    timestamp: u64,
) -> (u16, String) {
    let body = body.to_string();
    let ts = timestamp.to_string();
    let signature = signer
        .map(|k| {
            let sig = k.sign(format!("{ts}{body}").as_bytes());
            format!(
                "X-Signature-Ed25519: {}\r\nX-Signature-Timestamp: {ts}\r\n",
                hex(&sig.to_bytes())
            )
        })
        .unwrap_or_default();
    let raw = format!(
        "POST /discord/interactions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{signature}Connection: close\r\n\r\n{body}",
        body.len()
    );
    request(addr, &raw).await
}

/// How long a `serve` started on a fresh corpus copy may take to answer `/healthz`.
const START_PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// `ohwb-bot serve --config config` with `env` set (and `DISCORD_TOKEN`, `TEAMS_APP_SECRET`
/// and `OHWB_LOG` from this process removed), once `/healthz` on `addr` answers 200: the index
/// is loaded, and no gateway runs to wait for. Killed when dropped.
pub async fn serve_process(
    config: &std::path::Path,
    addr: &str,
    env: &[(&str, &str)],
) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ohwb-bot"));
    cmd.args(["serve", "--config", config.to_str().unwrap()])
        .env_remove("DISCORD_TOKEN")
        .env_remove("TEAMS_APP_SECRET")
        .env_remove("OHWB_LOG")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let child = cmd.spawn().unwrap();
    // A fresh corpus copy builds its index first, training the distress detector on ~4,300
    // examples (about 10 s alone on this machine, several times that beside the other tests
    // on two cores); the start, not its speed, is what these tests are about.
    assert_eq!(get_within(addr, "/healthz", START_PATIENCE).await.0, 200);
    child
}

/// `ohwb-bot serve` in HTTP mode (no gateway) with REST through `fake`.
pub struct HttpServe {
    pub child: tokio::process::Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl HttpServe {
    async fn start(fake: &FakeDiscord, defer_after_ms: u64) -> HttpServe {
        HttpServe::start_with(fake, defer_after_ms, &real_config(), "").await
    }

    /// `serve` over `cfg`'s corpus, index and model, with `extra` appended to its config file
    /// (more sections, such as `[roles]` and `[database]`).
    pub async fn start_with(
        fake: &FakeDiscord,
        defer_after_ms: u64,
        cfg: &ohwb_bot::config::Config,
        extra: &str,
    ) -> HttpServe {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[paths]\ncorpus = {:?}\nindex = {:?}\nmodel = {:?}\n\n[discord]\nmode = \"http\"\n\
                 public_key = {:?}\nproxy_url = {:?}\ndefer_after_ms = {defer_after_ms}\n\n\
                 [http]\nlisten = {addr:?}\n\n{extra}",
                cfg.paths.corpus,
                cfg.paths.index,
                cfg.paths.model,
                hex(key().verifying_key().as_bytes()),
                fake.rest_url
            ),
        )
        .unwrap();
        let child = serve_process(&config, &addr, &[("DISCORD_TOKEN", "t")]).await;
        HttpServe {
            child,
            addr,
            _dir: dir,
        }
    }
}

fn ask(question: &str) -> Value {
    Interaction::command("ask", &[("question", json!(question))]).to_json(4100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_interactions_are_answered_and_anything_else_refused() {
    let fake = FakeDiscord::start().await;
    let mut serve = HttpServe::start(&fake, 2500).await;
    let addr = serve.addr.clone();
    let k = key();

    let (status, body) = post(&addr, &json!({"type": 1, "id": "1", "application_id": APP_ID.to_string(), "token": "x", "version": 1}), Some(&k), now()).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "{\"type\":1}"),
        "PING gets PONG"
    );

    // Refused: no signature, another key, a changed body, a stale timestamp.
    assert_eq!(
        post(&addr, &ask("what is the people promise"), None, now())
            .await
            .0,
        401
    );
    let other = SigningKey::from_bytes(&[8u8; 32]);
    assert_eq!(
        post(
            &addr,
            &ask("what is the people promise"),
            Some(&other),
            now()
        )
        .await
        .0,
        401
    );
    assert_eq!(
        post(
            &addr,
            &ask("what is the people promise"),
            Some(&k),
            now() - 3600
        )
        .await
        .0,
        401
    );
    let tampered = {
        let body = ask("what is the people promise").to_string();
        let ts = now().to_string();
        let sig = k.sign(format!("{ts}{body}").as_bytes());
        let changed = body.replace("people promise", "payroll system");
        format!(
            "POST /discord/interactions HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
             X-Signature-Ed25519: {}\r\nX-Signature-Timestamp: {ts}\r\nConnection: close\r\n\r\n{changed}",
            changed.len(),
            hex(&sig.to_bytes())
        )
    };
    assert_eq!(request(&addr, &tampered).await.0, 401);

    // A question: answered in the response body, privately, citing the right document.
    let (status, body) = post(&addr, &ask("what is the people promise"), Some(&k), now()).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], 4, "{v}");
    assert_eq!(v["data"]["flags"], 64);
    assert!(
        v["data"]["embeds"][0]["fields"][0]["name"]
            .as_str()
            .unwrap()
            .contains("People Promise"),
        "{v}"
    );
    // Distress: the crisis reply, private.
    let (_, body) = post(&addr, &ask("i want to end my life"), Some(&k), now()).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["data"]["embeds"][0]["title"],
        "You don't have to face this alone"
    );
    assert_eq!(v["data"]["flags"], 64);
    serve.child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reply_is_deferred_in_the_body_then_patched_over_rest() {
    let mut fake = FakeDiscord::start().await;
    // 0: always defer first.
    let mut serve = HttpServe::start(&fake, 0).await;
    let (status, body) = post(
        &serve.addr,
        &ask("what are the four strategic drivers"),
        Some(&key()),
        now(),
    )
    .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], 5, "{v}");
    assert_eq!(v["data"]["flags"], 64, "deferred privately");
    let edit = fake.edit(4100).await;
    assert!(
        edit.body["embeds"][0]["fields"][0]["name"]
            .as_str()
            .unwrap_or_default()
            .contains("strategic drivers"),
        "{}",
        edit.body
    );
    serve.child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_puts_the_commands_over_rest_without_a_gateway() {
    let mut fake = FakeDiscord::start().await;
    let empty = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ohwb-bot"))
        .arg("register")
        .env("DISCORD_TOKEN", "t")
        .env("OHWB_DISCORD_PROXY_URL", &fake.rest_url)
        .env("OHWB_DISCORD_APPLICATION_ID", APP_ID.to_string())
        .env("OHWB_DISCORD_GUILD_IDS", GUILD_ID.to_string())
        .current_dir(empty.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("registered 6 commands in 1 guild"));
    let path = format!("/api/v10/applications/{APP_ID}/guilds/{GUILD_ID}/commands");
    let put = fake
        .expect("registration", |r| r.method == "PUT" && r.path == path)
        .await;
    assert_eq!(put.body.as_array().unwrap().len(), 6);
}
