//! Text for a terminal or a log line: no control characters (ESC sequences that move the
//! cursor, recolour, retitle the window or hide text; CR that overwrites a line; bidi overrides
//! that reorder what is shown).

use std::borrow::Cow;

/// Whether `c` may change what a terminal shows beyond printing itself: C0 and C1 controls,
/// DEL, and the Unicode bidi embedding, override and isolate characters.
pub fn is_hazard(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every hazard removed, except that tabs and line breaks become a space (so that
/// words stay apart and one record stays one line). Borrowed when nothing changes.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\t' | '\n' | '\r' => Some(' '),
                c if is_hazard(c) => None,
                c => Some(c),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_removed() {
        let hostile = "safe\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\rover\u{9b}31m\u{202E}txt.exe";
        let shown = printable(hostile);
        assert!(!shown.chars().any(is_hazard), "{shown:?}");
        assert_eq!(shown, "safe]0;pwned[2J[31mred over31mtxt.exe");
    }

    #[test]
    fn plain_text_is_kept_as_is() {
        assert!(matches!(
            printable("lodash 4.17.20 – ünïcode"),
            Cow::Borrowed(_)
        ));
        assert_eq!(printable("a\tb\nc"), "a b c");
    }
}
