//! Integration tests, one target. Each module tests the product at one boundary.

/// The library's answers on the real corpus: drivers, background documents, declines, hostile input.
mod answers;
/// The `ohwb-bot` binary: flags, `ask --json` contract, exit codes.
mod cli;
/// Shared fixtures: the real corpus built once into a temporary index, small corpora.
mod common;
/// The console front end.
mod console;
/// The real serenity client against the fake Discord: registration, every command, limits.
mod discord;
/// Retrieval quality on tests/eval/questions.toml, the thesaurus and typo handling.
mod eval;
/// A fake Discord (REST + gateway) on 127.0.0.1, reusable by any test that drives the bot.
mod fake_discord;
/// A fake Bot Framework (OpenID metadata, keys, token endpoint, connector) on 127.0.0.1.
mod fake_teams;
/// Property tests over every reader of outside input (bounded cases; `OHWB_FUZZ_CASES`).
mod fuzz;
/// Hostile input, one table row per defect of the hostile test pass.
mod hostile;
/// Hybrid retrieval: held-out floors, phrasings, both kinds of evidence, the answer line.
mod hybrid;
/// Building, reopening and refusing to replace the index.
mod index;
/// `ingest` on every fixture (PDF, HTML, DOCX, text, bad files); pages in citations.
mod ingest;
/// Discord's HTTP interactions mode: signatures, PING, answers in the body, deferral, register.
pub mod interactions;
/// The monitoring endpoints (`/healthz`, `/metrics`), the rate limit and environment overrides,
/// through the real `serve` binary.
pub mod monitoring;
/// Provenance: the claims table (each fact cites the page that states it), unsourced
/// paragraphs refused, review dates.
mod provenance;
/// Posting and removing resources, reindexing, crash safety and the watcher.
mod resources;
/// Distress detection: held-out floors, one decision for every front end, refusing missing lists
/// or a damaged model, no typo-correction of real words.
mod safety;
/// Several instances sharing one database behave as one bot.
mod scale_out;
/// The database (SQLite, and PostgreSQL when configured): feedback, counts, the report.
pub mod store;
/// Distress and help-seeking: crisis signposting first, local contacts first, privacy.
mod support;
/// Microsoft Teams through the real `serve` binary and the fake Bot Framework.
mod teams;
