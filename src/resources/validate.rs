//! The rules a posted resource must pass before anything is written: a public https link with
//! no credentials or script schemes, one-line title and summary within their limits, no
//! control or bidirectional-override characters, at most ten short tags, and a title that
//! cannot pass for one of the bundled documents'.
//!
//! Invariant: pure checks (the look-alike rule only reads the corpus); each refusal is a
//! [`ResourceError::Invalid`] that says which rule failed and what to do.

use std::path::Path;

use super::{
    NewResource, Policy, ResourceError, MAX_SUMMARY, MAX_TAG, MAX_TAGS, MAX_TITLE, MAX_URL,
};
use crate::corpus;

pub(super) fn invalid<T>(m: impl Into<String>) -> Result<T, ResourceError> {
    Err(ResourceError::Invalid(m.into()))
}

/// `s` on one line, runs of whitespace made one space.
pub(super) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks a URL against every rule and returns it parsed.
pub fn check_url(raw: &str, policy: Policy) -> Result<url::Url, ResourceError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return invalid("the url is empty: paste the full link, starting with https://");
    }
    if raw.chars().count() > MAX_URL {
        return invalid(format!("the url is longer than {MAX_URL} characters"));
    }
    let lower = raw.to_ascii_lowercase();
    for scheme in ["javascript:", "data:", "file:", "vbscript:", "blob:"] {
        if lower.starts_with(scheme) {
            return invalid(format!(
                "`{}` links are not allowed: post an https:// link",
                &scheme[..scheme.len() - 1]
            ));
        }
    }
    let url = url::Url::parse(raw).or_else(|_| {
        invalid(format!(
            "`{}` is not a valid link: it must start with https://",
            crate::text::truncate_words(raw, 80)
        ))
    })?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => {
            return invalid("only https:// links are allowed (http:// is off in this deployment)")
        }
        other => {
            return invalid(format!(
                "`{other}:` links are not allowed: post an https:// link"
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return invalid("the link contains a user name or password: remove them before posting");
    }
    crate::links::check_public(&url).map_err(ResourceError::Invalid)?;
    Ok(url)
}

/// A title's words, lowercase, for comparing titles.
fn title_words(title: &str) -> std::collections::BTreeSet<String> {
    crate::text::normalise(title)
        .split_whitespace()
        // The short forms staff use for the strategy's words.
        .flat_map(|w| match w {
            "ohwb" => vec!["occupational", "health", "wellbeing"],
            "oh" => vec!["occupational", "health"],
            "hwb" => vec!["health", "wellbeing"],
            "well" => vec!["wellbeing"],
            other => vec![other],
        })
        .filter(|w| {
            !matches!(
                *w,
                "the" | "a" | "an" | "and" | "of" | "for" | "nhs" | "being"
            )
        })
        .map(str::to_string)
        .collect()
}

/// Refuses a title equal or confusingly close to a bundled document's (the strategy or a
/// background document): a posted resource must never pass for them in a citation.
pub(super) fn refuse_lookalike_title(corpus_dir: &Path, title: &str) -> Result<(), ResourceError> {
    let mine = title_words(title);
    let corpus = corpus::load(corpus_dir).map_err(|e| ResourceError::Io(e.to_string()))?;
    for d in corpus
        .documents
        .iter()
        .filter(|d| d.meta.kind != corpus::Kind::Resource)
    {
        let theirs = title_words(&d.meta.title);
        let shared = mine.intersection(&theirs).count();
        let union = mine.union(&theirs).count().max(1);
        // Equal word sets, most words shared, or all of a several-word title inside the other.
        let close = shared * 4 >= union * 3
            || (shared >= 3 && (shared == theirs.len() || shared == mine.len()));
        if close {
            return invalid(format!(
                "the title is too close to the bundled document “{}”: a posted resource must not \
                 look like the strategy or its background documents. Give it a title that says \
                 what the resource is",
                d.meta.title
            ));
        }
    }
    Ok(())
}

/// Validated fields, ready to store.
#[derive(Debug, Clone)]
pub(super) struct Valid {
    pub url: url::Url,
    pub title: String,
    pub summary: String,
    pub tags: Vec<String>,
}

/// Refuses control characters (ESC, BEL, NUL, C1 controls; newlines only where
/// `newlines` allows them) and bidirectional overrides: stored text is later printed on
/// terminals and in chat, where they would act instead of being read.
fn refuse_controls(field: &str, s: &str, newlines: bool) -> Result<(), ResourceError> {
    let bad = s.chars().find(|c| {
        let line_break = matches!(c, '\n' | '\r');
        (c.is_control() && !(newlines && line_break)) || crate::text::is_bidi_control(*c)
    });
    match bad {
        Some(c) => invalid(format!(
            "the {field} contains the control character U+{:04X}: type it again as plain text",
            u32::from(c)
        )),
        None => Ok(()),
    }
}

/// Every rule a new resource must pass, with its fields made one line and its tags
/// lowercased and de-duplicated.
pub(super) fn validate(new: &NewResource, policy: Policy) -> Result<Valid, ResourceError> {
    refuse_controls("url", &new.url, false)?;
    refuse_controls("title", &new.title, false)?;
    refuse_controls("summary", &new.summary, true)?;
    refuse_controls("tags", &new.tags, false)?;
    let url = check_url(&new.url, policy)?;
    let title = one_line(&new.title);
    if title.is_empty() {
        return invalid("the title is empty: give the resource a short title");
    }
    if title.chars().count() > MAX_TITLE {
        return invalid(format!(
            "the title is {} characters; the limit is {MAX_TITLE}",
            title.chars().count()
        ));
    }
    let summary = one_line(&new.summary);
    if summary.is_empty() {
        return invalid(
            "the summary is empty: say in a sentence what the resource is and who it is for",
        );
    }
    if summary.chars().count() > MAX_SUMMARY {
        return invalid(format!(
            "the summary is {} characters; the limit is {MAX_SUMMARY}",
            summary.chars().count()
        ));
    }
    let mut tags: Vec<String> = Vec::new();
    for t in new.tags.split(',') {
        let t = one_line(t).to_lowercase();
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > MAX_TAG {
            return invalid(format!(
                "the tag `{}` is longer than {MAX_TAG} characters",
                crate::text::truncate_words(&t, 50)
            ));
        }
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    if tags.len() > MAX_TAGS {
        return invalid(format!(
            "{} tags given; the limit is {MAX_TAGS}",
            tags.len()
        ));
    }
    Ok(Valid {
        url,
        title,
        summary,
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        let p = Policy::default();
        assert!(check_url("https://www.nhs.uk/live-well/", p).is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("javascript:alert(1)", "`javascript` links"),
            ("data:text/html,hi", "`data` links"),
            ("file:///etc/passwd", "`file` links"),
            ("ftp://x.org/a", "`ftp:` links"),
            ("http://www.nhs.uk/", "only https://"),
            ("https://user:pw@nhs.uk/", "user name or password"),
            ("https://localhost/x", "post a public link"),
            ("https://127.0.0.1/", "post a public link"),
            ("https://10.1.2.3/", "post a public link"),
            ("https://192.168.0.1/", "post a public link"),
            ("https://172.16.5.5/", "post a public link"),
            ("https://169.254.1.1/", "post a public link"),
            ("https://[::1]/", "post a public link"),
            ("https://[fd00::1]/", "post a public link"),
            ("https://[::ffff:10.0.0.1]/", "post a public link"),
            ("https://intranet/", "post a public link"),
            ("not a link", "not a valid link"),
        ] {
            let e = check_url(bad, p).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(check_url("http://www.nhs.uk/", Policy { allow_http: true }).is_ok());
    }
}
