//! Between Discord's shapes and the command layer's: the slash commands as Discord registers
//! them, and an interaction (a command, or a press on one of our buttons) as an [`Invocation`].
//!
//! Invariants:
//! - An invocation carries roles, a display name and an opaque person key, never a raw id
//!   (the key is hashed wherever it is kept).
//! - Mention syntax never reaches a question: it names people, not what is asked.

use std::collections::BTreeMap;

use serenity::all::{
    CommandDataOption, CommandDataOptionValue, CommandInteraction, CommandOptionType,
    ComponentInteraction, CreateCommand, CreateCommandOption,
};

use super::render::{self, Press};
use crate::commands::{specs, Caller, Invocation, OptionKind, OptionSpec, Surface, Value};

fn option_builder(o: &OptionSpec) -> CreateCommandOption {
    let kind = match o.kind {
        OptionKind::String => CommandOptionType::String,
        OptionKind::Boolean => CommandOptionType::Boolean,
        OptionKind::Integer => CommandOptionType::Integer,
    };
    let mut b = CreateCommandOption::new(kind, o.name, o.description).required(o.required);
    if o.autocomplete {
        b = b.set_autocomplete(true);
    }
    if let Some(n) = o.max_length {
        b = b.max_length(n);
    }
    if o.kind == OptionKind::Integer {
        b = b.min_int_value(1);
    }
    b
}

/// The slash commands as Discord registers them.
pub fn command_builders() -> Vec<CreateCommand> {
    specs()
        .into_iter()
        .filter(|spec| spec.registered)
        .map(|spec| {
            let options = if spec.subcommands.is_empty() {
                spec.options.iter().map(option_builder).collect()
            } else {
                spec.subcommands
                    .iter()
                    .map(|sub| {
                        sub.options.iter().fold(
                            CreateCommandOption::new(
                                CommandOptionType::SubCommand,
                                sub.name,
                                sub.description,
                            ),
                            |b, o| b.add_sub_option(option_builder(o)),
                        )
                    })
                    .collect()
            };
            CreateCommand::new(spec.name)
                .description(spec.description)
                .set_options(options)
        })
        .collect()
}

fn option_values(
    opts: &[CommandDataOption],
    out: &mut BTreeMap<String, Value>,
    subcommand: &mut Option<String>,
) {
    for o in opts {
        let value = match &o.value {
            CommandDataOptionValue::String(s) => Value::Str(without_mentions(s)),
            CommandDataOptionValue::Boolean(b) => Value::Bool(*b),
            CommandDataOptionValue::Integer(n) => Value::Int(*n),
            CommandDataOptionValue::Autocomplete { value, .. } => Value::Str(value.clone()),
            CommandDataOptionValue::SubCommand(inner) => {
                *subcommand = Some(o.name.clone());
                option_values(inner, out, subcommand);
                continue;
            }
            _ => continue,
        };
        out.insert(o.name.clone(), value);
    }
}

/// `text` without Discord's mention syntax (`<@id>`, `<@!id>`, `<@&id>`, `<#id>`,
/// `@everyone`, `@here`): they name people and channels, not what is asked, and their digits
/// would otherwise count as words of the question.
fn without_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let body = tail[1..].split('>').next().unwrap_or_default();
        let id = body.trim_start_matches(['@', '!', '&', '#']);
        let is_mention = body.len() > id.len()
            && !id.is_empty()
            && id.chars().all(|c| c.is_ascii_digit())
            && tail.len() > body.len() + 1;
        if is_mention {
            rest = &tail[body.len() + 2..];
        } else {
            out.push('<');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out.split(' ')
        .filter(|w| {
            !matches!(
                w.trim_matches(|c: char| !c.is_alphanumeric() && c != '@'),
                "@everyone" | "@here"
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The name a person shows in the server: their nickname, else their display name, else
/// their user name.
fn display_name(member: Option<&serenity::all::Member>, user: &serenity::all::User) -> String {
    member
        .and_then(|m| m.nick.clone())
        .or_else(|| user.global_name.clone())
        .unwrap_or_else(|| user.name.clone())
}

/// The command layer's view of an interaction: roles and a display name, no ids.
pub(super) fn invocation(cmd: &CommandInteraction) -> Invocation {
    let mut options = BTreeMap::new();
    let mut subcommand = None;
    option_values(&cmd.data.options, &mut options, &mut subcommand);
    let name = display_name(cmd.member.as_deref(), &cmd.user);
    Invocation {
        command: cmd.data.name.clone(),
        subcommand,
        options,
        caller: Caller {
            roles: cmd
                .member
                .as_ref()
                .map(|m| m.roles.iter().map(|r| r.get()).collect())
                .unwrap_or_default(),
            in_guild: cmd.guild_id.is_some(),
            operator: false,
            name,
            person_key: format!("discord:{}", cmd.user.id),
        },
        surface: Surface::Slash,
    }
}

/// The invocation a press on one of our buttons stands for: "Helpful" / "Not helpful" is
/// `/feedback`, "Send to the OH team" is `/forward`; `None` for any other button.
pub(super) fn press_invocation(c: &ComponentInteraction) -> Option<Invocation> {
    let mut options = BTreeMap::new();
    let command = match render::parse_press(&c.data.custom_id)? {
        Press::Feedback { vote, answer } => {
            options.insert("vote".to_string(), Value::Str(vote.to_string()));
            options.insert("answer".to_string(), Value::Str(answer.to_string()));
            "feedback"
        }
        Press::Forward { offer, named } => {
            options.insert("id".to_string(), Value::Str(offer.to_string()));
            options.insert("name".to_string(), Value::Bool(named));
            "forward"
        }
    };
    Some(Invocation {
        command: command.into(),
        subcommand: None,
        options,
        caller: Caller {
            roles: Vec::new(),
            in_guild: c.guild_id.is_some(),
            operator: false,
            name: display_name(c.member.as_ref(), &c.user),
            person_key: format!("discord:{}", c.user.id),
        },
        surface: Surface::Slash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_syntax_is_not_part_of_a_question() {
        assert_eq!(
            without_mentions("@everyone how <@6000> do i <@!12> ask <@&5> in <#77>? @here"),
            "how  do i  ask  in ?"
        );
        assert_eq!(
            without_mentions("a <b> and 3 < 4 and <@x>"),
            "a <b> and 3 < 4 and <@x>"
        );
        assert_eq!(without_mentions("trailing <@"), "trailing <@");
        assert_eq!(without_mentions("email me@here.com"), "email me@here.com");
    }
}
