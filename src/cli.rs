//! The command line: `ask`, `index`, `check` and `sources`, with global `--corpus`, `--index` and
//! `--config` flags accepted before or after the subcommand.
//!
//! Parsing only validates; each subcommand then calls one library function and prints its
//! plain-data result through `output.rs` (whose `JsonAnswer` is the `ask --json` contract).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use ohwb_bot::answer::{self, AskOptions};
use ohwb_bot::commands::Bot;
use ohwb_bot::config::{Config, LogFormat};
use ohwb_bot::embed::Embedder;
use ohwb_bot::index::{self, Freshness, SearchIndex};
use ohwb_bot::{commands, console, corpus, resources};
use std::sync::Arc;

use crate::output::{out_is_tty, render_explain, render_ingest, render_text, term, JsonAnswer};

/// `println!` that returns a write error (a closed pipe, a full disk) instead of panicking:
/// `main` ends quietly on a broken pipe and reports anything else.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `print!` that returns a write error, as [`outln!`] does.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// Answers NHS staff questions about the Growing Occupational Health and Wellbeing Together
/// strategy, citing the passages it answers from.
#[derive(Debug, Parser)]
#[command(name = "ohwb-bot", version, propagate_version = true)]
struct Cli {
    /// Corpus directory (default: `corpus/`, or `paths.corpus` in the config).
    #[arg(long, global = true, value_name = "DIR")]
    corpus: Option<PathBuf>,
    /// Index directory (default: `index/`, or `paths.index` in the config).
    #[arg(long, global = true, value_name = "DIR")]
    index: Option<PathBuf>,
    /// Embedding model folder (default: `models/all-MiniLM-L6-v2`, or `paths.model` in the
    /// config).
    #[arg(long, global = true, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Configuration file (default: `./config.toml` when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
        /// List every miss.
        #[arg(long, short)]
        verbose: bool,
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
enum ResourceAction {
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

/// Resolved settings: config file values overridden by flags.
struct Settings {
    config: Config,
    corpus: PathBuf,
    index: PathBuf,
}

impl Settings {
    fn new(cli: &Cli) -> Result<Settings> {
        let config = Config::load(cli.config.as_deref())?;
        index::apply_limits(&config.index);
        Ok(Settings {
            corpus: cli.corpus.clone().unwrap_or(config.paths.corpus.clone()),
            index: cli.index.clone().unwrap_or(config.paths.index.clone()),
            config: Config {
                paths: ohwb_bot::config::Paths {
                    model: cli.model.clone().unwrap_or(config.paths.model.clone()),
                    ..config.paths.clone()
                },
                ..config
            },
        })
    }

    fn corpus_dir(&self) -> Result<&PathBuf> {
        if !self.corpus.is_dir() {
            bail!(
                "corpus directory {} does not exist (set --corpus or paths.corpus)",
                self.corpus.display()
            );
        }
        Ok(&self.corpus)
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The config is read before logging starts, since it says how to log; a config error is
    // printed as any other error.
    let settings = Settings::new(&cli);
    init_logging(
        match cli.command {
            Command::Serve => "info",
            _ => "warn",
        },
        settings
            .as_ref()
            .map_or(LogFormat::Text, |s| s.config.log.format),
    );
    match settings.and_then(|settings| run(cli, settings)) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Libraries that log raw Discord payloads (and so staff questions) at debug or trace level.
/// They are capped at `info` whatever `OHWB_LOG` asks for: privacy outranks verbosity.
const PAYLOAD_LOGGERS: &[&str] = &[
    "serenity",
    "tungstenite",
    "tokio_tungstenite",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

fn init_logging(default: &str, format: ohwb_bot::config::LogFormat) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("OHWB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A separate filter after the user's: a more specific directive in OHWB_LOG
    // ("hyper_util::client=trace") cannot lift the cap, as it would inside one EnvFilter.
    let cap = tracing_subscriber::filter::filter_fn(|meta| {
        *meta.level() <= tracing::Level::INFO || !is_payload_logger(meta.target())
    });
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = match format {
        // Colour codes only on a terminal: journald and log files get plain text.
        LogFormat::Text => fmt.with_ansi(std::io::stderr().is_terminal()).boxed(),
        LogFormat::Json => fmt.json().boxed(),
    };
    let layer = layer.with_filter(filter).with_filter(cap);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Whether `target` is one of [`PAYLOAD_LOGGERS`] or a module inside one.
fn is_payload_logger(target: &str) -> bool {
    PAYLOAD_LOGGERS.iter().any(|p| {
        target == *p
            || target
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with("::"))
    })
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli, settings: Settings) -> Result<ExitCode> {
    match cli.command {
        Command::Ask {
            json,
            top,
            source,
            explain,
            question,
        } => {
            let question = question.join(" ");
            if question.trim().is_empty() {
                bail!("the question is empty: ask something, e.g. ohwb-bot ask \"what is OHWB?\"");
            }
            let index = open(&settings)?;
            // The same decision and reply as in chat: distress gets the crisis signposting and
            // help-seeking the support contacts, never a strategy citation (as "not answered"
            // in JSON, so the contract keeps its shape).
            let assessed = index.assess(&question)?;
            let first =
                commands::support_first(&settings.config, &index, assessed.need, &question, true)?;
            if let Some(reply) = first {
                let mut out = std::io::stdout().lock();
                if json {
                    let v = serde_json::json!({
                        "question": question, "answered": false,
                        "answer": reply.plain_text(), "citations": []
                    });
                    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                } else {
                    write!(out, "{}", console::render(&reply))?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            let document = source.map(|s| resolve_source(&index, &s)).transpose()?;
            let opts = AskOptions {
                document,
                top: top.map(usize::from),
                reading: assessed.reading,
                ..AskOptions::default()
            };
            let answer = answer::answer(&index, &question, &settings.config.answer, &opts)?;
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &JsonAnswer::from(&answer))?;
                writeln!(out)?;
            } else {
                write!(out, "{}", render_text(&answer, out_is_tty()))?;
                if explain {
                    write!(out, "{}", render_explain(&answer))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Index => {
            let corpus = settings.corpus_dir()?;
            let report = index::rebuild(corpus, &settings.index, &*embedder(&settings)?)
                .with_context(|| {
                    format!("index not rebuilt; {} unchanged", settings.index.display())
                })?;
            let c = &report.changes;
            outln!(
                "Indexed {} documents, {} passages in {:.2} s into {}.",
                report.documents,
                report.passages,
                report.elapsed.as_secs_f64(),
                settings.index.display()
            )?;
            for (label, list) in [
                ("added", &c.added),
                ("updated", &c.updated),
                ("removed", &c.removed),
            ] {
                if !list.is_empty() {
                    outln!("  {label}: {}", list.join(", "))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let corpus = corpus::load(settings.corpus_dir()?)?;
            if settings.config.support.is_empty() {
                eprintln!(
                    "warning: [support] in the config is empty: support answers will tell staff to \
                     check their intranet or OH team instead of giving your trust's contacts"
                );
            }
            let today = ohwb_bot::dates::PartialDate::today();
            for d in &corpus.documents {
                if ohwb_bot::dates::review_overdue(d.meta.review_due.as_deref(), &today) {
                    eprintln!(
                        "warning: {}: review was due {} (reviewed: {}): check it against its \
                         sources, then update `reviewed` and `review_due`",
                        term(&d.path.display().to_string()),
                        d.meta.review_due.as_deref().unwrap_or_default(),
                        d.meta.reviewed.as_deref().unwrap_or("never")
                    );
                }
            }
            if corpus.problems.is_empty() {
                outln!(
                    "corpus OK: {} documents, {} passages",
                    corpus.documents.len(),
                    corpus.passage_count()
                )?;
                let examples = ohwb_bot::safety::training_examples(
                    corpus.safety_examples.as_deref().unwrap_or_default(),
                );
                let distress = examples.iter().filter(|e| e.distress).count();
                outln!(
                    "safety lists OK: {} distress and {} ordinary examples (built in, plus {} of \
                     this trust's), {} distress phrases",
                    distress,
                    examples.len() - distress,
                    corpus.safety_examples.as_ref().map_or(0, Vec::len),
                    {
                        let mut p = ohwb_bot::safety::Phrases::builtin();
                        p.extend(corpus.safety_phrases.clone().unwrap_or_default());
                        p.distress.len()
                    }
                )?;
                let asks: usize = corpus
                    .phrasings
                    .sections
                    .iter()
                    .map(|(_, a, _)| a.len())
                    .sum();
                let outside = corpus.out_of_scope.questions().count();
                if asks == 0 || outside == 0 {
                    outln!(
                        "scope examples: none (phrasings.toml and out-of-scope.toml are both \
                         needed); questions in other words than the documents will be declined \
                         more often"
                    )?;
                } else {
                    outln!(
                        "scope examples OK: {asks} questions the documents answer \
                         (phrasings.toml), {outside} they do not (out-of-scope.toml)"
                    )?;
                }
                let lines = &corpus.line_phrasings.entries;
                outln!(
                    "line phrasings: {} questions for {} sentences (line-phrasings.toml)",
                    lines.iter().map(|e| e.asks.len()).sum::<usize>(),
                    lines.len()
                )?;
                Ok(ExitCode::SUCCESS)
            } else {
                for p in &corpus.problems {
                    eprintln!("{}", term(&p_with_dir(&settings.corpus, p)));
                }
                eprintln!("{} problem(s) found", corpus.problems.len());
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Eval {
            questions,
            json,
            verbose,
            sweep,
        } => {
            let text = std::fs::read_to_string(&questions)
                .with_context(|| format!("cannot read {}", questions.display()))?;
            if ohwb_bot::eval::distress::is_distress_set(&text) {
                let set = ohwb_bot::eval::distress::load(&questions)?;
                let index = open(&settings)?;
                let report = ohwb_bot::eval::distress::run(&index, &set)?;
                if json {
                    outln!("{}", serde_json::to_string_pretty(&report)?)?;
                } else {
                    out!("{}", ohwb_bot::eval::distress::render(&report, verbose))?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            let questions = ohwb_bot::eval::Questions::load(&questions)?;
            let index = open(&settings)?;
            let corpus = corpus::load(settings.corpus_dir()?)?;
            let report =
                ohwb_bot::eval::run(&index, &settings.config.answer, &corpus, &questions, sweep)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                out!("{}", ohwb_bot::eval::render(&report, verbose))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Resource { action } => resource(settings, action),
        Command::Serve => {
            let config = settings.config.clone();
            crate::serve::run(&config, || open_bot(settings))
        }
        Command::Register => crate::serve::register(&settings.config),
        Command::Console => {
            let bot = open_bot(settings)?;
            if std::io::stdin().is_terminal() {
                eprintln!(
                    "ohwb-bot console: type /ask <question>, /sources, /help; /quit to leave."
                );
            }
            console::run(&bot, std::io::stdin().lock(), std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest {
            file,
            url,
            title,
            kind,
            published,
            publisher,
            out,
            force,
        } => {
            let Some(kind) = corpus::Kind::parse(&kind) else {
                bail!("--kind {kind}: use strategy, background or resource");
            };
            let request = ohwb_bot::ingest::Request {
                file,
                url,
                title,
                kind,
                published,
                publisher,
                out,
                force,
            };
            let report = ohwb_bot::ingest::ingest(settings.corpus_dir()?, &request)?;
            outln!("{}", term(&render_ingest(&report)))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { json, days } => {
            let c = &settings.config;
            let store = ohwb_bot::store::Store::open(&c.database, &c.insights, &settings.index)
                .context("cannot open the database")?;
            let report = store.report(days)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                let text = console::render(&commands::report_reply(&report));
                out!("{}", term(&text))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sources { json } => {
            let index = open(&settings)?;
            let docs = &index.manifest().documents;
            if json {
                outln!("{}", serde_json::to_string_pretty(docs)?)?;
            } else {
                let today = ohwb_bot::dates::PartialDate::today();
                for d in docs {
                    outln!(
                        "{} [{}] ({} passages)\n  {} · {}\n  {}",
                        term(&d.title),
                        term(&d.slug),
                        d.passages,
                        term(&d.kind),
                        term(&d.dated()),
                        term(&d.url)
                    )?;
                    if d.review_overdue(&today) {
                        outln!(
                            "  warning: review was due {}: check it against its sources",
                            term(d.review_due.as_deref().unwrap_or_default())
                        )?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn resource(settings: Settings, action: ResourceAction) -> Result<ExitCode> {
    let corpus_dir = settings.corpus_dir()?.clone();
    let policy = resources::Policy {
        allow_http: settings.config.resources.allow_http,
    };
    let model = embedder(&settings)?;
    let reindex = |what: &str| match index::rebuild(&corpus_dir, &settings.index, &model) {
        Ok(r) => eprintln!(
            "{what}; reindexed {} documents, {} passages.",
            r.documents, r.passages
        ),
        Err(e) => eprintln!("warning: {what}, but the index was not rebuilt: {e:#}"),
    };
    match action {
        ResourceAction::Add {
            url,
            title,
            summary,
            tags,
        } => {
            let posted_by = match std::env::var("USER") {
                Ok(u) if !u.is_empty() => format!("cli ({u})"),
                _ => "cli".to_string(),
            };
            let new = resources::NewResource {
                url,
                title,
                summary,
                tags,
                posted_by,
            };
            let saved = resources::add(&corpus_dir, &new, policy)?;
            outln!("{}", saved.id)?;
            reindex(&format!("saved as {}", saved.id));
        }
        ResourceAction::List { json } => {
            let list = resources::list(&corpus_dir)?;
            if json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.id, "title": r.title, "url": r.url, "summary": r.summary,
                            "tags": r.tags, "posted_at": r.posted_at, "posted_by": r.posted_by,
                        })
                    })
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&rows)?)?;
            } else if list.is_empty() {
                outln!("No resources have been posted yet.")?;
            } else {
                for r in &list {
                    outln!(
                        "{}  {}
    {}
    tags: {}  posted {} by {}",
                        term(&r.id),
                        term(&r.title),
                        term(&r.url),
                        term(&r.tags.join(", ")),
                        term(&r.posted_at),
                        term(&r.posted_by)
                    )?;
                }
            }
        }
        ResourceAction::Remove { id } => {
            let removed = resources::remove(&corpus_dir, &id)?;
            outln!("{}", removed.id)?;
            reindex(&format!("removed {}", removed.id));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The command layer over the resolved paths.
fn open_bot(settings: Settings) -> Result<Bot> {
    settings.corpus_dir()?;
    let mut config = settings.config;
    config.paths.corpus = settings.corpus;
    config.paths.index = settings.index;
    let index_dir = config.paths.index.clone();
    Bot::open(config).with_context(|| format!("cannot open the index in {}", index_dir.display()))
}

fn p_with_dir(dir: &std::path::Path, p: &corpus::Problem) -> String {
    let full = corpus::Problem {
        path: dir.join(&p.path),
        ..p.clone()
    };
    full.to_string()
}

/// The embedding model, loaded once per process; a missing or damaged model stops here.
fn embedder(settings: &Settings) -> Result<Arc<Embedder>> {
    Ok(Embedder::shared(&settings.config.paths.model)?)
}

/// Opens the index, building or refreshing it from the corpus when needed.
fn open(settings: &Settings) -> Result<SearchIndex> {
    let corpus = settings.corpus_dir()?;
    let (index, freshness) = index::open_fresh(corpus, &settings.index, &embedder(settings)?)
        .with_context(|| format!("cannot open the index in {}", settings.index.display()))?;
    match freshness {
        Freshness::UpToDate => {}
        Freshness::Rebuilt(r) => tracing::info!(
            documents = r.documents,
            passages = r.passages,
            ms = r.elapsed.as_millis() as u64,
            "index rebuilt from the corpus"
        ),
        Freshness::BeingRebuilt => eprintln!(
            "note: another process is rebuilding the index; answering from the current one"
        ),
        Freshness::StaleCorpusInvalid(problems) => {
            eprintln!(
                "warning: the corpus has problems, answering from the previous index:\n{}",
                corpus::format_problems(&problems)
            );
        }
    }
    Ok(index)
}

/// Accepts a slug or a (case-insensitive) title.
fn resolve_source(index: &SearchIndex, wanted: &str) -> Result<String> {
    let docs = &index.manifest().documents;
    index
        .manifest()
        .find_document(wanted)
        .map(|d| d.slug.clone())
        .with_context(|| {
            let slugs: Vec<&str> = docs.iter().map(|d| d.slug.as_str()).collect();
            format!(
                "unknown source `{wanted}`; choose one of: {}",
                slugs.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_loggers_are_matched_with_their_modules_only() {
        assert!(is_payload_logger("hyper_util"));
        assert!(is_payload_logger("hyper_util::client::legacy"));
        assert!(is_payload_logger("serenity::gateway::shard"));
        assert!(!is_payload_logger("hyper_utility"));
        assert!(!is_payload_logger("ohwb_bot::discord"));
    }
}
