//! The console front end: runs the chat commands from lines of text, without Discord, and
//! prints what the bot would post as readable text.
//!
//! Invariants:
//! - It goes through the same [`Invocation::parse`] → [`Bot::execute`] path as every front end
//!   and only renders the [`Reply`]; no command behaviour lives here. The console user is the
//!   operator on the host, so it runs with no role restrictions of its own.
//! - What it prints cannot act on a terminal: control characters from a document, a posted
//!   resource or the input are shown escaped ([`for_terminal`]).
//! - A line that is not valid UTF-8 is reported by number and skipped; the session goes on.

use std::io::{BufRead, Write};

use crate::commands::{Bot, Caller, Invocation};
use crate::reply::{Inline, Reply, Rich};
pub use crate::text::for_terminal;

/// Renders a reply as plain text, the way the console prints it.
pub fn render(reply: &Reply) -> String {
    let mut s = String::new();
    s.push_str(if reply.private {
        "(only you can see this)\n"
    } else {
        "(posted to the channel)\n"
    });
    if let Some(t) = &reply.title {
        s.push_str(&format!("== {t} ==\n"));
    }
    if let Some(e) = &reply.echo {
        let e = e.split_whitespace().collect::<Vec<_>>().join(" ");
        s.push_str(&format!("> {}\n\n", crate::text::truncate_words(&e, 300)));
    }
    s.push_str(&rich(&reply.body));
    s.push('\n');
    for f in &reply.fields {
        s.push_str(&format!("\n{}\n", f.name));
        for line in rich(&f.value).lines() {
            s.push_str(&format!("    {line}\n"));
        }
    }
    if let Some(f) = &reply.footer {
        s.push_str(&format!("\n-- {f}\n"));
    }
    if reply.feedback.is_some() {
        s.push_str("-- Was this helpful? /feedback up or /feedback down\n");
    }
    s
}

fn rich(r: &Rich) -> String {
    r.0.iter()
        .map(|i| match i {
            Inline::Text(t) => t.clone(),
            Inline::Strong(t) => format!("**{t}**"),
            Inline::Link { text, url } => format!("{text}: {url}"),
        })
        .collect()
}

/// Reads commands from `input` until end of input or `/quit`, writing each reply to `output`.
/// A bad line gets a message and the loop goes on; only I/O errors end it early.
pub fn run(bot: &Bot, mut input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    // The console is one person: votes are deduped per console session's operator.
    let caller = Caller {
        person_key: "console:operator".into(),
        ..Caller::operator("console")
    };
    // The last answer that can be voted on: `/feedback up` refers to it.
    let mut last_answer: Option<String> = None;
    let mut bytes = Vec::new();
    for number in 1.. {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes)? == 0 {
            break;
        }
        let Ok(line) = std::str::from_utf8(&bytes) else {
            writeln!(
                output,
                "line {number} is not valid UTF-8 text; skipped it.\n"
            )?;
            output.flush()?;
            continue;
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        if matches!(line, "/quit" | "/exit") {
            break;
        }
        let text = match Invocation::parse(line, caller.clone()) {
            Err(message) => format!("{message}\n"),
            Ok(mut inv) => {
                if inv.command == "feedback" && inv.str("answer").is_none() {
                    if let Some(id) = &last_answer {
                        inv.options
                            .insert("answer".into(), crate::commands::Value::Str(id.clone()));
                    }
                }
                match bot.execute(&inv) {
                    Ok(reply) => {
                        if reply.feedback.is_some() {
                            last_answer = reply.feedback.clone();
                        }
                        render(&reply)
                    }
                    Err(e) => format!("error: {e}\n"),
                }
            }
        };
        writeln!(output, "{}", for_terminal(&text))?;
        output.flush()?;
    }
    Ok(())
}
