//! `[teams]`: Microsoft Teams through the Bot Framework. Off until `app_id` is set.
//!
//! Invariants:
//! - The app secret is never in the file: `secret_env` names the environment variable.
//! - Every URL the bot will fetch or post to is fixed here, and replies only ever go to a
//!   `serviceUrl` under one of `allowed_service_urls`, whatever an activity claims.

use serde::{Deserialize, Serialize};

/// The Bot Framework's published OpenID configuration (its `jwks_uri` gives the signing keys).
pub const BOT_FRAMEWORK_OPENID: &str =
    "https://login.botframework.com/v1/.well-known/openidconfiguration";
/// Where a bot gets its connector token (OAuth 2 client credentials).
pub const BOT_FRAMEWORK_TOKEN: &str =
    "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token";
/// Where Teams' connector lives (every region under one host).
pub const TEAMS_SERVICE_URL: &str = "https://smba.trafficmanager.net/";

/// `[teams]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TeamsConfig {
    /// The Azure Bot's Microsoft App ID (a GUID). Empty (default): Teams is off.
    pub app_id: String,
    /// Name of the environment variable holding the app's client secret. Default
    /// `TEAMS_APP_SECRET`.
    pub secret_env: String,
    /// OpenID configuration whose `jwks_uri` lists the keys that sign incoming activities.
    pub openid_metadata_url: String,
    /// OAuth 2 token endpoint for the bot's own calls to the connector.
    pub token_url: String,
    /// The only connector hosts replies may go to (prefixes of an activity's `serviceUrl`).
    pub allowed_service_urls: Vec<String>,
}

impl Default for TeamsConfig {
    fn default() -> Self {
        TeamsConfig {
            app_id: String::new(),
            secret_env: "TEAMS_APP_SECRET".into(),
            openid_metadata_url: BOT_FRAMEWORK_OPENID.into(),
            token_url: BOT_FRAMEWORK_TOKEN.into(),
            allowed_service_urls: vec![TEAMS_SERVICE_URL.into()],
        }
    }
}

impl TeamsConfig {
    /// Whether Teams is configured.
    pub fn enabled(&self) -> bool {
        !self.app_id.trim().is_empty()
    }

    /// Checks the URLs and the names; the error names the key.
    pub(super) fn validate(&self, http_listen: &str) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        if http_listen.is_empty() {
            return Err(
                "teams.app_id is set but http.listen is empty: Teams posts activities to \
                 /api/messages on that address"
                    .into(),
            );
        }
        if self.secret_env.trim().is_empty() {
            return Err("teams.secret_env must name an environment variable".into());
        }
        for (key, url) in [
            ("teams.openid_metadata_url", &self.openid_metadata_url),
            ("teams.token_url", &self.token_url),
        ] {
            web_url(url).map_err(|e| format!("{key}: {e}"))?;
        }
        if self.allowed_service_urls.is_empty() {
            return Err("teams.allowed_service_urls must list at least one connector".into());
        }
        for url in &self.allowed_service_urls {
            web_url(url).map_err(|e| format!("teams.allowed_service_urls `{url}`: {e}"))?;
            if !url.ends_with('/') {
                // A prefix without its slash would also allow `https://host.evil.example`.
                return Err(format!(
                    "teams.allowed_service_urls `{url}`: end it with / (it is a prefix)"
                ));
            }
        }
        Ok(())
    }
}

fn web_url(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| e.to_string())?;
    match url.scheme() {
        "https" | "http" if url.host().is_some() => Ok(url),
        _ => Err("must be an http(s) URL with a host".into()),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn teams_settings_are_checked_when_it_is_on() {
        assert!(
            Config::parse("[teams]\nallowed_service_urls = []\n").is_ok(),
            "off: unchecked"
        );
        let on = "[http]\nlisten = \"127.0.0.1:9898\"\n[teams]\napp_id = \"a\"\n";
        assert!(Config::parse(on).is_ok());
        let e = Config::parse("[teams]\napp_id = \"a\"\n").unwrap_err();
        assert!(e.contains("http.listen"), "{e}");
        let e = Config::parse(&format!(
            "{on}allowed_service_urls = [\"https://smba.trafficmanager.net\"]\n"
        ))
        .unwrap_err();
        assert!(e.contains("end it with /"), "{e}");
        let e = Config::parse(&format!("{on}token_url = \"ftp://x/\"\n")).unwrap_err();
        assert!(e.contains("teams.token_url"), "{e}");
    }
}
