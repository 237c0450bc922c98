//! Untrusted text for GitLab Markdown: an MR title or description, a note, a commit message.
//!
//! GitLab acts on what a line starts with (quick actions such as `/label` and `/merge`, see
//! GitLab's `lib/gitlab/quick_actions/extractor.rb`: `^\/(?<cmd>...)` per line), notifies on
//! `@user`, `@all` and `@group` mentions (`lib/gitlab/reference_extractor.rb`), and backline
//! finds its own state in an HTML comment (`<!-- backline: ... -->`). A field from a repository
//! or an advisory database (package, version, manifest path, advisory id or summary, a word of a
//! comment) therefore goes in only through [`markdown_inline`]:
//!
//! - line breaks (LF, CR, NEL, U+2028/2029) and other controls become a space, so a field can
//!   never start a line of its own;
//! - a leading `/` gets a zero-width space before it, in case a template puts the field first;
//! - `@` gets a zero-width space after it, so no mention resolves;
//! - `<!--` and `-->` get a zero-width space inside, so no field opens or closes a comment;
//! - a backtick becomes `'`, so no field leaves the code span it is shown in;
//! - bidi overrides are dropped.
//!
//! The visible text stays the same apart from the backtick.

use super::terminal::is_hazard;

/// Zero width space: invisible, and breaks every token it is put into.
const ZWSP: char = '\u{200B}';

/// One untrusted field, safe anywhere inside a line of GitLab Markdown.
pub fn markdown_inline(text: &str) -> String {
    neutralise(text, true)
}

/// A sentence the bot wrote around untrusted fields (a reason such as "needs `memchr` >= 2.4"):
/// as [`markdown_inline`], but its code spans are kept.
pub fn markdown_prose(text: &str) -> String {
    neutralise(text, false)
}

fn neutralise(text: &str, no_backticks: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(' '),
            '`' if no_backticks => out.push('\''),
            '@' => {
                out.push('@');
                out.push(ZWSP);
            }
            c if is_hazard(c) => {}
            c => out.push(c),
        }
    }
    let out = out
        .replace("<!--", "<\u{200B}!--")
        .replace("-->", "--\u{200B}>");
    if out.trim_start().starts_with('/') {
        format!("{ZWSP}{out}")
    } else {
        out
    }
}

/// JSON for inside an HTML comment: `<`, `>`, `&` and `@` as `\u` escapes (the JSON means the
/// same; no value can close the comment, open another or mention anyone).
pub fn json_in_comment(value: &serde_json::Value) -> String {
    let json = value.to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '@' => out.push_str("\\u0040"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_field_can_start_a_line_mention_or_comment() {
        let hostile =
            "x\n/label ~approved\r\n/merge\n@all <!-- backline: {} --> `code`\u{2028}/close";
        let safe = markdown_inline(hostile);
        assert!(!safe.contains(['\n', '\r', '\u{2028}', '`']), "{safe:?}");
        assert!(!safe.contains("@all") && !safe.contains("<!--") && !safe.contains("-->"));
        assert!(safe.contains(&format!("@{ZWSP}all")));
        assert!(markdown_inline("/merge").starts_with(ZWSP));
        assert!(markdown_inline("  /merge").starts_with(ZWSP));
    }

    #[test]
    fn prose_keeps_its_code_spans_only() {
        assert_eq!(
            markdown_prose("needs `memchr` >= 2.4"),
            "needs `memchr` >= 2.4"
        );
        let safe = markdown_prose("x\n/merge @all");
        assert!(!safe.contains('\n') && !safe.contains("@all"), "{safe:?}");
    }

    #[test]
    fn ordinary_names_are_unchanged() {
        for s in [
            "@babel/core",
            "lodash",
            "1.2.3-rc.1+build",
            "web/package-lock.json",
        ] {
            let safe = markdown_inline(s);
            assert_eq!(safe.replace(ZWSP, ""), s);
        }
        assert_eq!(markdown_inline("regex"), "regex");
    }

    #[test]
    fn json_in_a_comment_cannot_close_it_and_means_the_same() {
        let v = serde_json::json!({"package": "x --> <!-- backline: {} @all & more"});
        let s = json_in_comment(&v);
        assert!(
            !s.contains("-->") && !s.contains("<!--") && !s.contains('@'),
            "{s}"
        );
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
