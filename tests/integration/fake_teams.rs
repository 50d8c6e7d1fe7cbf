//! A fake Bot Framework on 127.0.0.1: the OpenID metadata and JWKS that vouch for the test key
//! (`tests/fixtures/teams`), the token endpoint, and the connector REST API, recording every
//! call. Tokens for incoming activities are signed here with the same test keys.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::fake_discord::PATIENCE;

/// The bot's app id in the tests.
pub const APP_ID: &str = "0d9a6c1e-0000-4000-8000-0000000000b0";
/// The token the fake token endpoint issues.
pub const CONNECTOR_TOKEN: &str = "fake-connector-token";
/// The conversation id the fake gives a new personal chat.
pub const PERSONAL_CHAT: &str = "a:personal-chat-1";

/// The key the JWKS publishes (kid `trusted-key`).
pub fn trusted_key() -> EncodingKey {
    EncodingKey::from_rsa_der(include_bytes!("../fixtures/teams/trusted-key.der"))
}

/// A key nobody publishes, unless a test adds [`stranger_jwk`].
pub fn stranger_key() -> EncodingKey {
    EncodingKey::from_rsa_der(include_bytes!("../fixtures/teams/stranger-key.der"))
}

fn jwk(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The stranger key's public half as a JWK (kid `stranger-key`).
pub fn stranger_jwk() -> Value {
    jwk(include_str!("../fixtures/teams/stranger-jwk.json"))
}

/// A JSON response (this crate builds axum without its `json` feature).
#[allow(non_snake_case)]
fn Json(value: Value) -> axum::response::Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// One call the bot made to the connector.
#[derive(Debug, Clone)]
pub struct Call {
    /// The path, percent-encoded as sent.
    pub path: String,
    /// The `Authorization` header.
    pub auth: String,
    /// The JSON body.
    pub body: Value,
}

#[derive(Default)]
struct Record {
    calls: Vec<Call>,
    token_forms: Vec<String>,
    key_fetches: usize,
}

#[derive(Clone)]
struct Shared {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    record: Arc<Mutex<Record>>,
    changed: Arc<tokio::sync::Notify>,
}

/// The running fake.
pub struct FakeBotFramework {
    /// `http://127.0.0.1:<port>`, also the activities' `serviceUrl` (with a final `/`).
    pub url: String,
    shared: Shared,
}

/// Claims for a token; tests change fields to make bad ones.
pub fn claims(service_url: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "iss": "https://api.botframework.com",
        "aud": APP_ID,
        "exp": now + 3600,
        "nbf": now - 10,
        "serviceurl": service_url,
    })
}

/// A signed bearer token.
pub fn token(claims: &Value, key: &EncodingKey, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

async fn openid(State(s): State<Shared>) -> axum::response::Response {
    Json(json!({
        "issuer": "https://api.botframework.com",
        "jwks_uri": format!("{}/keys", s.url),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn keys(State(s): State<Shared>) -> axum::response::Response {
    s.record.lock().unwrap().key_fetches += 1;
    Json(json!({ "keys": s.keys.lock().unwrap().clone() }))
}

async fn token_endpoint(State(s): State<Shared>, body: String) -> axum::response::Response {
    s.record.lock().unwrap().token_forms.push(body);
    Json(json!({
        "token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
        "access_token": CONNECTOR_TOKEN,
    }))
}

async fn connector(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    assert_eq!(method, Method::POST, "the connector is only posted to");
    let path = uri.path().to_string();
    let call = Call {
        auth: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
        path: path.clone(),
    };
    s.record.lock().unwrap().calls.push(call);
    s.changed.notify_waiters();
    if path == "/v3/conversations" {
        Json(json!({ "id": PERSONAL_CHAT }))
    } else {
        Json(json!({ "id": "sent-1" }))
    }
}

impl FakeBotFramework {
    /// Starts the fake on a free loopback port, publishing the trusted key.
    pub async fn start() -> FakeBotFramework {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            url: url.clone(),
            keys: Arc::new(Mutex::new(vec![jwk(include_str!(
                "../fixtures/teams/trusted-jwk.json"
            ))])),
            record: Arc::default(),
            changed: Arc::default(),
        };
        let app = Router::new()
            .route("/openid", get(openid))
            .route("/keys", get(keys))
            .route("/token", axum::routing::post(token_endpoint))
            .fallback(connector)
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeBotFramework { url, shared }
    }

    /// The OpenID metadata URL.
    pub fn openid_url(&self) -> String {
        format!("{}/openid", self.url)
    }

    /// The activities' service URL.
    pub fn service_url(&self) -> String {
        format!("{}/", self.url)
    }

    /// Publishes another key (a rotation).
    pub fn publish(&self, key: Value) {
        self.shared.keys.lock().unwrap().push(key);
    }

    /// Every connector call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.record.lock().unwrap().calls.clone()
    }

    /// The bodies posted to the token endpoint.
    pub fn token_forms(&self) -> Vec<String> {
        self.shared.record.lock().unwrap().token_forms.clone()
    }

    /// How many times the keys were fetched.
    pub fn key_fetches(&self) -> usize {
        self.shared.record.lock().unwrap().key_fetches
    }

    /// Waits until at least `n` connector calls have been made, and returns them all.
    pub async fn wait_calls(&self, n: usize) -> Vec<Call> {
        tokio::time::timeout(PATIENCE, async {
            loop {
                let changed = self.shared.changed.notified();
                let calls = self.calls();
                if calls.len() >= n {
                    return calls;
                }
                changed.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{n} connector calls; got {:?}", self.calls()))
    }
}
