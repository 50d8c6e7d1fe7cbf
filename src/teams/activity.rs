//! Bot Framework activities as Teams sends them, and what each one asks the command layer.
//!
//! A message in the personal chat, or one that @mentions the bot in a channel or group chat,
//! is a question: `ask` is implied, and the words `help` and `sources` run those commands. A
//! press on a card's "Helpful" / "Not helpful" button arrives as a message whose `value` is
//! the button's data, and is `feedback`.
//!
//! Invariants:
//! - The invocation carries no Teams ids except the person key (`teams:<id>`), which the
//!   command layer only ever keeps hashed.
//! - Outside the personal chat a question is asked with `share`, so its answer may go to the
//!   thread; the command layer still makes a distress reply private, and a private reply is
//!   never posted anywhere but the personal chat.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value as Json;

use crate::commands::{Caller, Invocation, Surface, Value};

/// The `value` tag of the bot's own card buttons.
pub const FEEDBACK_TAG: &str = "ohwb-feedback";

/// The parts of an activity the bot reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// `message`, `conversationUpdate`, `invoke`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// This activity's id (a reply is addressed to it).
    #[serde(default)]
    pub id: String,
    /// The connector to reply through.
    #[serde(default)]
    pub service_url: String,
    /// `msteams` from Teams.
    #[serde(default)]
    pub channel_id: String,
    /// Who wrote it.
    #[serde(default)]
    pub from: Account,
    /// The bot, as this conversation knows it.
    #[serde(default)]
    pub recipient: Account,
    /// Where it was written.
    #[serde(default)]
    pub conversation: Conversation,
    /// The message text (HTML-ish in channels: `<at>Bot</at> question`).
    #[serde(default)]
    pub text: Option<String>,
    /// A card button's data.
    #[serde(default)]
    pub value: Option<Json>,
    /// Teams extras: the tenant.
    #[serde(default)]
    pub channel_data: Option<Json>,
    /// Who joined (a `conversationUpdate`; the bot itself when someone installs it).
    #[serde(default)]
    pub members_added: Vec<Account>,
}

/// A person or bot in a conversation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The channel's id for them.
    #[serde(default)]
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Their Microsoft Entra object id (stable across chats).
    #[serde(default)]
    pub aad_object_id: Option<String>,
}

/// A conversation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// The conversation id (in a channel, it names the thread too).
    #[serde(default)]
    pub id: String,
    /// `personal`, `channel` or `groupChat`.
    #[serde(default)]
    pub conversation_type: Option<String>,
    /// The tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

impl Activity {
    /// Whether this is the person's one-to-one chat with the bot (only there may a private
    /// reply go).
    pub fn is_personal(&self) -> bool {
        self.conversation.conversation_type.as_deref() == Some("personal")
    }

    /// The tenant, from the conversation or the channel data.
    pub fn tenant(&self) -> Option<String> {
        self.conversation.tenant_id.clone().or_else(|| {
            self.channel_data
                .as_ref()?
                .pointer("/tenant/id")?
                .as_str()
                .map(str::to_string)
        })
    }

    fn caller(&self) -> Caller {
        let who = self
            .from
            .aad_object_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.from.id);
        Caller {
            roles: Vec::new(),
            in_guild: !self.is_personal(),
            operator: false,
            name: self.from.name.clone().unwrap_or_default(),
            person_key: format!("teams:{who}"),
        }
    }

    /// Whether this is the bot being added to someone's personal chat (installed): it then
    /// introduces itself with `help`. Never in a channel, where it would be noise.
    pub fn is_install(&self) -> bool {
        self.kind == "conversationUpdate"
            && self.is_personal()
            && self
                .members_added
                .iter()
                .any(|m| !m.id.is_empty() && m.id == self.recipient.id)
    }

    /// What this activity asks of the bot; `None` for activities that ask nothing (typing,
    /// other members added, reactions, an empty message with no button data).
    pub fn invocation(&self) -> Option<Invocation> {
        if self.is_install() {
            return Some(self.invoke("help", BTreeMap::new()));
        }
        if self.kind != "message" {
            return None;
        }
        let mut options = BTreeMap::new();
        if let Some(value) = &self.value {
            if value.get("ohwb").and_then(Json::as_str) != Some(FEEDBACK_TAG) {
                return None;
            }
            let vote = value.get("vote").and_then(Json::as_str)?;
            let answer = value.get("answer").and_then(Json::as_str)?;
            options.insert("vote".into(), Value::Str(vote.to_string()));
            options.insert("answer".into(), Value::Str(answer.to_string()));
            return Some(self.invoke("feedback", options));
        }
        let text = plain_text(self.text.as_deref().unwrap_or(""));
        let bare = text.trim_start_matches('/').trim().to_lowercase();
        let command = match bare.trim_end_matches(['?', '!', '.']) {
            "" | "help" => "help",
            "sources" => "sources",
            _ => {
                let question = text
                    .strip_prefix("/ask ")
                    .or_else(|| text.strip_prefix("ask "))
                    .unwrap_or(&text);
                options.insert("question".into(), Value::Str(question.trim().to_string()));
                if !self.is_personal() {
                    options.insert("share".into(), Value::Bool(true));
                }
                "ask"
            }
        };
        Some(self.invoke(command, options))
    }

    fn invoke(&self, command: &str, options: BTreeMap<String, Value>) -> Invocation {
        Invocation {
            command: command.to_string(),
            subcommand: None,
            options,
            caller: self.caller(),
            surface: Surface::Conversation,
        }
    }
}

/// A Teams message as the words the person typed: `<at>…</at>` mentions (of the bot, or
/// anyone) and other tags dropped, entities decoded, whitespace collapsed.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        let Some(close) = tail.find('>') else {
            out.push_str(tail);
            rest = "";
            break;
        };
        let tag = tail[1..close].trim().to_lowercase();
        rest = &tail[close + 1..];
        if tag == "at" || tag.starts_with("at ") {
            // Skip the mentioned name with its closing tag.
            match rest.to_lowercase().find("</at>") {
                Some(end) => rest = &rest[end + "</at>".len()..],
                None => rest = "",
            }
        }
        // Block tags separate words.
        out.push(' ');
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(text: &str, kind: &str) -> Activity {
        serde_json::from_value(json!({
            "type": "message", "id": "1", "serviceUrl": "https://smba.trafficmanager.net/uk/",
            "channelId": "msteams", "text": text,
            "from": {"id": "29:abc", "name": "Sam", "aadObjectId": "aad-1"},
            "recipient": {"id": "28:bot", "name": "OHWB"},
            "conversation": {"id": "19:c;messageid=1", "conversationType": kind, "tenantId": "t"}
        }))
        .unwrap()
    }

    #[test]
    fn mentions_and_markup_are_not_part_of_the_question() {
        assert_eq!(
            plain_text("<p><at>OHWB bot</at>&nbsp;what is the <b>people</b> promise?</p>"),
            "what is the people promise?"
        );
        assert_eq!(plain_text("3 &lt; 4 &amp; a<b"), "3 < 4 & a<b");
        assert_eq!(plain_text("<at>unclosed"), "");
    }

    #[test]
    fn a_message_is_a_question_and_help_or_sources_are_commands() {
        let inv = message("<at>OHWB</at> what is OHWB?", "channel")
            .invocation()
            .unwrap();
        assert_eq!(inv.command, "ask");
        assert_eq!(inv.str("question"), Some("what is OHWB?"));
        assert!(
            inv.flag("share"),
            "a channel question may be answered in its thread"
        );
        assert!(inv.caller.in_guild);
        assert_eq!(inv.caller.person_key, "teams:aad-1");

        let personal = message("what is OHWB?", "personal").invocation().unwrap();
        assert!(!personal.flag("share"));
        assert_eq!(
            message("Help", "personal").invocation().unwrap().command,
            "help"
        );
        assert_eq!(
            message("<at>OHWB</at> sources", "channel")
                .invocation()
                .unwrap()
                .command,
            "sources"
        );
        assert_eq!(
            message("", "personal").invocation().unwrap().command,
            "help"
        );
    }

    #[test]
    fn a_feedback_button_is_a_vote_and_other_activities_ask_nothing() {
        let mut press = message("", "personal");
        press.value = Some(json!({"ohwb": FEEDBACK_TAG, "vote": "down", "answer": "a1"}));
        let inv = press.invocation().unwrap();
        assert_eq!(inv.command, "feedback");
        assert_eq!(
            (inv.str("vote"), inv.str("answer")),
            (Some("down"), Some("a1"))
        );

        press.value = Some(json!({"something": "else"}));
        assert!(press.invocation().is_none());
        let mut update = message("hi", "personal");
        update.kind = "conversationUpdate".into();
        assert!(update.invocation().is_none(), "someone else joined");
        update.members_added = vec![update.recipient.clone()];
        assert_eq!(
            update.invocation().unwrap().command,
            "help",
            "installed: introduce"
        );
        update.conversation.conversation_type = Some("channel".into());
        assert!(
            update.invocation().is_none(),
            "never a greeting in a channel"
        );
    }
}
