//! What the bot remembers about its replies, and what it tells the OH team about them:
//! counting each `/ask`, votes (`/feedback`, the buttons under an answer) and `/report`.
//!
//! Invariants:
//! - Recording never changes or fails a reply: a database error is logged (without the
//!   question) and the reply goes out as it is.
//! - A distress or help message is only counted; its text is never passed to the store.
//! - `/report` is for admins, and shows declined questions only as words shared by at least
//!   `[insights] min_group` of them.

use crate::answer::{self, Answer};
use crate::metrics::Outcome;
use crate::reply::{Field, Reply, Rich, Tone};
use crate::store::{Report, Vote};

use super::admin::Need;
use super::{Bot, Invocation};

/// Days `/report` covers unless asked otherwise, and the most it covers.
const REPORT_DAYS: u32 = 30;
const MAX_REPORT_DAYS: u32 = 366;

impl Bot {
    /// Counts an `/ask` that ended as `outcome`; for an answer, remembers its passages and sets
    /// the reply's feedback id; for a "not covered", stores the scrubbed question when
    /// `[insights] record_declined` is on.
    pub(super) fn remember(&self, outcome: Outcome, a: Option<&Answer>, reply: &mut Reply) {
        let store = self.store();
        if let Err(e) = store.count(outcome) {
            tracing::warn!(error = %e, "could not count a reply");
        }
        let Some(a) = a else { return };
        match outcome {
            Outcome::Answered => {
                let passages: Vec<String> =
                    a.citations.iter().map(|c| c.passage_id.clone()).collect();
                match store.record_answer(&passages) {
                    Ok(id) => reply.feedback = Some(id),
                    Err(e) => tracing::warn!(error = %e, "could not record an answer for feedback"),
                }
            }
            Outcome::Declined if a.summary == answer::NOT_COVERED => {
                if let Err(e) = store.record_declined(&a.question) {
                    tracing::warn!(error = %e, "could not record a declined question");
                }
            }
            _ => {}
        }
    }

    /// `/feedback vote:up|down answer:<id>`: one vote per answer per person.
    pub(super) fn feedback(&self, inv: &Invocation) -> Reply {
        let private = |tone, text: &str| Reply::private(tone, Rich::plain(text));
        let helpful = match inv.str("vote").map(str::to_lowercase).as_deref() {
            Some("up" | "yes" | "helpful" | "👍") => true,
            Some("down" | "no" | "not helpful" | "👎") => false,
            _ => return private(Tone::Error, "Say /feedback up or /feedback down."),
        };
        let answer = inv.str("answer").unwrap_or_default();
        if answer.is_empty() {
            return private(
                Tone::Error,
                "There is no answer to give feedback on yet: ask something first.",
            );
        }
        if inv.caller.person_key.is_empty() {
            return private(
                Tone::Error,
                "Feedback needs to know it is you voting once; it cannot be given from here.",
            );
        }
        match self.store().vote(answer, &inv.caller.person_key, helpful) {
            Ok(Vote::Recorded) => {
                self.metrics().record_vote(helpful);
                private(
                    Tone::Info,
                    "Thank you: your feedback was recorded (only that this answer was or was not \
                     helpful, never who you are).",
                )
            }
            Ok(Vote::AlreadyVoted) => private(
                Tone::Info,
                "You have already given feedback on this answer; the first vote stands.",
            ),
            Ok(Vote::UnknownAnswer) => private(
                Tone::Error,
                "I can't find that answer any more, so the vote was not recorded.",
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not record a vote");
                private(
                    Tone::Error,
                    "Sorry, your feedback could not be saved just now. Please try again later.",
                )
            }
        }
    }

    /// `/report [days]` (admins).
    pub(super) fn report_command(&self, inv: &Invocation) -> Reply {
        if let Some(refusal) = self.refuse(&inv.caller, Need::Admin, "/report") {
            return refusal;
        }
        let days = inv
            .int("days")
            .map_or(REPORT_DAYS, |d| d.clamp(1, MAX_REPORT_DAYS as i64) as u32);
        match self.store().report(days) {
            Ok(r) => report_reply(&r),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the report");
                Reply::private(
                    Tone::Error,
                    Rich::plain("The report could not be read from the database just now."),
                )
            }
        }
    }
}

/// The report as a reply: totals, the last days, unhelpful passages, declined-question words.
pub fn report_reply(r: &Report) -> Reply {
    let t = &r.totals;
    let body = Rich::plain(format!(
        "Since {}: {} answered, {} not covered, {} help replies, {} crisis replies.",
        r.since, t.answered, t.declined, t.help, t.crisis
    ));
    let mut fields = Vec::new();
    let recent: Vec<String> = r
        .days
        .iter()
        .rev()
        .take(7)
        .map(|d| {
            format!(
                "{}: {} answered, {} not covered, {} help, {} crisis",
                d.day, d.answered, d.declined, d.help, d.crisis
            )
        })
        .collect();
    fields.push(Field {
        name: "Last 7 days with replies".into(),
        value: Rich::plain(if recent.is_empty() {
            "No replies yet.".to_string()
        } else {
            recent.join("\n")
        }),
    });
    fields.push(Field {
        name: "Passages most often voted not helpful".into(),
        value: Rich::plain(if r.not_helpful.is_empty() {
            "None yet.".to_string()
        } else {
            r.not_helpful
                .iter()
                .map(|p| {
                    format!(
                        "{}: {} not helpful, {} helpful",
                        p.passage, p.not_helpful, p.helpful
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
    });
    fields.push(Field {
        name: format!(
            "What declined questions ask about (words shared by at least {})",
            r.min_group
        ),
        value: Rich::plain(if r.declined_groups.is_empty() {
            format!(
                "Nothing to show ({} declined questions stored; recording is set by \
                 [insights] record_declined).",
                r.declined_stored
            )
        } else {
            r.declined_groups
                .iter()
                .map(|g| {
                    let with: Vec<String> =
                        g.with.iter().map(|(w, n)| format!("{w} ({n})")).collect();
                    if with.is_empty() {
                        format!("{}: {} questions", g.word, g.questions)
                    } else {
                        format!(
                            "{}: {} questions, with {}",
                            g.word,
                            g.questions,
                            with.join(", ")
                        )
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
    });
    Reply {
        title: Some("Report".into()),
        fields,
        ..Reply::private(Tone::Info, body)
    }
}
