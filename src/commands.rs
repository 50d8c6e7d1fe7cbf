//! The command layer: what each command means, independent of any chat.
//!
//! Front ends (the Discord layer, the console) turn user input into an [`Invocation`], call
//! [`Bot::execute`] or [`Bot::autocomplete`], and render the [`Reply`]. Everything a command
//! decides (wording, privacy, what to cite, validation) happens here, once.
//!
//! Invariants:
//! - [`Bot::is_private`] is known before a command runs, so a front end can defer with the right
//!   visibility; the reply it later gets has the same `private` value.
//! - `execute` returns `Err` only for internal failures; anything the user got wrong is an
//!   ordinary reply with [`Tone::Error`] that says what to do instead.
//! - The question text is never logged here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::answer::{self, Answer, AskOptions};
use crate::config::Config;
use crate::index::{self, DocInfo, Freshness, SearchIndex};
use crate::reply::{Field, Reply, Rich, Tone};
use crate::text::truncate_words;
use crate::Result;

/// The type of a command option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Free text.
    String,
    /// true / false.
    Boolean,
}

/// One option of a command, as a chat registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSpec {
    /// Lowercase name.
    pub name: &'static str,
    /// Shown to users (≤ 100 chars).
    pub description: &'static str,
    /// Type.
    pub kind: OptionKind,
    /// Must be given.
    pub required: bool,
    /// Offers suggestions while typing.
    pub autocomplete: bool,
    /// Longest accepted value, for strings.
    pub max_length: Option<u16>,
}

/// A command (or subcommand) definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// Lowercase name, without the slash.
    pub name: &'static str,
    /// Shown to users (≤ 100 chars).
    pub description: &'static str,
    /// Options, required ones first.
    pub options: Vec<OptionSpec>,
}

/// Longest question accepted from a chat (Discord's own option limit is 6000).
pub const MAX_QUESTION_CHARS: u16 = 6000;

/// Every command the bot offers.
pub fn specs() -> Vec<CommandSpec> {
    vec![
        CommandSpec {
            name: "ask",
            description:
                "Ask about the Growing Occupational Health and Wellbeing Together strategy",
            options: vec![
                OptionSpec {
                    name: "question",
                    description: "Your question, in your own words",
                    kind: OptionKind::String,
                    required: true,
                    autocomplete: false,
                    max_length: Some(MAX_QUESTION_CHARS),
                },
                OptionSpec {
                    name: "source",
                    description: "Only search this document",
                    kind: OptionKind::String,
                    required: false,
                    autocomplete: true,
                    max_length: Some(100),
                },
                OptionSpec {
                    name: "share",
                    description:
                        "Post the answer for everyone in the channel (default: only you see it)",
                    kind: OptionKind::Boolean,
                    required: false,
                    autocomplete: false,
                    max_length: None,
                },
            ],
        },
        CommandSpec {
            name: "sources",
            description: "List the documents the bot answers from",
            options: Vec::new(),
        },
        CommandSpec {
            name: "help",
            description: "How to use this bot",
            options: Vec::new(),
        },
    ]
}

/// An option value as given by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text.
    Str(String),
    /// true / false.
    Bool(bool),
}

/// Who is running a command. Carries no identity: only what permission checks need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Role ids the member has in the guild.
    pub roles: Vec<u64>,
    /// False in direct messages.
    pub in_guild: bool,
}

/// A command as invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Command name.
    pub command: String,
    /// Options by name.
    pub options: BTreeMap<String, Value>,
    /// Who runs it.
    pub caller: Caller,
}

impl Invocation {
    /// A text option, trimmed; `None` when absent.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.options.get(name) {
            Some(Value::Str(s)) => Some(s.trim()),
            _ => None,
        }
    }

    /// A boolean option; `false` when absent.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.options.get(name), Some(Value::Bool(true)))
    }

    /// Parses a console line such as `/ask how do I get OH support? share:true`.
    ///
    /// The text after the command name fills its first required text option until the first
    /// `name:value` of another known option; values run to the next such pair.
    pub fn parse(line: &str, caller: Caller) -> std::result::Result<Invocation, String> {
        let line = line.trim();
        let rest = line
            .strip_prefix('/')
            .ok_or_else(|| "commands start with /, for example /ask or /help".to_string())?;
        let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let name = name.to_lowercase();
        let spec = specs()
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("unknown command /{name}; try /help"))?;
        // Find `opt:` markers for this command's options, at word starts.
        let mut marks: Vec<(usize, usize, &OptionSpec)> = Vec::new();
        for opt in &spec.options {
            let key = format!("{}:", opt.name);
            let mut from = 0;
            while let Some(i) = args[from..].find(&key) {
                let at = from + i;
                if at == 0 || args[..at].ends_with(char::is_whitespace) {
                    marks.push((at, at + key.len(), opt));
                }
                from = at + key.len();
            }
        }
        marks.sort_by_key(|m| m.0);
        let mut options = BTreeMap::new();
        let leading = &args[..marks.first().map_or(args.len(), |m| m.0)];
        if !leading.trim().is_empty() {
            let first = spec
                .options
                .iter()
                .find(|o| o.required && o.kind == OptionKind::String)
                .ok_or_else(|| format!("/{name} takes no text; try /help"))?;
            options.insert(
                first.name.to_string(),
                Value::Str(leading.trim().to_string()),
            );
        }
        for (i, (_, start, opt)) in marks.iter().enumerate() {
            let end = marks.get(i + 1).map_or(args.len(), |m| m.0);
            let raw = args[*start..end].trim();
            let value = match opt.kind {
                OptionKind::String => Value::Str(raw.to_string()),
                OptionKind::Boolean => match raw.to_lowercase().as_str() {
                    "true" | "yes" | "1" => Value::Bool(true),
                    "false" | "no" | "0" => Value::Bool(false),
                    _ => return Err(format!("{}: expected true or false, not `{raw}`", opt.name)),
                },
            };
            options.insert(opt.name.to_string(), value);
        }
        for opt in spec.options.iter().filter(|o| o.required) {
            if !options.contains_key(opt.name) {
                return Err(format!(
                    "/{name} needs {}: for example /{name} what is OHWB?",
                    opt.name
                ));
            }
        }
        Ok(Invocation {
            command: name,
            options,
            caller,
        })
    }
}

/// A suggestion offered while the user types an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Shown to the user (≤ 100 chars).
    pub name: String,
    /// Sent back as the option's value (≤ 100 chars).
    pub value: String,
}

/// At most this many suggestions (Discord's limit).
pub const MAX_CHOICES: usize = 25;

/// The bot's state shared by every front end: configuration and the index being served.
pub struct Bot {
    config: Config,
    corpus_dir: PathBuf,
    index_dir: PathBuf,
    index: RwLock<Arc<SearchIndex>>,
}

impl Bot {
    /// Opens (building when needed) the index for `config`'s paths.
    pub fn open(config: Config) -> Result<Bot> {
        let corpus_dir = config.paths.corpus.clone();
        let index_dir = config.paths.index.clone();
        let (index, freshness) = index::open_fresh(&corpus_dir, &index_dir)?;
        if let Freshness::StaleCorpusInvalid(problems) = &freshness {
            tracing::warn!(
                problems = problems.len(),
                "corpus has problems; serving the previous index"
            );
        }
        Ok(Bot {
            config,
            corpus_dir,
            index_dir,
            index: RwLock::new(Arc::new(index)),
        })
    }

    /// The configuration the bot was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The index currently served. Cheap: a reference count, not a copy.
    pub fn index(&self) -> Arc<SearchIndex> {
        // A poisoned lock only means a writer panicked mid-swap; the Arc inside is still whole.
        self.index.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the reply to `inv` will be private; known before running it.
    pub fn is_private(&self, inv: &Invocation) -> bool {
        match inv.command.as_str() {
            "ask" => !inv.flag("share"),
            _ => true,
        }
    }

    /// Runs a command. Blocking (searches the index): call it under `spawn_blocking`.
    pub fn execute(&self, inv: &Invocation) -> Result<Reply> {
        let mut reply = match inv.command.as_str() {
            "ask" => self.ask(inv)?,
            "sources" => self.sources(),
            "help" => help(),
            other => Reply::private(
                Tone::Error,
                Rich::plain(format!("I don't know the command /{other}. Try /help.")),
            ),
        };
        reply.private = self.is_private(inv);
        Ok(reply)
    }

    fn ask(&self, inv: &Invocation) -> Result<Reply> {
        let question = inv.str("question").unwrap_or_default();
        if question.is_empty() {
            return Ok(Reply::private(
                Tone::Error,
                Rich::plain(answer::EMPTY_QUESTION),
            ));
        }
        let index = self.index();
        let document = match inv.str("source").filter(|s| !s.is_empty()) {
            None => None,
            Some(wanted) => {
                match find_document(&index.manifest().documents, wanted) {
                    Some(d) => Some(d.slug.clone()),
                    None => {
                        let mut r = Reply::private(
                        Tone::Error,
                        Rich::plain("I don't have a document called ")
                            .text(format!("“{}”", truncate_words(wanted, 100)))
                            .text(". Pick one from the suggestions, or use /sources to see them all."),
                    );
                        r.title = Some("Unknown source".into());
                        return Ok(r);
                    }
                }
            }
        };
        let opts = AskOptions {
            document,
            top: None,
        };
        let a = answer::answer(&index, question, &self.config.answer, &opts)?;
        Ok(answer_reply(&a, !inv.flag("share")))
    }

    fn sources(&self) -> Reply {
        let index = self.index();
        let docs = &index.manifest().documents;
        let (resources, mut documents): (Vec<&DocInfo>, Vec<&DocInfo>) =
            docs.iter().partition(|d| d.kind == "resource");
        // The strategy first, then its background, each alphabetically.
        documents.sort_by_key(|d| (d.kind != "strategy", d.title.clone()));
        let mut fields: Vec<Field> = documents
            .iter()
            .take(MAX_SOURCE_FIELDS)
            .map(|d| Field {
                name: d.title.clone(),
                value: Rich::new().link("Source", d.url.clone()).text(format!(
                    " · {} · {} passages · {}",
                    d.kind, d.passages, d.published
                )),
            })
            .collect();
        if documents.len() > MAX_SOURCE_FIELDS {
            fields.push(Field {
                name: "More".into(),
                value: Rich::plain(format!(
                    "and {} more documents",
                    documents.len() - MAX_SOURCE_FIELDS
                )),
            });
        }
        let mut body = Rich::plain(format!(
            "I answer only from these {} documents ({} passages).",
            documents.len(),
            index.manifest().passage_count()
        ));
        if !resources.is_empty() {
            body = body.text(format!(
                " Your OH team has also posted {} resource links.",
                resources.len()
            ));
        }
        Reply {
            title: Some("What I answer from".into()),
            fields,
            ..Reply::private(Tone::Info, body)
        }
    }

    /// Suggestions for the option being typed. Never fails: unknown input gives no choices.
    pub fn autocomplete(&self, command: &str, option: &str, partial: &str) -> Vec<Choice> {
        if command != "ask" || option != "source" {
            return Vec::new();
        }
        let index = self.index();
        let needle = partial.trim().to_lowercase();
        index
            .manifest()
            .documents
            .iter()
            .filter(|d| {
                needle.is_empty()
                    || d.title.to_lowercase().contains(&needle)
                    || d.slug.contains(&needle)
            })
            .take(MAX_CHOICES)
            .map(|d| Choice {
                name: truncate_words(&d.title, 100),
                value: truncate_words(&d.slug, 100),
            })
            .collect()
    }

    /// Where the corpus lives.
    pub fn corpus_dir(&self) -> &PathBuf {
        &self.corpus_dir
    }

    /// Where the index lives.
    pub fn index_dir(&self) -> &PathBuf {
        &self.index_dir
    }
}

/// /sources shows at most this many documents, leaving one field for "and N more".
const MAX_SOURCE_FIELDS: usize = 24;

fn find_document<'a>(docs: &'a [DocInfo], wanted: &str) -> Option<&'a DocInfo> {
    let w = wanted.trim().to_lowercase();
    docs.iter()
        .find(|d| d.slug == w || d.title.to_lowercase() == w)
}

/// The reply for an answer: the answer line, then one field per citation.
pub fn answer_reply(a: &Answer, private: bool) -> Reply {
    let footer = if private {
        "Only you can see this. Add share:true to post an answer for the channel."
    } else {
        "Quoted from the documents above: check the source before acting on it."
    };
    if !a.answered {
        return Reply {
            private,
            tone: Tone::NotCovered,
            title: Some("Not covered by the strategy".into()),
            echo: Some(a.question.clone()),
            body: Rich::plain(a.summary.clone()),
            fields: Vec::new(),
            footer: private.then(|| footer.to_string()),
        };
    }
    let fields = a
        .citations
        .iter()
        .map(|c| {
            let mut value = Rich::new();
            let s = &c.snippet;
            let mut at = 0;
            for r in &s.highlights {
                if r.start < at || r.end > s.text.len() {
                    continue;
                }
                value = value.text(&s.text[at..r.start]).strong(&s.text[r.clone()]);
                at = r.end;
            }
            value = value
                .text(&s.text[at..])
                .text("\n")
                .link("Read the source", c.url.clone());
            Field {
                name: format!("[{}] {} › {}", c.rank, c.document, c.section),
                value,
            }
        })
        .collect();
    Reply {
        private,
        tone: Tone::Answer,
        title: None,
        echo: Some(a.question.clone()),
        body: Rich::plain(format!("{} [1]", a.summary)),
        fields,
        footer: Some(footer.into()),
    }
}

fn help() -> Reply {
    let body = Rich::plain(
        "I answer questions about NHS England's Growing Occupational Health and Wellbeing \
         Together strategy and its background documents, quoting them with links. I only say \
         what the documents say; if they don't cover your question, I tell you so.",
    );
    let fields = vec![
        Field {
            name: "/ask question:<your question>".into(),
            value: Rich::plain(
                "Ask in your own words. Add source: to search one document, and share:true to \
                 post the answer for the channel. Answers are private to you unless you share.",
            ),
        },
        Field {
            name: "/sources".into(),
            value: Rich::plain("Lists the documents I answer from, with links."),
        },
        Field {
            name: "/help".into(),
            value: Rich::plain("This message."),
        },
    ];
    Reply {
        title: Some("How to use this bot".into()),
        fields,
        ..Reply::private(Tone::Info, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> std::result::Result<Invocation, String> {
        Invocation::parse(line, Caller::default())
    }

    #[test]
    fn console_lines_parse_like_slash_commands() {
        let inv = parse("/ask how will OH be easier to access?").unwrap();
        assert_eq!(inv.command, "ask");
        assert_eq!(
            inv.str("question"),
            Some("how will OH be easier to access?")
        );
        assert!(!inv.flag("share"));

        let inv = parse("/ask what is MoHaWK source:oh-services-and-standards share:true").unwrap();
        assert_eq!(inv.str("question"), Some("what is MoHaWK"));
        assert_eq!(inv.str("source"), Some("oh-services-and-standards"));
        assert!(inv.flag("share"));

        let inv = parse("/ask question:what is a fit note? share:no").unwrap();
        assert_eq!(inv.str("question"), Some("what is a fit note?"));
        assert!(!inv.flag("share"));

        // `source:` inside a word is text, not an option.
        let inv = parse("/ask opensource:thing").unwrap();
        assert_eq!(inv.str("question"), Some("opensource:thing"));

        assert_eq!(parse("/SOURCES").unwrap().command, "sources");
    }

    #[test]
    fn bad_console_lines_say_what_to_do() {
        assert!(parse("ask x").unwrap_err().contains("start with /"));
        assert!(parse("/frobnicate")
            .unwrap_err()
            .contains("unknown command"));
        assert!(parse("/ask").unwrap_err().contains("needs question"));
        assert!(parse("/ask x share:maybe")
            .unwrap_err()
            .contains("true or false"));
        assert!(parse("/help me").unwrap_err().contains("takes no text"));
    }

    #[test]
    fn specs_fit_discord_rules() {
        for s in specs() {
            assert!(s.name.len() <= 32 && s.name.chars().all(|c| c.is_ascii_lowercase()));
            assert!((1..=100).contains(&s.description.len()), "{}", s.name);
            assert!(s.options.len() <= 25);
            for o in &s.options {
                assert!((1..=100).contains(&o.description.len()), "{}", o.name);
            }
            // Discord requires required options first.
            let first_optional = s
                .options
                .iter()
                .position(|o| !o.required)
                .unwrap_or(s.options.len());
            assert!(s.options[first_optional..].iter().all(|o| !o.required));
        }
    }
}
