//! `config.toml`: every setting with its default, so a missing file or key is never an error.
//!
//! Invariants:
//! - Unknown keys are refused (a typo must not silently fall back to a default).
//! - Relative paths in a config file are resolved against the file's own directory, so the bot
//!   behaves the same whatever directory it is started from.
//! - Secrets are never read from this file: it names the environment variable that holds them.
//! - `OHWB_<SECTION>_<KEY>` environment variables override the file ([`env`]), and the result
//!   is validated as a whole, so an override cannot bring in a value the file could not.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

mod env;
mod teams;
pub use env::PREFIX as ENV_PREFIX;
pub use teams::TeamsConfig;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the corpus and the index live.
    pub paths: Paths,
    /// How answers are chosen.
    pub answer: AnswerConfig,
    /// Connecting to Discord.
    pub discord: DiscordConfig,
    /// Who may do what.
    pub roles: RolesConfig,
    /// Posted resources.
    pub resources: ResourcesConfig,
    /// Index maintenance.
    pub index: IndexConfig,
    /// The trust's own support contacts, shown first to staff who ask for help.
    pub support: SupportConfig,
    /// The reply to a question that shows distress.
    pub crisis: CrisisConfig,
    /// Limits on use.
    pub limits: LimitsConfig,
    /// The monitoring endpoint.
    pub http: HttpConfig,
    /// Log output.
    pub log: LogConfig,
    /// Where counts and feedback are stored.
    pub database: DatabaseConfig,
    /// What is recorded for the coverage report.
    pub insights: InsightsConfig,
    /// Sending unanswered questions to the OH team.
    pub escalation: EscalationConfig,
    /// Microsoft Teams.
    pub teams: TeamsConfig,
}

/// `[escalation]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationConfig {
    /// A Discord channel id, private to the OH team. When set, a "not covered" answer offers
    /// the asker a button to send their question there (with their name only if they choose).
    /// 0 (default): off.
    pub channel_id: u64,
}

/// `[database]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Empty (default): SQLite, `ohwb-bot.db` in the index directory. `sqlite:///path/file.db`,
    /// or `postgres://user@host/db` for several instances sharing one database. A password
    /// goes in the `OHWB_DATABASE_URL` environment variable, never in the file.
    pub url: String,
    /// Share posted resources and reindexes with every other instance that uses this database
    /// (each polls it every second). Always on for PostgreSQL; set it for a SQLite file that
    /// several processes on one host use. Default false.
    pub shared: bool,
}

impl DatabaseConfig {
    /// Whether instances share posted resources and reindexes through the database.
    pub fn is_shared(&self) -> bool {
        let url = self.url.trim();
        self.shared || url.starts_with("postgres://") || url.starts_with("postgresql://")
    }
}

/// `[insights]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InsightsConfig {
    /// Store declined questions (scrubbed of emails, phone and NHS numbers and links) for the
    /// coverage report. Default false.
    pub record_declined: bool,
    /// Days a declined question is kept. Default 90.
    pub retention_days: u32,
    /// The report shows a declined question's words only when at least this many questions
    /// share them. Default 3; at least 2.
    pub min_group: usize,
}

impl Default for InsightsConfig {
    fn default() -> Self {
        InsightsConfig {
            record_declined: false,
            retention_days: 90,
            min_group: 3,
        }
    }
}

/// `[limits]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Questions one person may ask in any rolling minute; 0 = no limit. Default 10. Distress
    /// and help-seeking messages are never limited.
    pub asks_per_minute: u32,
    /// Commands that run at once under `serve`; others queue (their "thinking…" deferral is
    /// still sent on time). 0 (default): the number of CPU cores.
    pub workers: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            asks_per_minute: 10,
            workers: 0,
        }
    }
}

impl LimitsConfig {
    /// [`Self::workers`] with 0 resolved to the number of cores.
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address for `/healthz` and `/metrics`, e.g. `127.0.0.1:9898`. Empty (default): off.
    pub listen: String,
}

/// `[log]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (default) or `json` (one JSON object per line, for log collectors).
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[support]`: the trust's own contacts. Empty strings are left out of replies.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SupportConfig {
    /// Name of the OH / health and wellbeing team.
    pub oh_team: String,
    /// Its phone number.
    pub phone: String,
    /// Its email address.
    pub email: String,
    /// The staff wellbeing page on the intranet.
    pub intranet_url: String,
    /// Employee assistance programme provider.
    pub eap_provider: String,
    /// EAP phone number.
    pub eap_phone: String,
    /// When the team can be reached.
    pub hours: String,
    /// Off unless set: a Discord channel id (private, for the wellbeing team) where the bot posts
    /// `escalation_message` each time it shows someone the crisis reply. Never the person's
    /// name or words.
    pub escalation_channel_id: u64,
    /// What is posted to `escalation_channel_id`.
    pub escalation_message: String,
}

impl SupportConfig {
    /// True when no local contact is configured.
    pub fn is_empty(&self) -> bool {
        [
            &self.oh_team,
            &self.phone,
            &self.email,
            &self.intranet_url,
            &self.eap_provider,
            &self.eap_phone,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

/// Default escalation notice: says that support was shown, and nothing about who or what.
pub const DEFAULT_ESCALATION_MESSAGE: &str = "A colleague was just shown crisis support \
information by the OHWB bot. Their name and message are not shared. Please make sure your \
team's support offer is easy to find.";

/// `[crisis]`: the wording and numbers of the crisis reply. Defaults are for England.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CrisisConfig {
    /// Title of the reply.
    pub heading: String,
    /// First line.
    pub intro: String,
    /// Where to get help now, one line each.
    pub lines: Vec<String>,
    /// Last line.
    pub closing: String,
}

impl Default for CrisisConfig {
    fn default() -> Self {
        CrisisConfig {
            heading: "You don't have to face this alone".into(),
            intro: "I'm sorry you're going through this. Please reach out to someone now:".into(),
            // Published at nhs.uk ("when to call 999", "when to use 111") and samaritans.org
            // ("contact a Samaritan"); config.example.toml gives the pages.
            lines: vec![
                "If you or someone else is in immediate danger, call 999.".into(),
                "For urgent help when it is not an emergency, call NHS 111.".into(),
                "Samaritans are there day or night: call 116 123 (free, 24/7).".into(),
            ],
            closing: "Only you can see this message, and what you wrote has not been saved or \
                      shared. You can still use /ask for questions about the strategy."
                .into(),
        }
    }
}

/// `[roles]`: Discord role ids. Checked by the bot on every command, whatever Discord's own
/// command permissions say.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RolesConfig {
    /// May post and remove resources.
    pub oh_team: Vec<u64>,
    /// May reindex, and do everything the OH team may.
    pub admin: Vec<u64>,
}

/// `[resources]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ResourcesConfig {
    /// Accept `http://` links as well as `https://`. Default false.
    pub allow_http: bool,
}

/// `[index]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IndexConfig {
    /// Reindex automatically when files under the corpus change (while serving). Default false.
    pub watch: bool,
    /// How often the watcher looks for changes, in milliseconds; a change is indexed once it
    /// has been stable for one more interval. Default 2000.
    pub watch_interval_ms: u64,
    /// Largest corpus file read, in MiB; a larger one is a problem `check` names. Default 8.
    pub max_file_mib: u64,
    /// How long a reindex waits for another one to finish, in seconds, before giving up with a
    /// message. Default 60.
    pub lock_timeout_s: u64,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            watch: false,
            watch_interval_ms: 2000,
            max_file_mib: 8,
            lock_timeout_s: 60,
        }
    }
}

/// `[discord]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// Name of the environment variable holding the bot token. Default `DISCORD_TOKEN`.
    pub token_env: String,
    /// Guilds to register slash commands in (instant). Empty: register globally.
    pub guild_ids: Vec<u64>,
    /// Base URL of a REST proxy in front of Discord's API (e.g. twilight-http-proxy), such as
    /// `http://127.0.0.1:3000`. Empty: talk to discord.com directly. With a proxy, serenity's own
    /// rate limiter is off: the proxy does that job.
    pub proxy_url: String,
    /// How long a command may run before the bot defers its reply (Discord allows 3 s in
    /// all). 0 defers every reply first. Default 1500.
    pub defer_after_ms: u64,
    /// How `serve` receives interactions: `gateway` (default, a WebSocket to Discord), `http`
    /// (Discord posts them to `/discord/interactions` on `[http] listen`), or `both`.
    pub mode: DiscordMode,
    /// The application's public key (hex, from the developer portal), which signs every
    /// interaction Discord posts in `http` mode. Not a secret.
    pub public_key: String,
    /// The application id, for `ohwb-bot register` (the portal's General Information page).
    pub application_id: u64,
}

/// How `serve` receives Discord interactions.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DiscordMode {
    /// A gateway WebSocket connection (one instance).
    #[default]
    Gateway,
    /// Discord's outgoing webhooks to `/discord/interactions` (any number of instances).
    Http,
    /// Both at once.
    Both,
    /// No Discord at all (another front end, such as Teams, serves).
    Off,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            token_env: "DISCORD_TOKEN".into(),
            guild_ids: Vec::new(),
            proxy_url: String::new(),
            defer_after_ms: 1500,
            mode: DiscordMode::Gateway,
            public_key: String::new(),
            application_id: 0,
        }
    }
}

/// `[paths]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Paths {
    /// Markdown corpus directory. Default `corpus`.
    pub corpus: PathBuf,
    /// Index directory (generated). Default `index`.
    pub index: PathBuf,
    /// The embedding model's folder (committed files, checked against its `SHA256SUMS`).
    /// Default `models/all-MiniLM-L6-v2`.
    pub model: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            corpus: PathBuf::from("corpus"),
            index: PathBuf::from("index"),
            model: PathBuf::from(crate::embed::DEFAULT_DIR),
        }
    }
}

/// `[answer]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AnswerConfig {
    /// Citations per answer. Default 3.
    pub top: usize,
    /// Share of the question's content words the best passage must contain. Default 0.5.
    pub min_coverage: f32,
    /// Citations after the first must score at least this fraction of the best. Default 0.4.
    pub min_relative_score: f32,
}

impl Default for AnswerConfig {
    fn default() -> Self {
        AnswerConfig {
            top: 3,
            min_coverage: 0.5,
            min_relative_score: 0.4,
        }
    }
}

impl Config {
    /// Loads `path`, which must exist; or, without a path, `./config.toml` when it exists and
    /// the defaults otherwise.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("config.toml"), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => String::new(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let mut config = Config::parse(&text).map_err(|message| Error::Config {
            path: path.clone(),
            message,
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        for p in [
            &mut config.paths.corpus,
            &mut config.paths.index,
            &mut config.paths.model,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        let env_error = |message| Error::Config {
            path: PathBuf::from("(OHWB_ environment variables)"),
            message,
        };
        let config = env::apply(config, std::env::vars()).map_err(env_error)?;
        config.validate().map_err(env_error)?;
        Ok(config)
    }

    /// Parses and validates config text; the error says which key is wrong.
    pub fn parse(text: &str) -> std::result::Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        // Checked on the file only: the environment is where a password belongs.
        if let Ok(url) = url::Url::parse(config.database.url.trim()) {
            if url.password().is_some() {
                return Err(
                    "database.url must not hold a password: set the whole URL in the \
                            OHWB_DATABASE_URL environment variable instead"
                        .into(),
                );
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks values a type cannot: ranges, URLs, addresses.
    fn validate(&self) -> std::result::Result<(), String> {
        let config = self;
        if config.answer.top == 0 || config.answer.top > 10 {
            return Err("answer.top must be between 1 and 10".into());
        }
        if !(0.0..=1.0).contains(&config.answer.min_coverage) {
            return Err("answer.min_coverage must be between 0 and 1".into());
        }
        if !(0.0..=1.0).contains(&config.answer.min_relative_score) {
            return Err("answer.min_relative_score must be between 0 and 1".into());
        }
        if !config.support.intranet_url.trim().is_empty() {
            crate::corpus::check_url(config.support.intranet_url.trim())
                .map_err(|e| format!("support.intranet_url: {e}"))?;
        }
        if config.crisis.lines.iter().all(|l| l.trim().is_empty()) {
            return Err("crisis.lines must list at least one place to get help now".into());
        }
        if config.index.max_file_mib == 0 {
            return Err("index.max_file_mib must be at least 1".into());
        }
        if config.index.watch_interval_ms < 100 {
            return Err("index.watch_interval_ms must be at least 100".into());
        }
        if config.discord.token_env.trim().is_empty() {
            return Err("discord.token_env must name an environment variable".into());
        }
        if config.discord.defer_after_ms > 2500 {
            return Err("discord.defer_after_ms must be at most 2500 (Discord allows 3 s)".into());
        }
        if !config.discord.proxy_url.is_empty() {
            let url = url::Url::parse(&config.discord.proxy_url)
                .map_err(|e| format!("discord.proxy_url: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err("discord.proxy_url must be an http:// or https:// URL".into());
            }
        }
        if matches!(config.discord.mode, DiscordMode::Http | DiscordMode::Both) {
            let key = config.discord.public_key.trim();
            if key.len() != 64 || !key.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(
                    "discord.public_key must be the application's public key (64 hex \
                            digits) when discord.mode is http or both"
                        .into(),
                );
            }
            if config.http.listen.is_empty() {
                return Err(
                    "discord.mode http or both needs http.listen (the address Discord's \
                            interactions endpoint URL reaches)"
                        .into(),
                );
            }
        }
        if config.insights.retention_days == 0 {
            return Err("insights.retention_days must be at least 1".into());
        }
        if config.insights.min_group < 2 {
            return Err(
                "insights.min_group must be at least 2, so no single question shows".into(),
            );
        }
        let db = config.database.url.trim();
        if !db.is_empty()
            && !["sqlite:", "postgres://", "postgresql://"]
                .iter()
                .any(|p| db.starts_with(p))
        {
            return Err("database.url must start with sqlite: or postgres://".into());
        }
        config.teams.validate(&config.http.listen)?;
        if config.limits.workers > 1024 {
            return Err("limits.workers must be at most 1024 (0 means one per core)".into());
        }
        if !config.http.listen.is_empty() {
            config
                .http
                .listen
                .parse::<std::net::SocketAddr>()
                .map_err(|e| {
                    format!(
                        "http.listen `{}`: {e} (use an address and port, e.g. 127.0.0.1:9898)",
                        config.http.listen
                    )
                })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        let c = Config::parse("[answer]\ntop = 5\n").unwrap();
        assert_eq!(c.answer.top, 5);
        assert_eq!(c.paths.corpus, PathBuf::from("corpus"));
    }

    #[test]
    fn the_example_config_is_valid_and_shows_the_defaults() {
        let example = include_str!("../../config.example.toml");
        assert_eq!(Config::parse(example).unwrap(), Config::default());
    }

    #[test]
    fn typos_and_bad_values_are_refused() {
        let e = Config::parse("[answer]\ntopp = 5\n").unwrap_err();
        assert!(e.contains("topp"), "{e}");
        let e = Config::parse("[answer]\ntop = 0\n").unwrap_err();
        assert!(e.contains("answer.top"), "{e}");
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.toml");
        std::fs::write(&path, "[paths]\ncorpus = \"c\"\nindex = \"/abs/i\"\n").unwrap();
        let c = Config::load(Some(&path)).unwrap();
        assert_eq!(c.paths.corpus, dir.path().join("c"));
        assert_eq!(c.paths.index, PathBuf::from("/abs/i"));
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
    }
}
