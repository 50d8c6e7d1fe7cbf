//! `/ask`, `/sources` and `/help`: what every member may use.

use std::time::{Duration, Instant};

use crate::answer::{self, Answer, AskOptions, Citation};
use crate::index::DocInfo;
use crate::metrics::Outcome;
use crate::reply::{Field, Reply, Rich, Tone};
use crate::safety::Need;
use crate::text::truncate_words;
use crate::Result;

use super::support::ask_a_person;
use super::{support_first, Bot, Invocation, Surface};

impl Bot {
    /// `/ask`, and how it ended for the metrics (`None`: nothing was asked, or the rate limit
    /// refused it).
    pub(super) fn ask(&self, inv: &Invocation) -> Result<(Reply, Option<Outcome>)> {
        let question = inv.str("question").unwrap_or_default();
        if question.is_empty() {
            let r = Reply::private(Tone::Error, Rich::plain(answer::EMPTY_QUESTION));
            return Ok((r, None));
        }
        // Support comes before any citation: distress gets the crisis reply, help-seeking gets
        // local contacts first. Checked before `source`, which must not hide either, and
        // before the rate limit, which must never hold back the crisis reply.
        let index = self.index();
        let (need, reading) = self.assess(question);
        if let Some(mut r) =
            support_first(self.config(), &index, need, question, !inv.flag("share"))?
        {
            let outcome = match need {
                Need::Distress => Outcome::Crisis,
                _ => Outcome::Help,
            };
            self.remember(outcome, None, &mut r);
            return Ok((r, Some(outcome)));
        }
        if !inv.caller.operator && !inv.caller.person_key.is_empty() {
            if let Err(wait) = self.limiter.check(&inv.caller.person_key, Instant::now()) {
                self.metrics.record_rate_limited();
                return Ok((rate_limited(wait), None));
            }
        }
        let document = match inv.str("source").filter(|s| !s.is_empty()) {
            None => None,
            Some(wanted) => {
                match index.manifest().find_document(wanted) {
                    Some(d) => Some(d.slug.clone()),
                    None => {
                        let mut r = Reply::private(
                        Tone::Error,
                        Rich::plain("I don't have a document called ")
                            .text(format!("“{}”", truncate_words(wanted, 100)))
                            .text(". Pick one from the suggestions, or use /sources to see them all."),
                    );
                        r.title = Some("Unknown source".into());
                        return Ok((r, None));
                    }
                }
            }
        };
        let opts = AskOptions {
            document,
            reading,
            ..AskOptions::default()
        };
        let a = answer::answer(&index, question, &self.config.answer, &opts)?;
        let mut reply = answer_reply(&a, !inv.flag("share"), inv.surface);
        if !a.answered && a.summary == answer::NOT_COVERED {
            reply.fields.push(ask_a_person(self.config()));
            self.offer_forward(question, &mut reply);
        }
        let outcome = if a.answered {
            Outcome::Answered
        } else {
            Outcome::Declined
        };
        self.remember(outcome, Some(&a), &mut reply);
        Ok((reply, Some(outcome)))
    }

    pub(super) fn sources(&self) -> Reply {
        let index = self.index();
        let docs = &index.manifest().documents;
        let (resources, mut documents): (Vec<&DocInfo>, Vec<&DocInfo>) =
            docs.iter().partition(|d| d.kind == "resource");
        // The strategy first, then its background, each alphabetically.
        documents.sort_by_key(|d| (d.kind != "strategy", d.title.clone()));
        let today = crate::dates::PartialDate::today();
        let mut fields: Vec<Field> = documents
            .iter()
            .take(MAX_SOURCE_FIELDS)
            .map(|d| Field {
                name: d.title.clone(),
                value: Rich::new().link("Source", d.url.clone()).text(format!(
                    " · {} · {} passages · {}{}",
                    d.kind,
                    d.passages,
                    d.dated(),
                    if d.review_overdue(&today) {
                        " · ⚠ review overdue"
                    } else {
                        ""
                    }
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
}

/// The polite refusal when someone has asked more than `[limits] asks_per_minute`.
fn rate_limited(wait: Duration) -> Reply {
    let secs = wait.as_secs().max(1);
    let mut r = Reply::private(
        Tone::Error,
        Rich::plain(format!(
            "You've asked a lot of questions in the last minute, so I'm pausing for a moment. \
             Please ask again in {secs} second{}. If you need support now, just say so: \
             that is always answered.",
            if secs == 1 { "" } else { "s" }
        )),
    );
    r.title = Some("One moment, please".into());
    r
}

/// /sources shows at most this many documents, leaving one field for "and N more".
const MAX_SOURCE_FIELDS: usize = 24;

/// The reply for an answer: the answer line, then one field per citation.
pub fn answer_reply(a: &Answer, private: bool, surface: Surface) -> Reply {
    // Only slash commands have a `share` option to point to.
    let footer = if private && surface == Surface::Slash {
        "Only you can see this. Add share:true to post an answer for the channel."
    } else {
        "Quoted from the documents above: check the source before acting on it."
    };
    if !a.answered {
        return Reply {
            private,
            tone: Tone::NotCovered,
            title: Some(if a.summary == answer::TOO_LONG {
                "Please ask a shorter question".into()
            } else {
                "Not covered by the strategy".into()
            }),
            echo: Some(a.question.clone()),
            body: Rich::plain(a.summary.clone()),
            fields: Vec::new(),
            footer: private.then(|| footer.to_string()),
            escalate: false,
            feedback: None,
            forward_offer: None,
            forward: None,
        };
    }
    let fields = citation_fields(&a.citations);
    Reply {
        private,
        tone: Tone::Answer,
        title: None,
        echo: Some(a.question.clone()),
        body: Rich::plain(a.summary.clone()),
        fields,
        footer: Some(footer.into()),
        escalate: false,
        feedback: None,
        forward_offer: None,
        forward: None,
    }
}

/// One field per citation: "[n] Document › Section", the snippet with matched words strong,
/// and a link to the source.
pub(super) fn citation_fields(citations: &[Citation]) -> Vec<Field> {
    citations
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
                .link("Read the source", c.url.clone())
                .text(citation_details(c));
            Field {
                name: citation_name(c),
                value,
            }
        })
        .collect()
}

/// What follows a citation's link: its page, if it has one, and the document's date, so a
/// reader can find the passage in the original and judge how current it is.
pub fn citation_details(c: &Citation) -> String {
    let mut out = String::new();
    if let Some(n) = c.page {
        out.push_str(&format!(" · page {n}"));
    }
    if !c.dated.is_empty() {
        out.push_str(&format!(" · {}", c.dated));
    }
    out
}

/// A citation's heading: `[1] Document › Section`, with a posted resource marked as one so
/// it can never pass for the strategy.
pub fn citation_name(c: &Citation) -> String {
    if c.kind == "resource" {
        format!(
            "[{}] Posted by the OH team: {} › {}",
            c.rank, c.document, c.section
        )
    } else {
        format!("[{}] {} › {}", c.rank, c.document, c.section)
    }
}

pub(super) fn help(surface: Surface) -> Reply {
    if surface == Surface::Conversation {
        return conversation_help();
    }
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
            name: "/resource list [tag]".into(),
            value: Rich::plain("Resource links posted by your OH team."),
        },
        Field {
            name: "/resource add, /resource remove (OH team)".into(),
            value: Rich::plain(
                "Post a link with a title and summary, or remove one. It is searchable at once.",
            ),
        },
        Field {
            name: "/reindex (admins)".into(),
            value: Rich::plain("Rebuild the search index after the documents change."),
        },
        Field {
            name: "/report (admins)".into(),
            value: Rich::plain(
                "Replies per day, passages voted not helpful, and what unanswered questions \
                 ask about (only words many of them share).",
            ),
        },
        Field {
            name: "Helpful / Not helpful".into(),
            value: Rich::plain(
                "The buttons under an answer tell the OH team whether it helped (console: \
                 /feedback up or /feedback down). Only the vote is kept, never who gave it.",
            ),
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

/// Help where a message is a question (Teams): no slash commands, no options.
fn conversation_help() -> Reply {
    let body = Rich::plain(
        "I answer questions about NHS England's Growing Occupational Health and Wellbeing \
         Together strategy and its background documents, quoting them with links. I only say \
         what the documents say; if they don't cover your question, I tell you so.",
    );
    let field = |name: &str, value: &str| Field {
        name: name.into(),
        value: Rich::plain(value),
    };
    let fields = vec![
        field(
            "Ask a question",
            "Send me your question in your own words here. In a channel, @mention me and I \
             answer in the thread for everyone there; if what you write sounds like you are in \
             distress, I answer only in our private chat.",
        ),
        field(
            "sources",
            "Send the word sources to list the documents I answer from.",
        ),
        field(
            "Helpful / Not helpful",
            "The buttons under an answer tell the OH team whether it helped. Only the vote is \
             kept, never who gave it.",
        ),
        field(
            "Resources, reindexing and reports",
            "Your OH team and admins manage these from the bot's other chat or its host.",
        ),
        field("help", "This message."),
    ];
    Reply {
        title: Some("How to use this bot".into()),
        fields,
        ..Reply::private(Tone::Info, body)
    }
}
