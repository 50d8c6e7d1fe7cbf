//! A [`Reply`] as a Teams message: an Adaptive Card (1.4) with the title, the asker's words,
//! the body, one block per field (the numbered citations with section, page and link), the
//! small print, and "Helpful" / "Not helpful" buttons (`Action.Submit`) under an answer.
//!
//! Invariants:
//! - Text is never parsed as markup: every run is a `RichTextBlock` `TextRun`, which Teams
//!   shows literally, so neither a question nor a document can format, link or hide text; a
//!   link is a run whose `selectAction` opens the URL the reply gave.
//! - Nothing can ping anyone: a Teams mention needs an `msteams.entities` mention entry, and no
//!   card or message here ever has one.
//! - A card stays well inside Teams' ~28 KB message limit: its text has a budget of
//!   [`TEXT_BUDGET`] characters, cut at a word with "…" when a reply is longer.

use serde_json::{json, Value};

use super::activity::FEEDBACK_TAG;
use crate::reply::{Inline, Reply, Rich, Tone};

/// Characters of text in one card (JSON overhead per run is small and bounded).
pub const TEXT_BUDGET: usize = 12_000;

/// Counts down the card's text budget.
struct Budget(usize);

impl Budget {
    /// `s`, or as much of it as the budget allows.
    fn take(&mut self, s: &str) -> String {
        let n = s.chars().count();
        if n <= self.0 {
            self.0 -= n;
            return s.to_string();
        }
        let cut = crate::text::truncate_words(s, self.0.saturating_sub(1).max(1));
        self.0 = 0;
        cut
    }
}

fn runs(rich: &Rich, budget: &mut Budget) -> Vec<Value> {
    let mut out = Vec::new();
    for inline in &rich.0 {
        if budget.0 == 0 {
            break;
        }
        out.push(match inline {
            Inline::Text(t) => json!({"type": "TextRun", "text": budget.take(t)}),
            Inline::Strong(t) => {
                json!({"type": "TextRun", "text": budget.take(t), "weight": "Bolder"})
            }
            Inline::Link { text, url } => json!({
                "type": "TextRun",
                "text": budget.take(text),
                "color": "Accent",
                "underline": true,
                "selectAction": {"type": "Action.OpenUrl", "url": url},
            }),
        });
    }
    out
}

fn paragraph(rich: &Rich, budget: &mut Budget) -> Value {
    json!({"type": "RichTextBlock", "inlines": runs(rich, budget)})
}

fn plain(text: &str, budget: &mut Budget, style: Value) -> Value {
    let mut run = json!({"type": "TextRun", "text": budget.take(text)});
    if let (Some(run), Some(style)) = (run.as_object_mut(), style.as_object()) {
        run.extend(style.clone());
    }
    json!({"type": "RichTextBlock", "inlines": [run]})
}

/// The title's colour for a kind of reply.
fn colour(tone: Tone) -> &'static str {
    match tone {
        Tone::Answer | Tone::Info => "Default",
        Tone::NotCovered => "Warning",
        Tone::Error => "Attention",
        Tone::Support => "Accent",
    }
}

/// The Adaptive Card for `reply`.
pub fn card(reply: &Reply) -> Value {
    let mut budget = Budget(TEXT_BUDGET);
    let mut body = Vec::new();
    if let Some(title) = &reply.title {
        let style = json!({"weight": "Bolder", "size": "Medium", "color": colour(reply.tone)});
        body.push(plain(title, &mut budget, style));
    }
    if let Some(echo) = &reply.echo {
        body.push(plain(
            echo,
            &mut budget,
            json!({"isSubtle": true, "italic": true}),
        ));
    }
    if !reply.body.0.is_empty() {
        body.push(paragraph(&reply.body, &mut budget));
    }
    for field in &reply.fields {
        let mut heading = plain(&field.name, &mut budget, json!({"weight": "Bolder"}));
        heading["separator"] = json!(true);
        body.push(heading);
        body.push(paragraph(&field.value, &mut budget));
    }
    if let Some(footer) = &reply.footer {
        body.push(plain(
            footer,
            &mut budget,
            json!({"isSubtle": true, "size": "Small"}),
        ));
    }
    let mut card = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": body,
    });
    if let Some(answer) = &reply.feedback {
        let button = |title: &str, vote: &str| {
            json!({
                "type": "Action.Submit",
                "title": title,
                "data": {"ohwb": FEEDBACK_TAG, "vote": vote, "answer": answer},
            })
        };
        card["actions"] = json!([button("Helpful", "up"), button("Not helpful", "down")]);
    }
    card
}

/// A message activity carrying `reply` as a card.
pub fn message(reply: &Reply) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": card(reply),
        }],
    })
}

/// A plain-text message activity (shown literally).
pub fn notice(text: &str) -> Value {
    json!({"type": "message", "textFormat": "plain", "text": text})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Field;

    fn answer() -> Reply {
        let mut r = Reply::private(
            Tone::Answer,
            Rich::plain("The strategy has **four** ")
                .strong("ambitions")
                .text(" <at>x</at>"),
        );
        r.title = Some("What is OHWB?".into());
        r.echo = Some("what is [OHWB](http://evil.example)?".into());
        r.fields.push(Field {
            name: "Sources".into(),
            value: Rich::plain("[1] ").link(
                "Growing OHWB Together, p. 7",
                "https://www.england.nhs.uk/x",
            ),
        });
        r.feedback = Some("a1".into());
        r
    }

    #[test]
    fn text_is_literal_links_come_only_from_the_reply_and_nothing_mentions() {
        let card = card(&answer());
        let text = card.to_string();
        assert!(!text.contains("msteams"), "no mention entities: {text}");
        // The echo is one literal run, not a link.
        let echo = &card["body"][1]["inlines"][0];
        assert_eq!(echo["text"], "what is [OHWB](http://evil.example)?");
        assert!(echo.get("selectAction").is_none());
        let links: Vec<&Value> = card["body"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["inlines"].as_array().unwrap())
            .filter_map(|r| r.get("selectAction"))
            .collect();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0]["url"], "https://www.england.nhs.uk/x");
        assert_eq!(card["body"][2]["inlines"][1]["weight"], "Bolder");
    }

    #[test]
    fn answers_carry_feedback_buttons_and_other_replies_none() {
        let c = card(&answer());
        assert_eq!(c["actions"][0]["data"]["vote"], "up");
        assert_eq!(c["actions"][1]["data"]["answer"], "a1");
        assert_eq!(c["actions"][1]["data"]["ohwb"], FEEDBACK_TAG);
        let mut support = answer();
        support.feedback = None;
        assert!(card(&support).get("actions").is_none());
    }

    #[test]
    fn a_huge_reply_stays_within_the_budget() {
        let mut r = answer();
        r.body = Rich::plain("word ".repeat(20_000));
        for _ in 0..30 {
            r.fields.push(Field {
                name: "x".repeat(300),
                value: Rich::plain("y ".repeat(3000)),
            });
        }
        let size = serde_json::to_string(&message(&r)).unwrap().len();
        assert!(size < 20_000, "{size} bytes");
    }
}
