//! # ohwb-bot
//!
//! Answers NHS staff questions about the *Growing Occupational Health and Wellbeing Together*
//! strategy from a Markdown corpus, with a citation for every claim.
//!
//! # Layout
//! - [`corpus`]: reads `corpus/`, validates front matter and splits documents into passages.
//! - [`index`]: builds, stores and searches the tantivy passage index under `index/`.
//! - [`answer`]: turns a question into an [`answer::Answer`]: a short answer line and citations.
//! - [`config`]: `config.toml`, with defaults for every key.
//!
//! Invariant: this crate is chat-agnostic. Nothing here knows about Discord, reads the bot token,
//! or does network I/O; front ends (the CLI, the console, the Discord layer) only render the plain
//! data it returns.
#![warn(missing_docs)]

pub mod answer;
pub mod config;
pub mod corpus;
mod error;
pub mod index;
mod text;

pub use error::{Error, Result};
