//! # ohwb-bot
//!
//! Answers NHS staff questions about the *Growing Occupational Health and Wellbeing Together*
//! strategy from a Markdown corpus, with a citation for every claim.
//!
//! # Layout
//! - [`corpus`]: reads `corpus/`, validates front matter and splits documents into passages.
//! - [`embed`]: sentence vectors from the committed all-MiniLM-L6-v2 model (candle, offline).
//! - [`index`]: builds, stores and searches the tantivy passage index under `index/`.
//! - [`query`]: reads a question into concepts, with thesaurus and typo alternatives.
//! - [`answer`]: turns a question into an [`answer::Answer`]: a short answer line and citations.
//! - [`answer_units`]: cuts a passage into the pieces an answer line is chosen from (the index
//!   embeds them; the answer builder scores them).
//! - [`config`]: `config.toml`, with defaults for every key.
//! - [`links`]: whether a posted link is public (an allow rule over the IANA special-purpose
//!   registries), and the form that spots the same page posted twice.
//! - [`resources`]: resource links posted by OH teams, stored as corpus files.
//! - [`eval`]: retrieval and answer-line scores on a questions file per split, beside the
//!   lexical-only ranking and a naive baseline; distress detection scores.
//! - [`classifier`]: logistic regression on sentence vectors and word n-grams, trained at index
//!   time; used by [`safety`] and [`scope`].
//! - [`scope`]: whether a question is one the documents answer, learned from the section
//!   phrasings and `out-of-scope.toml`.
//! - [`sections`]: which section a question asks about, learned from the phrasings.
//! - [`safety`]: recognises distress (a classifier on sentence vectors, plus reviewed phrases) and
//!   help-seeking in a message.
//! - [`vectors`]: passage, phrasing and answer-piece vectors in each index generation, and the
//!   build's vector cache.
//! - [`metrics`]: counters for monitoring (no question text, no user ids), in Prometheus' text
//!   format.
//! - [`ratelimit`]: questions per person per rolling minute.
//! - [`store`]: the database (SQLite or PostgreSQL through sqlx): counts, feedback votes,
//!   opt-in scrubbed declined questions, the report.
//! - [`reply`]: what the bot says, as plain data for any front end to render.
//! - [`commands`]: the chat commands (`/ask`, `/sources`, …), shared by every front end.
//! - [`console`]: the same commands from lines of text, for trying the bot without Discord.
//! - [`discord`]: the Discord front end (serenity); the only module that knows Discord.
//! - [`http`]: the monitoring front end (`/healthz`, `/metrics`).
//!
//! Invariant: everything but [`discord`] and [`http`] is chat-agnostic: it knows nothing of
//! Discord, reads no token and does no network I/O (beyond [`store`]'s database connection). Front ends (the CLI, the console,
//! [`discord`], [`http`]) only translate input and render the plain data the core returns.
#![warn(missing_docs)]

pub mod answer;
pub mod answer_units;
pub mod classifier;
pub mod commands;
pub mod config;
pub mod console;
pub mod corpus;
pub mod dates;
pub mod discord;
pub mod embed;
mod error;
pub mod eval;
mod fsutil;
pub mod http;
pub mod index;
pub mod ingest;
pub mod links;
pub mod metrics;
pub mod quantised;
pub mod query;
pub mod ratelimit;
pub mod reply;
pub mod resources;
pub mod safety;
pub mod scope;
pub mod sections;
pub mod store;
pub mod teams;
mod testing;
mod text;
pub mod vectors;

pub use error::{Error, Result};
