//! Integration tests, one target. Each module tests the product at one boundary.

/// The library's answers on the real corpus: drivers, background documents, declines, hostile input.
mod answers;
/// The `ohwb-bot` binary: flags, `ask --json` contract, exit codes.
mod cli;
/// Shared fixtures: the real corpus built once into a temporary index, small corpora.
mod common;
/// Building, reopening and refusing to replace the index.
mod index;
