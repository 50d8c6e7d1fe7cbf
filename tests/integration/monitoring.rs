//! `/healthz` and `/metrics` (`[http] listen`), the per-person rate limit, and `OHWB_`
//! environment overrides, through the real `serve` binary and a fake Discord.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::real_config;
use crate::discord::Serve;
use crate::fake_discord::{FakeDiscord, Interaction, PATIENCE, USER_ID};
use ohwb_bot::commands::Bot;
use ohwb_bot::metrics::Gateway;

/// A plain HTTP/1.1 GET: (status code, body).
pub async fn get(addr: &str, path: &str) -> (u16, String) {
    get_within(addr, path, PATIENCE).await
}

/// Sends a raw HTTP/1.1 request (with `Connection: close`): (status code, body).
pub async fn request(addr: &str, raw: &str) -> (u16, String) {
    request_within(addr, raw, PATIENCE).await
}

/// [`get`] with its own patience, for a first request that waits while the server builds its
/// index.
pub async fn get_within(addr: &str, path: &str, patience: Duration) -> (u16, String) {
    request_within(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        patience,
    )
    .await
}

async fn request_within(addr: &str, raw: &str, patience: Duration) -> (u16, String) {
    let mut stream = tokio::time::timeout(patience, async {
        loop {
            // The server may still be starting: it binds before the index opens, but accepts
            // only once the runtime runs.
            match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => break s,
                Err(_) => tokio::task::yield_now().await,
            }
        }
    })
    .await
    .expect("the endpoint accepts connections");
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(patience, stream.read_to_string(&mut response))
        .await
        .expect("a response")
        .unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A loopback address with a free port.
pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

fn ask(question: &str) -> Interaction {
    Interaction::command("ask", &[("question", json!(question))])
}

/// The value of a sample line `name value` in Prometheus text.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reports_health_and_counts_and_limits_questions_but_never_a_crisis() {
    let addr = free_addr();
    let mut fake = FakeDiscord::start().await;
    // The listen address comes from the environment, as a container would set it.
    let serve = Serve::start(
        &mut fake,
        "token_env = \"OHWB_TEST_TOKEN\"\n\n[limits]\nasks_per_minute = 2\n",
        &[("OHWB_TEST_TOKEN", "t"), ("OHWB_HTTP_LISTEN", &addr)],
    )
    .await;
    let (status, body) = get(&addr, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    let title = |cb: &crate::fake_discord::Request| {
        cb.body["data"]["embeds"][0]["title"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let answered = fake.send(ask("what is the people promise"));
    let cb = fake.callback(answered).await;
    assert_eq!(title(&cb), "", "an answer has no title: {}", cb.body);
    let declined = fake.send(ask("what is on the canteen menu today?"));
    assert_eq!(
        title(&fake.callback(declined).await),
        "Not covered by the strategy"
    );
    // The third question inside a minute is over the limit of 2: a polite private refusal.
    let limited = fake.send(ask("who wrote the strategy"));
    let cb = fake.callback(limited).await;
    assert_eq!(title(&cb), "One moment, please", "{}", cb.body);
    assert_eq!(cb.body["data"]["flags"], 64);
    // Distress is never limited.
    let crisis = fake.send(ask("i cant do this anymore i want to end my life"));
    assert_eq!(
        title(&fake.callback(crisis).await),
        "You don't have to face this alone"
    );

    let (status, metrics) = get(&addr, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(
        sample(&metrics, "ohwb_asks_total{outcome=\"answered\"}"),
        1.0
    );
    assert_eq!(
        sample(&metrics, "ohwb_asks_total{outcome=\"declined\"}"),
        1.0
    );
    assert_eq!(sample(&metrics, "ohwb_asks_total{outcome=\"crisis\"}"), 1.0);
    assert_eq!(sample(&metrics, "ohwb_rate_limited_total"), 1.0);
    assert_eq!(sample(&metrics, "ohwb_answer_seconds_count"), 3.0);
    let index = ohwb_bot::index::read_manifest(&real_config().paths.index)
        .unwrap()
        .unwrap();
    assert_eq!(
        sample(&metrics, "ohwb_index_passages"),
        index.passage_count() as f64
    );
    for secret in ["people promise", "canteen", "end my life", USER_ID] {
        assert!(!metrics.contains(secret), "{secret} in /metrics");
    }
    let logs = serve.stop().await;
    assert!(logs.contains("serving /healthz and /metrics"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_unavailable_while_the_gateway_is_down() {
    let bot = Arc::new(Bot::open(real_config()).unwrap());
    let gateway = Arc::new(Gateway::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ohwb_bot::http::serve(
        listener,
        ohwb_bot::http::router(bot, Some(gateway.clone())),
        async {
            let _ = stopped.await;
        },
    ));
    assert_eq!(
        get(&addr, "/healthz").await,
        (503, "gateway not connected\n".to_string())
    );
    gateway.set_connected(true);
    assert_eq!(get(&addr, "/healthz").await, (200, "ok\n".to_string()));
    assert_eq!(get(&addr, "/nothing").await.0, 404);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("stops when asked")
        .unwrap()
        .unwrap();
}

#[test]
fn a_taken_port_or_a_bad_override_stops_serve_with_the_setting_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let empty = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ohwb-bot"))
            .arg("serve")
            .env("DISCORD_TOKEN", "t")
            .envs(env.iter().copied())
            .current_dir(empty.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(&[("OHWB_HTTP_LISTEN", &addr)]);
    assert!(err.contains(&format!("http.listen {addr}")), "{err}");
    let err = run(&[("OHWB_HTTP_LISTEN", "localhost")]);
    assert!(err.contains("http.listen `localhost`"), "{err}");
    let err = run(&[("OHWB_PATHS_CORPSE", "/x")]);
    assert!(err.contains("OHWB_PATHS_CORPSE"), "{err}");
    let err = run(&[("OHWB_PATHS_CORPUS", "/no/such/corpus")]);
    assert!(err.contains("/no/such/corpus"), "{err}");
}
