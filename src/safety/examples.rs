//! Labelled example messages, the reviewable data the distress classifier learns from, and the
//! same format for the held-out evaluation set.
//!
//! ```toml
//! [[group]]
//! label = "distress"            # or "ordinary"
//! kind = "self-harm, relapse"   # free text, for reviewers and reports
//! split = "test"                # evaluation sets only: "dev" or "test"
//! messages = ["relapsed with sh last night", "..."]
//! ```
//!
//! Invariants:
//! - A parse error names the line; an empty message, an unknown label or split, or a message
//!   given two different labels is refused, because a mislabelled example silently teaches the
//!   classifier the wrong thing.
//! - The built-in examples (`safety/examples.toml`, compiled in) are always used; a trust's
//!   `corpus/safety/examples.toml` adds to them.

use std::collections::HashMap;

use serde::Deserialize;

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The message as staff would type it.
    pub text: String,
    /// Whether it shows distress.
    pub distress: bool,
    /// The group's kind, for reports.
    pub kind: String,
    /// `dev` or `test` in evaluation sets; empty in training files.
    pub split: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    group: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    label: String,
    kind: String,
    #[serde(default)]
    split: Option<String>,
    messages: Vec<String>,
}

fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle)
        .map_or(1, |at| 1 + text[..at].matches('\n').count())
}

/// Parses an examples file. `splits` says whether each group must carry `split = "dev"|"test"`
/// (evaluation sets) or must not (training files).
pub fn parse(text: &str, splits: bool) -> Result<Vec<Example>, (usize, String)> {
    let raw: Raw = crate::corpus::parse_toml(text, "safety examples")?;
    let mut out = Vec::new();
    let mut labels: HashMap<String, bool> = HashMap::new();
    for g in raw.group {
        let at = line_of(text, &format!("kind = \"{}\"", g.kind));
        let distress = match g.label.as_str() {
            "distress" => true,
            "ordinary" => false,
            other => {
                return Err((
                    at,
                    format!("safety examples: label `{other}` (use \"distress\" or \"ordinary\")"),
                ))
            }
        };
        let split = match (splits, g.split) {
            (true, Some(s)) if s == "dev" || s == "test" => s,
            (true, _) => {
                return Err((
                    at,
                    "safety examples: every group needs split = \"dev\" or \"test\"".into(),
                ))
            }
            (false, None) => String::new(),
            (false, Some(_)) => {
                return Err((
                    at,
                    "safety examples: `split` belongs in evaluation sets only".into(),
                ))
            }
        };
        for m in g.messages {
            let key = super::normalise(&m).trim().to_string();
            if key.is_empty() {
                return Err((at, "safety examples: an empty message".into()));
            }
            match labels.insert(key, distress) {
                Some(before) if before != distress => {
                    return Err((
                        line_of(text, &m),
                        format!("safety examples: \"{m}\" is labelled both distress and ordinary"),
                    ))
                }
                Some(_) => continue,
                None => {}
            }
            out.push(Example {
                text: m,
                distress,
                kind: g.kind.clone(),
                split: split.clone(),
            });
        }
    }
    Ok(out)
}

/// Every example compiled into the program: `safety/examples.toml`, then
/// `safety/examples-since-top.toml`, parsed as one list so a message labelled both ways across
/// the two files is refused like one within a file.
pub fn builtin() -> Vec<Example> {
    let both = format!(
        "{}\n{}",
        super::BUILTIN_EXAMPLES,
        super::BUILTIN_EXAMPLES_SINCE_TOP
    );
    parse(&both, false).expect("the built-in examples parse")
}

/// The built-in examples the distress top is trained on (`safety/examples.toml` only), so the
/// committed top is reproducible from that file; see `safety/examples-since-top.toml`.
pub fn top_training() -> Vec<Example> {
    parse(super::BUILTIN_EXAMPLES, false).expect("the built-in examples parse")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_parse_and_mistakes_are_located() {
        let ok = "[[group]]\nlabel = \"distress\"\nkind = \"k\"\nmessages = [\"a b\", \"c\"]\n\
                  [[group]]\nlabel = \"ordinary\"\nkind = \"j\"\nmessages = [\"d\"]\n";
        let e = parse(ok, false).unwrap();
        assert_eq!(e.len(), 3);
        assert!(e[0].distress && !e[2].distress);
        assert!(
            parse("", false).unwrap().is_empty(),
            "a trust file may add nothing"
        );

        let bad = ok.replace("\"ordinary\"", "\"fine\"");
        assert_eq!(
            parse(&bad, false).unwrap_err().0,
            7,
            "the group's `kind` line"
        );
        let both = ok.replace("[\"d\"]", "[\"A  B!\"]");
        let e = parse(&both, false).unwrap_err();
        assert!(e.1.contains("both"), "{e:?}");
        assert!(parse(ok, true).unwrap_err().1.contains("split"));
        let empty = ok.replace("\"c\"", "\" ... \"");
        assert!(parse(&empty, false).unwrap_err().1.contains("empty"));
    }

    #[test]
    fn builtin_examples_cover_both_labels_generously() {
        let e = builtin();
        let distress = e.iter().filter(|x| x.distress).count();
        assert!(distress >= 300, "{distress}");
        assert!(e.len() - distress >= 300, "{}", e.len() - distress);
    }
}
