//! A command as invoked, whatever chat it came from: its name, options and who asked
//! ([`Invocation`], [`Caller`]), and how a console line becomes one ([`Invocation::parse`]).
//!
//! Invariants:
//! - A `Caller` carries no user id or name beyond what permission checks and posting need;
//!   `person_key` is only ever kept hashed.
//! - Parsing follows the command specs (`specs.rs`), so the console accepts exactly what a
//!   chat's slash commands do, and a bad line gets a message that says what to type instead.

use std::collections::BTreeMap;

use super::specs::{specs, OptionKind, OptionSpec};

/// An option value as given by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text.
    Str(String),
    /// true / false.
    Bool(bool),
    /// A whole number.
    Int(i64),
}

/// Who is running a command: only what permission checks and posting need. Never logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Role ids the member has in the guild.
    pub roles: Vec<u64>,
    /// False in direct messages.
    pub in_guild: bool,
    /// The operator on the host (console, CLI): not subject to role checks or rate limits.
    pub operator: bool,
    /// Display name, recorded as `posted_by` on resources they post.
    pub name: String,
    /// Who this is, e.g. `discord:<user id>`, for the rate limit and one vote per answer:
    /// only ever kept as a salted hash (in memory for the limit, in the database for votes).
    /// Empty: not limited, and cannot vote.
    pub person_key: String,
}

impl Caller {
    /// The local operator (console and CLI).
    pub fn operator(name: &str) -> Caller {
        Caller {
            roles: Vec::new(),
            in_guild: true,
            operator: true,
            name: name.to_string(),
            person_key: String::new(),
        }
    }
}

/// How people reach the bot, which decides how replies tell them to do things.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Surface {
    /// Slash commands with options (Discord, the console): `/ask question: … share:true`.
    #[default]
    Slash,
    /// A conversation where a message is a question and there are no options (Teams).
    Conversation,
}

/// A command as invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Command name.
    pub command: String,
    /// Subcommand name, for commands that have them.
    pub subcommand: Option<String>,
    /// Options by name.
    pub options: BTreeMap<String, Value>,
    /// Who runs it.
    pub caller: Caller,
    /// How it was asked.
    pub surface: Surface,
}

impl Invocation {
    /// A text option, trimmed; `None` when absent.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.options.get(name) {
            Some(Value::Str(s)) => Some(s.trim()),
            _ => None,
        }
    }

    /// A whole-number option; `None` when absent.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.options.get(name) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// `command` or `command subcommand`, for messages and logs.
    pub fn full_name(&self) -> String {
        match &self.subcommand {
            Some(sub) => format!("{} {sub}", self.command),
            None => self.command.clone(),
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
        let (spec, subcommand, args) = if spec.subcommands.is_empty() {
            (spec, None, args)
        } else {
            let args = args.trim_start();
            let (sub, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
            let sub = sub.to_lowercase();
            let names: Vec<&str> = spec.subcommands.iter().map(|s| s.name).collect();
            let found = spec
                .subcommands
                .iter()
                .find(|s| s.name == sub)
                .cloned()
                .ok_or_else(|| format!("/{name} needs one of: {}", names.join(", ")))?;
            (found, Some(sub), rest)
        };
        let display = match &subcommand {
            Some(sub) => format!("{name} {sub}"),
            None => name.clone(),
        };
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
                .ok_or_else(|| format!("/{display} takes no text; try /help"))?;
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
                OptionKind::Integer => match raw.parse::<i64>() {
                    Ok(n) => Value::Int(n),
                    Err(_) => {
                        return Err(format!(
                            "{}: expected a whole number, not `{raw}`",
                            opt.name
                        ))
                    }
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
            subcommand,
            options,
            caller,
            surface: Surface::Slash,
        })
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
}
