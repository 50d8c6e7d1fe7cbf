//! Removes what could identify a person from a question before it is stored: email
//! addresses, links, NHS numbers and phone numbers (any run of 7 or more digits, spaces and
//! dashes allowed between them), replaced by a placeholder.
//!
//! Invariant: errs on removing too much; a scrubbed question is only ever shown grouped with
//! others (see the report's `min_group`).

/// `text` with personal details replaced by `[email]`, `[link]` and `[number]`.
pub fn scrub(text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            let lower = w.to_lowercase();
            if w.contains('@') && w.contains('.') {
                "[email]".to_string()
            } else if lower.starts_with("http:")
                || lower.starts_with("https:")
                || lower.starts_with("www.")
                || lower.contains("://")
            {
                "[link]".to_string()
            } else {
                w.to_string()
            }
        })
        .collect();
    numbers(&words.join(" "))
}

/// Replaces runs of 7+ digits (allowing spaces, dashes, dots, brackets and a leading `+`
/// inside the run) with `[number]`: phone numbers (01234 567890, +44 7700 900123) and NHS
/// numbers (943 476 5919). Shorter numbers ("10 million", "2023") stay.
fn numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()))
        {
            // Extend over digits and separators; count digits.
            let mut j = i;
            let mut digits = 0;
            let mut last_digit = i;
            while j < chars.len() {
                let c = chars[j];
                if c.is_ascii_digit() {
                    digits += 1;
                    last_digit = j;
                } else if !(matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && j == i)) {
                    break;
                }
                j += 1;
            }
            if digits >= 7 {
                out.push_str("[number]");
                i = last_digit + 1;
                continue;
            }
            out.extend(&chars[i..=last_digit]);
            i = last_digit + 1;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn personal_details_are_replaced_and_ordinary_numbers_kept() {
        assert_eq!(
            scrub("email jo.bloggs@nhs.net or call 01234 567890 about NHS no 943 476 5919"),
            "email [email] or call [number] about NHS no [number]"
        );
        assert_eq!(
            scrub("see https://intranet.trust.nhs.uk/oh?id=5 and www.example.org"),
            "see [link] and [link]"
        );
        assert_eq!(
            scrub("ring +44 (0)7700-900123 today"),
            "ring [number] today"
        );
        assert_eq!(
            scrub("what did Boorman say about 10 million days in 2009"),
            "what did Boorman say about 10 million days in 2009"
        );
    }
}
