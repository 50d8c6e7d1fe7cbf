//! A fake Discord on 127.0.0.1 for end-to-end tests: a REST API (what serenity's HTTP client
//! calls through its proxy setting) and a plain `ws://` gateway (HELLO, IDENTIFY, READY,
//! heartbeat ACKs, then whatever dispatches a test sends).
//!
//! Every REST request is recorded; tests wait for the one they expect with [`FakeDiscord::expect`],
//! which blocks on a channel (with a generous timeout so a broken bot fails instead of hanging).
//! Reusable by any test that drives the bot: build interactions with [`Interaction`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};
use tokio_tungstenite::tungstenite::Message;

/// The application id the fake announces in READY.
pub const APP_ID: u64 = 2000;
/// The guild interactions come from.
pub const GUILD_ID: u64 = 5000;
/// The user who sends every interaction: a distinctive id, so a test that finds it in logs
/// has found the user, not some other number.
pub const USER_ID: &str = "600061442917";
/// How long [`FakeDiscord::expect`] waits before failing the test.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One REST call the bot made.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// When the fake received it: read by the burst benchmark (benches/burst.rs).
    #[allow(dead_code)]
    pub at: std::time::Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct FakeDiscord {
    /// Base URL to give the bot as `discord.proxy_url`.
    pub rest_url: String,
    requests: mpsc::UnboundedReceiver<Request>,
    /// Everything received so far, including requests already taken by `expect`.
    pub log: Arc<Mutex<Vec<Request>>>,
    dispatch: mpsc::UnboundedSender<Value>,
    identified: mpsc::UnboundedReceiver<Value>,
    mute: Arc<tokio::sync::Notify>,
    next_id: AtomicU64,
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rest_url = format!("http://{}", rest.local_addr().unwrap());
        let ws_url = format!("ws://{}", gateway.local_addr().unwrap());
        let (req_tx, requests) = mpsc::unbounded_channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(serve_rest(rest, ws_url.clone(), req_tx, log.clone()));
        let (dispatch, dispatch_rx) = mpsc::unbounded_channel();
        let (ident_tx, identified) = mpsc::unbounded_channel();
        let mute = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(serve_gateway(
            gateway,
            ws_url,
            dispatch_rx,
            ident_tx,
            mute.clone(),
        ));
        FakeDiscord {
            rest_url,
            requests,
            log,
            dispatch,
            identified,
            mute,
            next_id: AtomicU64::new(3000),
        }
    }

    /// Waits until the bot has identified on the gateway; returns the IDENTIFY payload.
    pub async fn identified(&mut self) -> Value {
        tokio::time::timeout(PATIENCE, self.identified.recv())
            .await
            .expect("the bot did not IDENTIFY in time")
            .expect("gateway closed")
    }

    /// Waits for the next REST request matching `pred`, skipping others (they stay in `log`).
    pub async fn expect(&mut self, what: &str, pred: impl Fn(&Request) -> bool) -> Request {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let next = tokio::time::timeout_at(deadline, self.requests.recv()).await;
            match next {
                Ok(Some(r)) if pred(&r) => return r,
                Ok(Some(_)) => continue,
                Ok(None) => panic!("fake Discord stopped while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; requests so far: {:#?}",
                    self.log
                        .lock()
                        .await
                        .iter()
                        .map(|r| format!("{} {}", r.method, r.path))
                        .collect::<Vec<_>>()
                ),
            }
        }
    }

    /// From now on the gateway neither reads nor writes (a dead network path): the bot's close
    /// frame is never answered. The connection stays open.
    pub fn mute_gateway(&self) {
        self.mute.notify_one();
    }

    /// Sends an INTERACTION_CREATE and returns its id (the callback path contains it).
    pub fn send(&self, interaction: Interaction) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.dispatch
            .send(interaction.to_json(id))
            .expect("gateway task alive");
        id
    }

    /// Waits for the callback to interaction `id`.
    pub async fn callback(&mut self, id: u64) -> Request {
        let path = format!("/api/v10/interactions/{id}/token-{id}/callback");
        self.expect(&format!("callback for interaction {id}"), |r| {
            r.method == "POST" && r.path == path
        })
        .await
    }

    /// Waits for the edit of interaction `id`'s deferred reply.
    pub async fn edit(&mut self, id: u64) -> Request {
        let path = format!("/api/v10/webhooks/{APP_ID}/token-{id}/messages/@original");
        self.expect(&format!("edit for interaction {id}"), |r| {
            r.method == "PATCH" && r.path == path
        })
        .await
    }
}

/// An interaction to send; build with the constructors, adjust fields, then `FakeDiscord::send`.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub kind: u8,
    pub name: String,
    pub options: Vec<Value>,
    pub roles: Vec<u64>,
    pub in_guild: bool,
}

impl Interaction {
    /// A slash command with (name, value) options; strings become type 3, booleans type 5.
    /// A press on a message button whose `custom_id` is `custom_id` (a component interaction).
    pub fn button(custom_id: &str) -> Interaction {
        Interaction {
            kind: 3,
            name: custom_id.into(),
            options: Vec::new(),
            roles: Vec::new(),
            in_guild: true,
        }
    }

    pub fn command(name: &str, options: &[(&str, Value)]) -> Interaction {
        Interaction {
            kind: 2,
            name: name.into(),
            options: options
                .iter()
                .map(|(n, v)| {
                    let ty = if v.is_boolean() { 5 } else { 3 };
                    json!({"name": n, "type": ty, "value": v})
                })
                .collect(),
            roles: Vec::new(),
            in_guild: true,
        }
    }

    /// A subcommand (`/resource add …`) with (name, value) options.
    pub fn subcommand(name: &str, sub: &str, options: &[(&str, Value)]) -> Interaction {
        let inner = Interaction::command(sub, options).options;
        Interaction {
            kind: 2,
            name: name.into(),
            options: vec![json!({"name": sub, "type": 1, "options": inner})],
            roles: Vec::new(),
            in_guild: true,
        }
    }

    /// Autocomplete inside a subcommand.
    pub fn sub_autocomplete(name: &str, sub: &str, focused: &str, partial: &str) -> Interaction {
        let inner = json!([{"name": focused, "type": 3, "value": partial, "focused": true}]);
        Interaction {
            kind: 4,
            name: name.into(),
            options: vec![json!({"name": sub, "type": 1, "options": inner})],
            roles: Vec::new(),
            in_guild: true,
        }
    }

    /// An autocomplete request while the user types `partial` into option `focused`.
    pub fn autocomplete(
        name: &str,
        filled: &[(&str, &str)],
        focused: &str,
        partial: &str,
    ) -> Interaction {
        let mut options: Vec<Value> = filled
            .iter()
            .map(|(n, v)| json!({"name": n, "type": 3, "value": v}))
            .collect();
        options.push(json!({"name": focused, "type": 3, "value": partial, "focused": true}));
        Interaction {
            kind: 4,
            name: name.into(),
            options,
            roles: Vec::new(),
            in_guild: true,
        }
    }

    pub fn with_roles(mut self, roles: &[u64]) -> Interaction {
        self.roles = roles.to_vec();
        self
    }

    pub fn in_dm(mut self) -> Interaction {
        self.in_guild = false;
        self
    }

    pub fn to_json(&self, id: u64) -> Value {
        let user = json!({"id": USER_ID, "username": "staff-member", "discriminator": "0", "global_name": "Staff Member", "avatar": null});
        let mut v = json!({
            "id": id.to_string(),
            "application_id": APP_ID.to_string(),
            "type": self.kind,
            "token": format!("token-{id}"),
            "version": 1,
            "locale": "en-GB",
            "channel_id": "4000",
            "entitlements": [],
            "attachment_size_limit": 8388608,
            "app_permissions": "0",
            "data": {"id": "7000", "name": self.name, "type": 1, "options": self.options},
        });
        if self.kind == 3 {
            // A component interaction carries the button's id and the message it sits under.
            v["data"] = json!({"custom_id": self.name, "component_type": 2});
            v["message"] = json!({
                "id": "8000", "channel_id": "4000", "author": {"id": APP_ID.to_string(),
                "username": "ohwb-bot", "discriminator": "0", "avatar": null, "bot": true},
                "content": "", "timestamp": "2024-01-01T00:00:00.000000+00:00",
                "edited_timestamp": null, "tts": false, "mention_everyone": false,
                "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
                "pinned": false, "type": 0
            });
        }
        if self.in_guild {
            v["guild_id"] = json!(GUILD_ID.to_string());
            v["guild_locale"] = json!("en-GB");
            v["member"] = json!({
                "user": user,
                "roles": self.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                "joined_at": "2024-01-01T00:00:00.000000+00:00",
                "deaf": false, "mute": false, "flags": 0, "permissions": "0"
            });
        } else {
            v["user"] = user;
        }
        v
    }
}

async fn serve_rest(
    listener: TcpListener,
    ws_url: String,
    tx: mpsc::UnboundedSender<Request>,
    log: Arc<Mutex<Vec<Request>>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (tx, log, ws_url) = (tx.clone(), log.clone(), ws_url.clone());
        tokio::spawn(async move {
            let _ = serve_connection(stream, &ws_url, &tx, &log).await;
        });
    }
}

/// HTTP/1.1 with keep-alive: requests are read one after another on the same connection.
async fn serve_connection(
    stream: TcpStream,
    ws_url: &str,
    tx: &mpsc::UnboundedSender<Request>,
    log: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let request = Request {
            method,
            path,
            headers,
            body,
            at: std::time::Instant::now(),
        };
        let (status, response) = route(&request, ws_url);
        log.lock().await.push(request.clone());
        let _ = tx.send(request);
        let text = response.map(|v| v.to_string()).unwrap_or_default();
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            text.len()
        );
        let stream = reader.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(text.as_bytes()).await?;
        stream.flush().await?;
    }
}

fn route(r: &Request, ws_url: &str) -> (&'static str, Option<Value>) {
    let p = r.path.as_str();
    match r.method.as_str() {
        "GET" if p == "/api/v10/gateway" => ("200 OK", Some(json!({"url": ws_url}))),
        "PUT" if p.ends_with("/commands") => {
            let registered: Vec<Value> = r
                .body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, mut c)| {
                    c["id"] = json!((8000 + i).to_string());
                    c["application_id"] = json!(APP_ID.to_string());
                    c["version"] = json!("1");
                    if c.get("type").is_none() {
                        c["type"] = json!(1);
                    }
                    c
                })
                .collect();
            ("200 OK", Some(Value::Array(registered)))
        }
        "POST" if p.starts_with("/api/v10/interactions/") => ("204 No Content", None),
        "DELETE" if p.starts_with("/api/v10/webhooks/") => ("204 No Content", None),
        "POST" if p.starts_with("/api/v10/channels/") && p.ends_with("/messages") => {
            ("200 OK", Some(message_json(&r.body)))
        }
        "PATCH" | "POST" if p.starts_with("/api/v10/webhooks/") => {
            ("200 OK", Some(message_json(&r.body)))
        }
        _ => (
            "404 Not Found",
            Some(json!({"message": "Unknown route in fake Discord", "code": 0})),
        ),
    }
}

fn message_json(body: &Value) -> Value {
    json!({
        "id": "9000", "channel_id": "4000", "type": 0,
        "author": {"id": "1000", "username": "ohwb-bot", "discriminator": "0", "avatar": null, "bot": true},
        "content": body.get("content").cloned().unwrap_or(json!("")),
        "timestamp": "2026-01-01T00:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": body.get("embeds").cloned().unwrap_or(json!([])),
        "pinned": false, "flags": 0
    })
}

async fn serve_gateway(
    listener: TcpListener,
    ws_url: String,
    mut dispatch: mpsc::UnboundedReceiver<Value>,
    identified: mpsc::UnboundedSender<Value>,
    mute: Arc<tokio::sync::Notify>,
) {
    // One client connection at a time; a reconnect gets a fresh handshake.
    while let Ok((stream, _)) = listener.accept().await {
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            continue;
        };
        let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}});
        if ws.send(Message::Text(hello.to_string())).await.is_err() {
            continue;
        }
        let mut seq = 0u64;
        loop {
            tokio::select! {
                incoming = ws.next() => {
                    let Some(Ok(msg)) = incoming else { break };
                    let Message::Text(text) = msg else { continue };
                    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    match v["op"].as_u64() {
                        Some(1) => {
                            let _ = ws.send(Message::Text(json!({"op": 11}).to_string())).await;
                        }
                        Some(2) => {
                            seq += 1;
                            let ready = json!({"op": 0, "s": seq, "t": "READY", "d": {
                                "v": 10,
                                "user": {"id": "1000", "username": "ohwb-bot", "discriminator": "0", "avatar": null, "bot": true},
                                "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
                                "session_id": "fake-session",
                                "resume_gateway_url": ws_url,
                                "shard": [0, 1],
                                "application": {"id": APP_ID.to_string(), "flags": 0}
                            }});
                            let _ = ws.send(Message::Text(ready.to_string())).await;
                            let _ = identified.send(v["d"].clone());
                        }
                        _ => {}
                    }
                }
                () = mute.notified() => {
                    // Hold the socket without polling it, so not even the automatic close
                    // reply is sent.
                    let _held = ws;
                    std::future::pending::<()>().await;
                    return;
                }
                event = dispatch.recv() => {
                    let Some(d) = event else { return };
                    seq += 1;
                    let frame = json!({"op": 0, "s": seq, "t": "INTERACTION_CREATE", "d": d});
                    if ws.send(Message::Text(frame.to_string())).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
}
