//! Who may post to `/api/messages`: the Bot Framework, proven by the `Authorization: Bearer`
//! JWT on each activity (Bot Framework "connector to bot" authentication).
//!
//! A token is accepted only when all of these hold: it is RS256, signed by a key the
//! `[teams] openid_metadata_url` document's `jwks_uri` publishes (and, when the key lists
//! endorsements, endorsed for the activity's channel); its issuer is [`ISSUER`]; its audience
//! is `[teams] app_id`; it has not expired and is already valid, allowing [`LEEWAY`] of clock
//! skew; and its `serviceurl` claim is the activity's `serviceUrl`, so a token taken from one
//! conversation cannot send the bot's replies elsewhere.
//!
//! Invariants:
//! - Keys are cached; a token naming a key the cache lacks fetches the keys again (the Bot
//!   Framework rotates them), at most once per `min_refresh`, so forged key ids cannot make
//!   the bot hammer the key server.
//! - A refusal's reason is a fixed phrase ([`AuthError`]): no token contents are logged.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The issuer of every token the Bot Framework signs for a bot.
pub const ISSUER: &str = "https://api.botframework.com";
/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(300);
/// Keys are fetched again after this long even when every key id is known.
const KEYS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Why an activity was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error("no bearer token")]
    Missing,
    /// Not a JWT, no key id, or not RS256.
    #[error("malformed token or not RS256")]
    Malformed,
    /// No published key has the token's key id.
    #[error("signed with an unknown key")]
    UnknownKey,
    /// The key is not endorsed for the activity's channel.
    #[error("the signing key is not endorsed for this channel")]
    NotEndorsed,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// Expired, or not valid yet.
    #[error("expired or not yet valid")]
    Expired,
    /// Another issuer.
    #[error("wrong issuer")]
    Issuer,
    /// Meant for another bot.
    #[error("wrong audience")]
    Audience,
    /// The token's `serviceurl` is not the activity's.
    #[error("token is for another service URL")]
    ServiceUrl,
    /// The keys could not be fetched.
    #[error("cannot fetch the signing keys: {0}")]
    Keys(String),
}

/// A published key and the channels it may sign for (empty: any).
struct PublishedKey {
    key: DecodingKey,
    endorsements: Vec<String>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, PublishedKey>,
    fetched: Option<Instant>,
}

/// Checks the tokens on incoming activities.
pub struct Authenticator {
    app_id: String,
    metadata_url: String,
    http: reqwest::Client,
    min_refresh: Duration,
    cache: tokio::sync::Mutex<KeyCache>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default, alias = "serviceUrl")]
    serviceurl: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<serde_json::Value>,
}

impl Authenticator {
    /// Tokens for `app_id`, with keys from the OpenID document at `metadata_url`; an unknown
    /// key id fetches the keys again at most once per `min_refresh`.
    pub fn new(
        app_id: &str,
        metadata_url: &str,
        http: reqwest::Client,
        min_refresh: Duration,
    ) -> Authenticator {
        Authenticator {
            app_id: app_id.trim().to_string(),
            metadata_url: metadata_url.trim().to_string(),
            http,
            min_refresh,
            cache: tokio::sync::Mutex::new(KeyCache::default()),
        }
    }

    /// Checks `authorization` (the header's value) for an activity from `service_url` on
    /// `channel_id`.
    pub async fn check(
        &self,
        authorization: Option<&str>,
        service_url: &str,
        channel_id: &str,
    ) -> Result<(), AuthError> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Malformed);
        }
        let kid = header.kid.ok_or(AuthError::Malformed)?;
        let (key, endorsements) = self.key(&kid).await?;
        if !endorsements.is_empty() && !endorsements.iter().any(|e| e == channel_id) {
            return Err(AuthError::NotEndorsed);
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[&self.app_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY.as_secs();
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::InvalidSignature => AuthError::Signature,
                    K::ExpiredSignature | K::ImmatureSignature => AuthError::Expired,
                    K::InvalidIssuer => AuthError::Issuer,
                    K::InvalidAudience => AuthError::Audience,
                    _ => AuthError::Malformed,
                }
            })?
            .claims;
        let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
        match claims.serviceurl {
            Some(url) if same(&url, service_url) => Ok(()),
            _ => Err(AuthError::ServiceUrl),
        }
    }

    /// The key `kid` and its endorsements, fetching the keys when they are stale or lack it.
    async fn key(&self, kid: &str) -> Result<(DecodingKey, Vec<String>), AuthError> {
        let mut cache = self.cache.lock().await;
        let age = cache.fetched.map(|t| t.elapsed());
        let stale = age.is_none_or(|a| a > KEYS_MAX_AGE);
        let may_refresh = age.is_none_or(|a| a >= self.min_refresh);
        if stale || (!cache.keys.contains_key(kid) && may_refresh) {
            match self.fetch().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched = Some(Instant::now());
                }
                // Keep serving with the keys we have; with none, nothing can be checked.
                Err(e) if cache.keys.is_empty() => return Err(e),
                Err(e) => tracing::warn!(error = %e, "could not refresh the Teams signing keys"),
            }
        }
        let found = cache.keys.get(kid).ok_or(AuthError::UnknownKey)?;
        Ok((found.key.clone(), found.endorsements.clone()))
    }

    async fn fetch(&self) -> Result<HashMap<String, PublishedKey>, AuthError> {
        let get = |url: String| async move {
            self.http
                .get(&url)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| AuthError::Keys(e.without_url().to_string()))
        };
        let metadata: Metadata = get(self.metadata_url.clone())
            .await?
            .json()
            .await
            .map_err(|_| AuthError::Keys("the OpenID metadata has no jwks_uri".into()))?;
        let set: KeySet = get(metadata.jwks_uri)
            .await?
            .json()
            .await
            .map_err(|_| AuthError::Keys("the key set is not JSON with keys".into()))?;
        let mut keys = HashMap::new();
        for raw in set.keys {
            let endorsements = raw
                .get("endorsements")
                .and_then(|e| serde_json::from_value::<Vec<String>>(e.clone()).ok())
                .unwrap_or_default();
            // Keys of other kinds (or malformed ones) are skipped, not fatal: one bad entry
            // must not lock out the rest.
            let Ok(jwk) = serde_json::from_value::<Jwk>(raw) else {
                continue;
            };
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(&jwk))
            else {
                continue;
            };
            keys.insert(kid, PublishedKey { key, endorsements });
        }
        if keys.is_empty() {
            return Err(AuthError::Keys("the key set has no usable keys".into()));
        }
        Ok(keys)
    }
}
