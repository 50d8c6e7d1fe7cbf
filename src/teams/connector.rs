//! The bot's own calls to the Bot Framework connector: replies into a conversation, and a
//! personal chat opened for a reply that must not be seen in a channel.
//!
//! Invariants:
//! - Only a `serviceUrl` under `[teams] allowed_service_urls` is ever called ([`Connector::
//!   allowed`]); the endpoint refuses any other before anything runs.
//! - The bearer token comes from the client-credentials flow at `[teams] token_url` and is
//!   reused until [`TOKEN_MARGIN`] before it expires; one request fetches it while the others
//!   wait, so a burst makes one token request, not hundreds.
//! - The app secret is held in memory only and never logged.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

/// How long before its expiry a token is replaced.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(300);
/// What the token is for: the Bot Framework's APIs.
const SCOPE: &str = "https://api.botframework.com/.default";
/// Longest any one connector call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a call to the connector failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The service URL is not on the allowed list.
    #[error("service URL not allowed")]
    NotAllowed,
    /// No token from the token endpoint.
    #[error("no connector token: {0}")]
    Token(String),
    /// The connector refused or could not be reached.
    #[error("connector call failed: {0}")]
    Call(String),
}

/// Calls the connector as the bot.
pub struct Connector {
    http: reqwest::Client,
    app_id: String,
    secret: String,
    token_url: String,
    allowed: Vec<String>,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

/// Path-segment escaping: a conversation id holds `:`, `;`, `@` and `=`.
fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Connector {
    /// A connector client for the app `app_id` with `secret`.
    pub fn new(
        http: reqwest::Client,
        app_id: &str,
        secret: String,
        token_url: &str,
        allowed: &[String],
    ) -> Connector {
        Connector {
            http,
            app_id: app_id.trim().to_string(),
            secret,
            token_url: token_url.trim().to_string(),
            allowed: allowed.iter().map(|a| a.trim().to_string()).collect(),
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// Whether replies may go to `service_url`: it must parse, and start with an allowed
    /// prefix once normalised (so `HTTPS://SMBA…` and a missing final `/` compare alike, and
    /// `https://smba.trafficmanager.net.evil.example/` does not).
    pub fn allowed(&self, service_url: &str) -> bool {
        let Ok(url) = url::Url::parse(service_url.trim()) else {
            return false;
        };
        if url.cannot_be_a_base() || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let mut normal = url.to_string();
        if !normal.ends_with('/') {
            normal.push('/');
        }
        self.allowed.iter().any(|p| normal.starts_with(p.as_str()))
    }

    /// A token for the connector, fetched when there is none or it is about to expire.
    async fn bearer(&self) -> Result<String, ConnectorError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() + TOKEN_MARGIN < *until {
                return Ok(token.clone());
            }
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.app_id.as_str()),
            ("client_secret", self.secret.as_str()),
            ("scope", SCOPE),
        ];
        let response: TokenResponse = self
            .http
            .post(&self.token_url)
            .form(&form)
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| ConnectorError::Token(e.without_url().to_string()))?
            .json()
            .await
            .map_err(|_| ConnectorError::Token("not a token response".into()))?;
        let until = Instant::now() + Duration::from_secs(response.expires_in);
        *cached = Some((response.access_token.clone(), until));
        Ok(response.access_token)
    }

    async fn post(
        &self,
        service_url: &str,
        path: &str,
        body: &Value,
    ) -> Result<Value, ConnectorError> {
        if !self.allowed(service_url) {
            return Err(ConnectorError::NotAllowed);
        }
        let url = format!("{}/{path}", service_url.trim().trim_end_matches('/'));
        let token = self.bearer().await?;
        let response = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(body)
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| ConnectorError::Call(e.without_url().to_string()))?;
        // Replies answer with `{"id": …}`; an empty body is fine too.
        Ok(response.json().await.unwrap_or(Value::Null))
    }

    /// Posts `activity` as a reply to `activity_id` in `conversation` (in a channel: in its
    /// thread).
    pub async fn reply(
        &self,
        service_url: &str,
        conversation: &str,
        activity_id: &str,
        activity: &Value,
    ) -> Result<(), ConnectorError> {
        let path = format!(
            "v3/conversations/{}/activities/{}",
            segment(conversation),
            segment(activity_id)
        );
        self.post(service_url, &path, activity).await.map(|_| ())
    }

    /// Posts `activity` into `conversation` (not as a reply).
    pub async fn send(
        &self,
        service_url: &str,
        conversation: &str,
        activity: &Value,
    ) -> Result<(), ConnectorError> {
        let path = format!("v3/conversations/{}/activities", segment(conversation));
        self.post(service_url, &path, activity).await.map(|_| ())
    }

    /// Opens (or finds) the personal chat between the bot `bot_id` and the user `user_id` in
    /// `tenant`, and returns its conversation id.
    pub async fn personal_chat(
        &self,
        service_url: &str,
        bot_id: &str,
        user_id: &str,
        tenant: Option<&str>,
    ) -> Result<String, ConnectorError> {
        let mut body = json!({
            "bot": { "id": bot_id },
            "members": [ { "id": user_id } ],
            "isGroup": false,
        });
        if let Some(t) = tenant {
            body["tenantId"] = json!(t);
            body["channelData"] = json!({ "tenant": { "id": t } });
        }
        let created = self.post(service_url, "v3/conversations", &body).await?;
        created
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ConnectorError::Call("no conversation id in the response".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_service_urls_under_an_allowed_prefix_are_called() {
        let c = Connector::new(
            reqwest::Client::new(),
            "app",
            "secret".into(),
            "https://login.example/token",
            &["https://smba.trafficmanager.net/".to_string()],
        );
        for ok in [
            "https://smba.trafficmanager.net/uk/",
            "https://smba.trafficmanager.net/emea",
            "HTTPS://SMBA.TRAFFICMANAGER.NET/amer/",
        ] {
            assert!(c.allowed(ok), "{ok}");
        }
        for refused in [
            "https://smba.trafficmanager.net.evil.example/",
            "https://smba.trafficmanager.net@evil.example/",
            "https://user@smba.trafficmanager.net/uk/",
            "http://smba.trafficmanager.net/uk/",
            "https://evil.example/https://smba.trafficmanager.net/",
            "not a url",
            "",
        ] {
            assert!(!c.allowed(refused), "{refused}");
        }
    }

    #[test]
    fn conversation_ids_are_one_path_segment() {
        assert_eq!(
            segment("19:abc@thread.tacv2;messageid=17/../x"),
            "19%3Aabc%40thread%2Etacv2%3Bmessageid%3D17%2F%2E%2E%2Fx"
        );
    }
}
