//! Replies for staff who need support: the crisis reply for distress, and local contacts first
//! for help-seeking questions.
//!
//! Invariants:
//! - A distress reply is always private, whatever `share` says, and never cites the strategy.
//! - Neither reply echoes the question back; nothing here logs or stores it.
//! - Only configured contacts and corpus passages are shown: no number is made up here. The
//!   crisis numbers come from `[crisis]` in config (defaults for England).

use crate::answer::{self, AskOptions};
use crate::config::{Config, DEFAULT_ESCALATION_MESSAGE};
use crate::reply::{Field, Reply, Rich, Tone};

use crate::index::SearchIndex;
use crate::safety::Need;

use super::ask::citation_fields;

/// The corpus document with national support information.
pub const SUPPORT_DOC: &str = "getting-support";

/// When a help question matches no support passage well ("support for stress"), this finds
/// the general "where to get support now" passage instead.
const FALLBACK_QUESTION: &str =
    "local health and wellbeing HR occupational health team GP NHS Talking Therapies Check My Wellbeing";

/// The trust's own contacts as one field, when any are configured.
fn local_contacts(config: &Config) -> Option<Field> {
    Some(Field {
        name: "Your trust's support".into(),
        value: contact_lines(config)?,
    })
}

/// Where to take a question the documents do not cover: the trust's OH team when configured,
/// otherwise the general advice to find them on the intranet. A decline must not dead-end.
pub fn ask_a_person(config: &Config) -> Field {
    Field {
        name: "Ask a person".into(),
        value: match contact_lines(config) {
            Some(v) => {
                Rich::plain("Your OH team can answer questions the documents don't:\n").append(v)
            }
            None => Rich::plain(NO_LOCAL_CONTACTS),
        },
    }
}

/// The configured contacts, one per line, then the intranet link; `None` when none is set.
fn contact_lines(config: &Config) -> Option<Rich> {
    let s = &config.support;
    if s.is_empty() {
        return None;
    }
    let mut value = Rich::new();
    let mut line = |label: &str, v: &str| {
        if !v.trim().is_empty() {
            value = std::mem::take(&mut value).text(format!("{label}{}\n", v.trim()));
        }
    };
    line("", &s.oh_team);
    line("Phone: ", &s.phone);
    line("Email: ", &s.email);
    line("Opening hours: ", &s.hours);
    let eap = match (s.eap_provider.trim(), s.eap_phone.trim()) {
        ("", "") => String::new(),
        (p, "") => p.to_string(),
        ("", n) => n.to_string(),
        (p, n) => format!("{p}, {n}"),
    };
    line("Employee assistance programme: ", &eap);
    if !s.intranet_url.trim().is_empty() {
        value = value.link("Staff wellbeing on the intranet", s.intranet_url.trim());
    }
    Some(value)
}

const NO_LOCAL_CONTACTS: &str = "Your own employer's occupational health, health and wellbeing \
or HR team is the best first contact: check your trust's intranet for how to reach them.";

/// The crisis reply.
pub fn crisis_reply(config: &Config) -> Reply {
    let c = &config.crisis;
    let mut now = Rich::new();
    for l in c.lines.iter().filter(|l| !l.trim().is_empty()) {
        now = now.text(format!("{}\n", l.trim()));
    }
    let mut fields = vec![Field {
        name: "Right now".into(),
        value: now,
    }];
    fields.push(local_contacts(config).unwrap_or(Field {
        name: "At work".into(),
        value: Rich::plain(format!("{NO_LOCAL_CONTACTS} Your GP can help too.")),
    }));
    Reply {
        private: true,
        tone: Tone::Support,
        title: Some(c.heading.clone()),
        echo: None,
        body: Rich::plain(c.intro.clone()),
        fields,
        footer: Some(c.closing.clone()),
        escalate: config.support.escalation_channel_id != 0,
        feedback: None,
        forward_offer: None,
        forward: None,
    }
}

/// The notice posted to the wellbeing team's private channel after a crisis reply.
pub fn escalation_notice(config: &Config) -> String {
    let m = config.support.escalation_message.trim();
    if m.is_empty() {
        DEFAULT_ESCALATION_MESSAGE.to_string()
    } else {
        m.to_string()
    }
}

/// The reply a message gets before any search, by what it needs: the crisis reply for
/// distress (always private), local contacts first for help-seeking; `None` for an ordinary
/// question. The console, Discord and `ohwb-bot ask` all answer through this.
pub fn support_first(
    config: &Config,
    index: &SearchIndex,
    need: Need,
    question: &str,
    private: bool,
) -> crate::Result<Option<Reply>> {
    Ok(match need {
        Need::Distress => Some(crisis_reply(config)),
        Need::Help => Some(support_reply(config, index, question, private)?),
        Need::Question => None,
    })
}

/// Local contacts first, then the national support passages that best fit the question.
fn support_reply(
    config: &Config,
    index: &SearchIndex,
    question: &str,
    private: bool,
) -> crate::Result<Reply> {
    let has_doc = index
        .manifest()
        .documents
        .iter()
        .any(|d| d.slug == SUPPORT_DOC);
    let mut citations = Vec::new();
    if has_doc {
        let opts = AskOptions {
            document: Some(SUPPORT_DOC.into()),
            top: Some(2),

            ..AskOptions::default()
        };
        let mut a = answer::answer(index, question, &config.answer, &opts)?;
        if !a.answered {
            a = answer::answer(index, FALLBACK_QUESTION, &config.answer, &opts)?;
        }
        citations = a.citations;
    }
    let mut fields = Vec::new();
    let body = match local_contacts(config) {
        Some(f) => {
            fields.push(f);
            Rich::plain("Your trust's own support comes first, then what is available nationally:")
        }
        None => Rich::plain(NO_LOCAL_CONTACTS),
    };
    fields.extend(citation_fields(&citations));
    let crisis: Vec<&str> = config
        .crisis
        .lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    Ok(Reply {
        private,
        tone: Tone::Support,
        title: Some("Getting support".into()),
        echo: None,
        body,
        fields,
        footer: Some(format!("If things feel urgent: {}", crisis.join(" "))),
        escalate: false,
        feedback: None,
        forward_offer: None,
        forward: None,
    })
}
