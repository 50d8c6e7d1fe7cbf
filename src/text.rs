//! Small text helpers shared by the corpus and the answer builder: slugs, word counts and
//! sentence splitting. Pure functions over `&str`; no I/O.

/// A URL- and id-safe slug: lowercase ASCII letters and digits joined by single dashes.
pub(crate) fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

/// Whitespace-separated words, as a reader would count them.
pub(crate) fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Splits prose into sentences at `.`, `!` or `?` followed by whitespace and an uppercase letter,
/// digit or quote. Abbreviations such as "e.g. the" stay whole because a lowercase word follows.
pub(crate) fn sentences(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    for i in 0..chars.len() {
        let (pos, c) = chars[i];
        let ends_line = c == '\n' && chars.get(i + 1).is_some_and(|&(_, n)| n == '\n');
        let ends_sentence = matches!(c, '.' | '!' | '?')
            && chars.get(i + 1).is_some_and(|&(_, n)| n.is_whitespace())
            && chars
                .get(i + 2)
                .is_some_and(|&(_, n)| n.is_uppercase() || n.is_ascii_digit() || n == '"');
        if ends_sentence || ends_line {
            let end = pos + c.len_utf8();
            let piece = s[start..end].trim();
            if !piece.is_empty() {
                out.push(piece);
            }
            start = end;
        }
    }
    let rest = s[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Folds every run of whitespace into one space and trims both ends, moving the byte ranges
/// `marks` (sorted, within `s`) so they still cover the same words.
pub(crate) fn collapse_whitespace(
    s: &str,
    marks: &[std::ops::Range<usize>],
) -> (String, Vec<std::ops::Range<usize>>) {
    let mut out = String::with_capacity(s.len());
    // new_pos[i] = position in `out` of byte i of `s` (or of the next kept byte).
    let mut new_pos = vec![0; s.len() + 1];
    let mut pending_space = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            for p in &mut new_pos[i..i + c.len_utf8()] {
                *p = out.len();
            }
            out.push(c);
            continue;
        }
        for p in &mut new_pos[i..i + c.len_utf8()] {
            *p = out.len();
        }
    }
    new_pos[s.len()] = out.len();
    let marks = marks
        .iter()
        .filter(|r| r.start < r.end && r.end <= s.len())
        .filter(|r| s.is_char_boundary(r.start) && s.is_char_boundary(r.end))
        .map(|r| new_pos[r.start]..new_pos[r.end])
        .filter(|r| r.end <= out.len() && r.start < r.end)
        .collect();
    (out, marks)
}

/// Cuts `s` to at most `max` characters at a word boundary, adding "…" when anything was cut.
pub fn truncate_words(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let budget = max - 1; // room for the ellipsis
    let cut = s
        .char_indices()
        .nth(budget)
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let head = &s[..cut];
    let head = match head.rfind(char::is_whitespace) {
        Some(i) if i > cut / 2 => &head[..i],
        _ => head,
    };
    format!("{}…", head.trim_end())
}

/// Lowercase words with apostrophes removed and other punctuation as spaces, padded with a
/// space at each end so ` phrase ` finds whole words only.
pub fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(' ');
    let mut space = true;
    for c in s.chars().flat_map(char::to_lowercase) {
        if matches!(c, '\'' | '’' | '‘' | '`') {
            continue;
        }
        if c.is_alphanumeric() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if !space {
        out.push(' ');
    }
    out
}

/// Unicode's bidirectional embedding, override and isolate controls, which can make text
/// display in another order than it is read ("Trojan Source").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` safe to print on a terminal: control characters other than newline (ESC, BEL, NUL, C1
/// controls, a lone carriage return) and bidirectional controls are shown as `\u{…}`
/// escapes instead of acting on the terminal.
pub fn for_terminal(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| (c.is_control() && c != '\n') || is_bidi_control(c);
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Characters that change how text looks or joins but carry no letter: zero-width spaces and
/// joiners, the soft hyphen, word joiners, bidirectional marks and controls, the byte order
/// mark. Removed before analysis, so "occupa\u{200B}tional" is "occupational".
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
    ) || is_bidi_control(c)
        || ('\u{2066}'..='\u{206F}').contains(&c)
}

/// What a person typed, as analysis should read it: ANSI escape sequences and format
/// characters removed, other control characters turned into spaces, then NFKC-normalised
/// (full-width letters, ligatures and compatibility forms become plain ones).
pub fn clean_input(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            match chars.next() {
                // CSI: parameters and intermediates, then one final byte.
                Some('[') => {
                    for n in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&n) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ESC \.
                Some(']') => {
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' {
                            break;
                        }
                        if n == '\u{1b}' {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        if is_format(c) {
            continue;
        }
        if c.is_control() && c != '\n' {
            out.push(' ');
            continue;
        }
        out.push(c);
    }
    out.nfkc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_cleaned_of_invisible_and_terminal_characters() {
        assert_eq!(
            clean_input("occupa\u{200B}tional he\u{00AD}alth"),
            "occupational health"
        );
        assert_eq!(
            clean_input("\u{1b}[31mburnout\u{1b}[0m support"),
            "burnout support"
        );
        assert_eq!(clean_input("\u{1b}]0;title\u{7}wellbeing"), "wellbeing");
        assert_eq!(
            clean_input("ｏｃｃｕｐａｔｉｏｎａｌ ﬁt note"),
            "occupational fit note"
        );
        assert_eq!(clean_input("a\u{0}b\tc\nd"), "a b c\nd");
        assert_eq!(clean_input("\u{202E}txt"), "txt");
        assert_eq!(for_terminal("ok\nfine"), "ok\nfine");
        assert_eq!(for_terminal("a\u{1b}[2Jb\u{9b}"), "a\\u{1b}[2Jb\\u{9b}");
    }

    #[test]
    fn slugs_are_stable_and_safe() {
        assert_eq!(
            slugify("Proactive and preventative focus"),
            "proactive-and-preventative-focus"
        );
        assert_eq!(slugify("  OH: a “value” offer! "), "oh-a-value-offer");
        assert_eq!(slugify("—"), "");
    }

    #[test]
    fn sentences_split_on_terminal_punctuation_only() {
        let s = "It began in 2021. It ran e.g. events. Phase 2 followed! Done";
        assert_eq!(
            sentences(s),
            vec![
                "It began in 2021.",
                "It ran e.g. events.",
                "Phase 2 followed!",
                "Done"
            ]
        );
    }

    #[test]
    fn whitespace_collapse_keeps_highlights_on_their_words() {
        let s = "  one\n\n two   three ";
        let two = s.find("two").unwrap();
        let (t, marks) = collapse_whitespace(s, std::slice::from_ref(&(two..two + 3)));
        assert_eq!(t, "one two three");
        assert_eq!(&t[marks[0].clone()], "two");
        let s = "a  “ü” b";
        let u = s.find('ü').unwrap();
        let (t, marks) = collapse_whitespace(s, &[u..u + 'ü'.len_utf8(), 0..1]);
        assert_eq!(t, "a “ü” b");
        assert_eq!(&t[marks[0].clone()], "ü");
        assert_eq!(&t[marks[1].clone()], "a");
    }

    #[test]
    fn truncation_respects_limit_and_words() {
        let s = "alpha beta gamma delta";
        let t = truncate_words(s, 12);
        assert!(t.chars().count() <= 12, "{t}");
        assert_eq!(t, "alpha beta…");
        assert_eq!(truncate_words("short", 10), "short");
        let long = "x".repeat(50);
        assert_eq!(truncate_words(&long, 10).chars().count(), 10);
    }
}
