//! Turns a [`Reply`] into serenity builders within Discord's limits.
//!
//! Invariants:
//! - Every message sets empty `allowed_mentions`: nothing the bot posts can ping anyone.
//! - All user and document text goes through [`escape`], so it shows literally: no markdown,
//!   masked links, mentions or custom emoji can be smuggled in.
//! - Every length limit is enforced here, by cutting at a word and adding "…": title 256,
//!   description 4096, 25 fields of name 256 / value 1024, footer 2048, 6000 per embed,
//!   autocomplete 25 choices of 100 characters.

use serenity::builder::{
    CreateActionRow, CreateAllowedMentions, CreateAutocompleteResponse, CreateButton, CreateEmbed,
    CreateEmbedFooter, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    EditInteractionResponse,
};
use serenity::model::application::ButtonStyle;
use serenity::model::Colour;

use crate::commands::{Choice, MAX_CHOICES};
use crate::reply::{Inline, Reply, Rich, Tone};
use crate::text::truncate_words;

/// Discord's limits, in characters.
pub mod limits {
    /// Embed title.
    pub const TITLE: usize = 256;
    /// Embed description.
    pub const DESCRIPTION: usize = 4096;
    /// Fields per embed.
    pub const FIELDS: usize = 25;
    /// Field name.
    pub const FIELD_NAME: usize = 256;
    /// Field value.
    pub const FIELD_VALUE: usize = 1024;
    /// Footer text.
    pub const FOOTER: usize = 2048;
    /// Everything in one embed together.
    pub const EMBED_TOTAL: usize = 6000;
    /// Autocomplete choice name and value.
    pub const CHOICE: usize = 100;
}

/// The question echoed back is shortened to this many characters.
const ECHO_CHARS: usize = 300;

/// Makes `s` display literally in Discord markdown.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '<' | '-'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            // A zero-width space after @ keeps "@everyone" and "@here" from reading as mentions.
            '@' => out.push_str("@\u{200B}"),
            _ => out.push(c),
        }
    }
    out
}

/// Escaping for titles and field names, where Discord renders emphasis but not links, lists,
/// headings or quotes: only emphasis, code, spoilers and mentions need neutralising there, and
/// leaving brackets alone keeps "[1] Document › Section" readable.
pub fn escape_heading(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '<' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200B}"),
            _ => out.push(c),
        }
    }
    out
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Characters Discord cannot take in a link target are percent-encoded.
fn link_target(url: &str) -> String {
    url.replace('(', "%28")
        .replace(')', "%29")
        .replace(' ', "%20")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

fn render_inline(inline: &Inline, raw_max: Option<usize>) -> String {
    let cut = |t: &str| match raw_max {
        Some(n) => truncate_words(t, n),
        None => t.to_string(),
    };
    match inline {
        Inline::Text(t) => escape(&cut(t)),
        Inline::Strong(t) => {
            let t = cut(t);
            if t.trim().is_empty() {
                escape(&t)
            } else {
                format!("**{}**", escape(&t))
            }
        }
        Inline::Link { text, url } => format!("[{}]({})", escape(&cut(text)), link_target(url)),
    }
}

/// Renders rich text as Discord markdown of at most `max` characters, cutting text at a word.
/// Links are kept whole: text before a link is cut to leave room for it (a citation's "Read
/// the source" must survive a long snippet and a long URL), and a link too long for `max` even
/// alone is shown as its text without the link.
pub fn render_rich(rich: &Rich, max: usize) -> String {
    let rendered: Vec<String> = rich.0.iter().map(|i| render_inline(i, None)).collect();
    if rendered.iter().map(|r| chars(r)).sum::<usize>() <= max {
        return rendered.concat();
    }
    let keeps = |k: usize| matches!(rich.0[k], Inline::Link { .. }) && chars(&rendered[k]) <= max;
    let mut out = String::new();
    let mut used = 0;
    for (k, inline) in rich.0.iter().enumerate() {
        let reserved: usize = (k + 1..rich.0.len())
            .filter(|&j| keeps(j))
            .map(|j| chars(&rendered[j]))
            .sum();
        let room = max.saturating_sub(used + reserved);
        let whole = &rendered[k];
        if let Inline::Link { text, .. } = inline {
            let piece = if keeps(k) {
                whole.clone()
            } else {
                escape(text)
            };
            if chars(&piece) <= max.saturating_sub(used) {
                used += chars(&piece);
                out.push_str(&piece);
            }
            continue;
        }
        if chars(whole) <= room {
            out.push_str(whole);
            used += chars(whole);
            continue;
        }
        // Shrink the raw text until its escaped form and an ellipsis fit.
        let mut raw = room;
        while raw > 0 {
            let piece = render_inline(inline, Some(raw));
            if chars(&piece) < room {
                used += chars(&piece) + 1;
                out.push_str(&piece);
                out.push('…');
                break;
            }
            raw = raw * 3 / 4;
        }
    }
    out
}

fn colour(tone: Tone) -> Colour {
    match tone {
        Tone::Answer => Colour::new(0x005EB8),     // NHS blue
        Tone::NotCovered => Colour::new(0x768692), // NHS mid grey
        Tone::Info => Colour::new(0x41B6E6),       // NHS light blue
        Tone::Error => Colour::new(0xDA291C),      // NHS red
        Tone::Support => Colour::new(0x009639),    // NHS green
    }
}

/// The rendered parts of an embed, all within limits; kept as strings so tests can check them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedParts {
    /// Title, if any.
    pub title: Option<String>,
    /// Description.
    pub description: String,
    /// (name, value) pairs.
    pub fields: Vec<(String, String)>,
    /// Footer, if any.
    pub footer: Option<String>,
}

impl EmbedParts {
    /// Characters Discord counts towards the 6000 total.
    pub fn total_chars(&self) -> usize {
        self.title.as_deref().map_or(0, chars)
            + chars(&self.description)
            + self
                .fields
                .iter()
                .map(|(n, v)| chars(n) + chars(v))
                .sum::<usize>()
            + self.footer.as_deref().map_or(0, chars)
    }
}

/// Lays out a reply within every embed limit.
pub fn layout(reply: &Reply) -> EmbedParts {
    let title = reply
        .title
        .as_deref()
        .map(|t| heading_limited(t, limits::TITLE));
    let footer = reply
        .footer
        .as_deref()
        .map(|f| truncate_words(f, limits::FOOTER.min(500)));
    let fixed = title.as_deref().map_or(0, chars) + footer.as_deref().map_or(0, chars);
    let mut budget = limits::EMBED_TOTAL - fixed;

    let wanted_fields: usize = reply
        .fields
        .iter()
        .take(limits::FIELDS)
        .map(|f| {
            chars(&f.name).min(limits::FIELD_NAME)
                + f.value
                    .plain_text()
                    .chars()
                    .count()
                    .min(limits::FIELD_VALUE)
        })
        .sum();
    // The description may use what the fields leave, but always leaves the fields half.
    let description_max = limits::DESCRIPTION.min(budget - wanted_fields.min(budget / 2));
    let mut description = String::new();
    if let Some(echo) = &reply.echo {
        let echo = echo.split_whitespace().collect::<Vec<_>>().join(" ");
        let echo = escape_plain_limited(&echo, ECHO_CHARS);
        description.push_str(&format!("> {echo}\n\n"));
    }
    let used = chars(&description);
    let description = description + &render_rich(&reply.body, description_max.saturating_sub(used));
    budget -= chars(&description);

    let mut fields = Vec::new();
    for f in reply.fields.iter().take(limits::FIELDS) {
        let name = heading_limited(&f.name, limits::FIELD_NAME);
        let name = if name.trim().is_empty() {
            "\u{200B}".to_string()
        } else {
            name
        };
        let left = budget.saturating_sub(chars(&name));
        if left < 20 {
            break; // No room for a useful field; stop rather than show a stub.
        }
        let value = render_rich(&f.value, limits::FIELD_VALUE.min(left));
        let value = if value.trim().is_empty() {
            "\u{200B}".to_string()
        } else {
            value
        };
        budget -= chars(&name) + chars(&value);
        fields.push((name, value));
    }
    EmbedParts {
        title,
        description,
        fields,
        footer,
    }
}

/// Escapes a heading and cuts it at a word so the escaped form fits `max`.
fn heading_limited(s: &str, max: usize) -> String {
    let mut raw = max;
    loop {
        let out = escape_heading(&truncate_words(s, raw));
        if chars(&out) <= max || raw == 0 {
            return out;
        }
        raw = raw * 3 / 4;
    }
}

/// Escapes plain text and cuts it so the escaped form fits `max`.
fn escape_plain_limited(s: &str, max: usize) -> String {
    render_rich(&Rich::plain(s), max)
}

/// The embed for a reply.
pub fn embed(reply: &Reply) -> CreateEmbed {
    let parts = layout(reply);
    let mut e = CreateEmbed::new()
        .colour(colour(reply.tone))
        .description(parts.description);
    if let Some(t) = parts.title {
        e = e.title(t);
    }
    for (name, value) in parts.fields {
        e = e.field(name, value, false);
    }
    if let Some(f) = parts.footer {
        e = e.footer(CreateEmbedFooter::new(f));
    }
    e
}

/// What a feedback button's `custom_id` starts with: `ohwb-fb:up:<answer id>`.
pub const FEEDBACK_PREFIX: &str = "ohwb-fb:";

/// What a "Send to the OH team" button's `custom_id` starts with: `ohwb-fw:anon:<offer id>`
/// or `ohwb-fw:named:<offer id>`.
pub const FORWARD_PREFIX: &str = "ohwb-fw:";

/// The buttons under a reply: "Helpful" / "Not helpful" under an answer that can be voted on,
/// "Send to the OH team" / "Send with my name" under a declined question that can be sent.
fn buttons(reply: &Reply) -> Vec<CreateActionRow> {
    let button = |id: String, label: &str| {
        CreateButton::new(id)
            .label(label)
            .style(ButtonStyle::Secondary)
    };
    let mut rows = Vec::new();
    // custom_id is at most 100 characters; an id is 32.
    if let Some(id) = reply.feedback.as_ref().filter(|id| id.len() <= 80) {
        rows.push(CreateActionRow::Buttons(vec![
            button(format!("{FEEDBACK_PREFIX}up:{id}"), "Helpful"),
            button(format!("{FEEDBACK_PREFIX}down:{id}"), "Not helpful"),
        ]));
    }
    if let Some(id) = reply.forward_offer.as_ref().filter(|id| id.len() <= 80) {
        rows.push(CreateActionRow::Buttons(vec![
            button(format!("{FORWARD_PREFIX}anon:{id}"), "Send to the OH team"),
            button(format!("{FORWARD_PREFIX}named:{id}"), "Send with my name"),
        ]));
    }
    rows
}

/// What a button press asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Press<'a> {
    /// A vote on an answer.
    Feedback {
        /// "up" or "down".
        vote: &'a str,
        /// The answer's id.
        answer: &'a str,
    },
    /// Send a declined question to the OH team.
    Forward {
        /// The offer's id.
        offer: &'a str,
        /// With the asker's name.
        named: bool,
    },
}

/// The press a button's `custom_id` carries, or `None` for any other id.
pub fn parse_press(custom_id: &str) -> Option<Press<'_>> {
    if let Some(rest) = custom_id.strip_prefix(FEEDBACK_PREFIX) {
        let (vote, answer) = rest.split_once(':')?;
        return (matches!(vote, "up" | "down") && !answer.is_empty())
            .then_some(Press::Feedback { vote, answer });
    }
    let rest = custom_id.strip_prefix(FORWARD_PREFIX)?;
    let (kind, offer) = rest.split_once(':')?;
    let named = match kind {
        "anon" => false,
        "named" => true,
        _ => return None,
    };
    (!offer.is_empty()).then_some(Press::Forward { offer, named })
}

/// An immediate interaction response carrying `reply`.
pub fn message(reply: &Reply) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .embed(embed(reply))
        .components(buttons(reply))
        .ephemeral(reply.private)
        .allowed_mentions(CreateAllowedMentions::new())
}

/// The edit that fills in a deferred response.
pub fn edit(reply: &Reply) -> EditInteractionResponse {
    EditInteractionResponse::new()
        .embed(embed(reply))
        .components(buttons(reply))
        .allowed_mentions(CreateAllowedMentions::new())
}

/// A follow-up message carrying `reply` (used when a placeholder's visibility differs from
/// the reply's).
pub fn followup(reply: &Reply) -> CreateInteractionResponseFollowup {
    CreateInteractionResponseFollowup::new()
        .embed(embed(reply))
        .components(buttons(reply))
        .ephemeral(reply.private)
        .allowed_mentions(CreateAllowedMentions::new())
}

/// Autocomplete suggestions within Discord's limits.
pub fn choices(choices: &[Choice]) -> CreateAutocompleteResponse {
    choices
        .iter()
        .take(MAX_CHOICES)
        .fold(CreateAutocompleteResponse::new(), |r, c| {
            r.add_string_choice(
                truncate_words(&c.name, limits::CHOICE),
                truncate_value(&c.value),
            )
        })
}

/// A choice value is matched by the bot later, so it is cut, never ellipsised.
fn truncate_value(v: &str) -> String {
    v.chars().take(limits::CHOICE).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Field;

    fn huge_reply() -> Reply {
        let long_word_soup = "occupational health ".repeat(2000);
        let fields = (0..40)
            .map(|i| Field {
                name: format!("[{i}] {}", "A very long document title ".repeat(40)),
                value: Rich::plain(long_word_soup.clone())
                    .strong("matched ".repeat(200))
                    .link("Read the source", "https://example.org/a (b)"),
            })
            .collect();
        Reply {
            private: true,
            tone: Tone::Answer,
            title: Some("T".repeat(1000)),
            echo: Some("@everyone **bold** <@123> ".repeat(400)),
            body: Rich::plain(long_word_soup.clone()),
            fields,
            footer: Some("f ".repeat(3000)),
            escalate: false,
            feedback: None,
            forward_offer: None,
            forward: None,
        }
    }

    #[test]
    fn every_limit_holds_for_text_longer_than_all_of_them() {
        let parts = layout(&huge_reply());
        assert!(chars(parts.title.as_ref().unwrap()) <= limits::TITLE);
        assert!(chars(&parts.description) <= limits::DESCRIPTION);
        assert!(parts.fields.len() <= limits::FIELDS);
        assert!(!parts.fields.is_empty(), "citations survive a long body");
        for (n, v) in &parts.fields {
            assert!(chars(n) <= limits::FIELD_NAME, "{}", chars(n));
            assert!(chars(v) <= limits::FIELD_VALUE, "{}", chars(v));
            assert!(!n.is_empty() && !v.is_empty());
        }
        assert!(chars(parts.footer.as_ref().unwrap()) <= limits::FOOTER);
        assert!(
            parts.total_chars() <= limits::EMBED_TOTAL,
            "{}",
            parts.total_chars()
        );
        assert!(parts.description.ends_with('…'));
    }

    #[test]
    fn user_text_cannot_ping_or_format() {
        let r = Reply {
            echo: Some("@everyone **hi** [x](https://evil) <@123> # head".into()),
            ..Reply::private(Tone::Info, Rich::plain("`code` _i_ ~~s~~ > q"))
        };
        let d = layout(&r).description;
        assert!(!d.contains("@everyone"), "{d}");
        assert!(d.contains("@\u{200B}everyone"));
        assert!(d.contains(r"\*\*hi\*\*"), "{d}");
        assert!(d.contains(r"\[x\]\(https\:"), "{d}");
        assert!(d.contains(r"\<@"), "{d}");
        assert!(d.contains(r"\`code\`"), "{d}");
    }

    #[test]
    fn messages_never_allow_mentions_and_respect_privacy() {
        let r = Reply::private(Tone::Info, Rich::plain("x"));
        let v = serde_json::to_value(message(&r)).unwrap();
        assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
        assert_eq!(v["flags"], 64);
        let shared = Reply {
            private: false,
            ..r
        };
        let v = serde_json::to_value(message(&shared)).unwrap();
        assert!(v.get("flags").is_none() || v["flags"] == 0, "{v}");
        let v = serde_json::to_value(edit(&shared)).unwrap();
        assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
    }

    #[test]
    fn strong_runs_and_links_render_as_markdown() {
        let rich = Rich::plain("a ")
            .strong("b")
            .text(" ")
            .link("src", "https://x.org/p(1)");
        assert_eq!(
            render_rich(&rich, 100),
            "a **b** [src](https://x.org/p%281%29)"
        );
        // A link that does not fit is dropped whole, never cut into broken markdown.
        let cut = render_rich(&rich, 12);
        assert!(chars(&cut) <= 12 && !cut.contains('['), "{cut}");
    }

    #[test]
    fn autocomplete_stays_within_25_choices_of_100_chars() {
        let many: Vec<Choice> = (0..60)
            .map(|i| Choice {
                name: format!("{i} {}", "x".repeat(300)),
                value: "y".repeat(300),
            })
            .collect();
        let v = serde_json::to_value(choices(&many)).unwrap();
        let list = v["choices"].as_array().unwrap();
        assert_eq!(list.len(), 25);
        for c in list {
            assert!(chars(c["name"].as_str().unwrap()) <= 100);
            assert!(chars(c["value"].as_str().unwrap()) <= 100);
        }
    }

    #[test]
    fn a_long_snippet_never_pushes_out_the_source_link() {
        let url = format!("https://www.england.nhs.uk/{}", "long-path/".repeat(40));
        let rich = Rich::plain("word ".repeat(300))
            .text("\n")
            .link("Read the source", url.clone());
        let out = render_rich(&rich, 1024);
        assert!(chars(&out) <= 1024, "{}", chars(&out));
        assert!(
            out.ends_with(&format!("[Read the source]({})", link_target(&url))),
            "{out}"
        );
        assert!(out.contains('…'));
        // A link longer than the whole field is shown as its text.
        let huge = Rich::plain("a ").link(
            "Read the source",
            format!("https://x.org/{}", "p".repeat(2000)),
        );
        let out = render_rich(&huge, 1024);
        assert!(
            out.contains("Read the source") && !out.contains("https://"),
            "{out}"
        );
    }
}
