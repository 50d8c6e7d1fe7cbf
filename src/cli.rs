//! The binary's glue: resolves the settings (config file, then flags), starts logging, and runs
//! the subcommand [`crate::args`] parsed: each calls one library function and prints its
//! plain-data result through `output.rs` (whose `JsonAnswer` is the `ask --json` contract).
//!
//! Invariant: `ask` makes the chat's decisions in the chat's order, through the same library
//! calls: the distress and help-seeking check (`commands::support_first`) before any answer.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;

use ohwb_bot::answer::{self, AskOptions};
use ohwb_bot::commands::Bot;
use ohwb_bot::config::{Config, LogFormat};
use ohwb_bot::embed::Embedder;
use ohwb_bot::index::{self, Freshness, SearchIndex};
use ohwb_bot::{commands, console, corpus, resources};
use std::sync::Arc;

use crate::args::{Cli, Command, ResourceAction};
use crate::logging::init_logging;
use crate::output::{out_is_tty, render_explain, render_ingest, render_text, term, JsonAnswer};

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
        Command::Check => crate::check::run(settings.corpus_dir()?, &settings.config),
        Command::Eval {
            questions,
            json,
            verbose,
            show_test,
            sweep,
        } => {
            let listing = match (verbose, show_test) {
                (false, _) => ohwb_bot::eval::Listing::Totals,
                (true, false) => ohwb_bot::eval::Listing::Dev,
                (true, true) => ohwb_bot::eval::Listing::Every,
            };
            let text = std::fs::read_to_string(&questions)
                .with_context(|| format!("cannot read {}", questions.display()))?;
            if ohwb_bot::eval::distress::is_distress_set(&text) {
                let set = ohwb_bot::eval::distress::load(&questions)?;
                let index = open(&settings)?;
                let report = ohwb_bot::eval::distress::run(&index, &set)?;
                if json {
                    outln!("{}", serde_json::to_string_pretty(&report)?)?;
                } else {
                    out!("{}", ohwb_bot::eval::distress::render(&report, listing))?;
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
                out!("{}", ohwb_bot::eval::render(&report, listing))?;
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
