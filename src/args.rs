//! The command line's shape: every subcommand, flag and argument, with the help text `--help`
//! prints. Only parsing and range checks live here; `cli.rs` turns a parsed [`Cli`] into calls
//! to the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Answers NHS staff questions about the Growing Occupational Health and Wellbeing Together
/// strategy, citing the passages it answers from.
#[derive(Debug, Parser)]
#[command(name = "ohwb-bot", version, propagate_version = true)]
pub struct Cli {
    /// Corpus directory (default: `corpus/`, or `paths.corpus` in the config).
    #[arg(long, global = true, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// Index directory (default: `index/`, or `paths.index` in the config).
    #[arg(long, global = true, value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// Embedding model folder (default: `models/all-MiniLM-L6-v2`, or `paths.model` in the
    /// config).
    #[arg(long, global = true, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Configuration file (default: `./config.toml` when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Answer a question from the corpus, with citations. Builds the index first if needed.
    Ask {
        /// Print the answer as JSON (a stable contract for other tools).
        #[arg(long)]
        json: bool,
        /// How many citations at most (1-10).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=10))]
        top: Option<u8>,
        /// Only search this document (its slug, as listed by `sources`).
        #[arg(long, value_name = "SLUG")]
        source: Option<String>,
        /// Show how the question was read and why passages matched.
        #[arg(long)]
        explain: bool,
        /// The question. Quote it, or give it as several words.
        #[arg(required = true, num_args = 1.., value_name = "QUESTION")]
        question: Vec<String>,
    },
    /// Rebuild the index from the corpus. A bad file leaves the old index in place.
    Index,
    /// Validate the corpus and list every problem with file and line.
    Check,
    /// Score a questions file (hit@1, hit@3, MRR, answer line, out-of-scope declined; per split)
    /// beside the lexical-only ranking and a naive baseline, or a distress set (recall, false alarms).
    Eval {
        /// The questions file, e.g. tests/eval/questions.toml.
        questions: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// List the dev split's misses, false alarms and wrong answer lines.
        #[arg(long, short)]
        verbose: bool,
        /// With --verbose, list the test split's too. The test split is what the figures are
        /// reported on: nothing may be tuned on it, so its cases are listed only on request.
        #[arg(long, requires = "verbose")]
        show_test: bool,
        /// Also sweep the decline threshold (answer.min_coverage) over the dev split.
        #[arg(long)]
        sweep: bool,
    },
    /// Post, list or remove resource links (the same rules as /resource in chat).
    Resource {
        #[command(subcommand)]
        action: ResourceAction,
    },
    /// Connect to Discord and serve the slash commands (token from the environment): over the
    /// gateway, the HTTP interactions endpoint, or both (`[discord] mode`).
    Serve,
    /// Register the slash commands with Discord over REST, without connecting a gateway (for
    /// `[discord] mode = "http"`; needs `[discord] application_id` and the token).
    Register,
    /// Run the chat commands locally: type lines such as `/ask what is OHWB?` or `/sources`.
    Console,
    /// Replies per day, the passages voted "not helpful" most, and what declined questions
    /// asked about (only words shared by at least `[insights] min_group` of them).
    Report {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Days to cover, ending today (UTC).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
    },
    /// List the indexed documents.
    Sources {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Turn a PDF, saved web page (HTML), Word file (DOCX) or text file into a corpus document
    /// for review. It is not indexed until you have read it and run `index`.
    Ingest {
        /// The file to read.
        file: PathBuf,
        /// Where the original is published (every passage cites it).
        #[arg(long)]
        url: String,
        /// Title (default: the one in the file).
        #[arg(long)]
        title: Option<String>,
        /// strategy, background or resource.
        #[arg(long, default_value = "background")]
        kind: String,
        /// Publication date, YYYY, YYYY-MM or YYYY-MM-DD (default: the file's own date).
        #[arg(long)]
        published: Option<String>,
        /// Publisher (default: the link's host).
        #[arg(long)]
        publisher: Option<String>,
        /// Output file (default: <corpus>/ingested/<title slug>.md).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace the output file if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResourceAction {
    /// Store a resource link and make it searchable at once.
    Add {
        /// The link (https://).
        #[arg(long)]
        url: String,
        /// A short title (up to 200 characters).
        #[arg(long)]
        title: String,
        /// What it is and who it is for (up to 2000 characters).
        #[arg(long)]
        summary: String,
        /// Comma-separated tags.
        #[arg(long, default_value = "")]
        tags: String,
    },
    /// List posted resources.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a posted resource by id.
    Remove {
        /// The id shown by `resource list`.
        id: String,
    },
}
