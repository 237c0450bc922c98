//! The dashboard's words: states and kinds as people say them, counted nouns with their plural,
//! and stored prose (reasons, history) with its `code` spans shown as code rather than backticks.

use std::fmt::Write as _;

use super::html::Esc;
use crate::gitlab::hooks::EventKind;
use crate::inbox::DeliveryState;
use crate::remediation::model::State;

/// A remediation state in words (`MR open`, not `mr_open`).
pub fn state(s: State) -> &'static str {
    match s {
        State::Planned => "planned",
        State::MrOpen => "MR open",
        State::Merged => "merged",
        State::Fixed => "fixed",
        State::Dismissed => "dismissed",
        State::Obsolete => "obsolete",
        State::NotFixable => "not fixable",
    }
}

/// A delivery state in words.
pub fn delivery_state(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::Queued => "queued",
        DeliveryState::Processing => "processing",
        DeliveryState::Failed => "failed, will retry",
        DeliveryState::Done => "done",
        DeliveryState::Dead => "dead letter",
    }
}

/// An event kind in words (`merge request`, `system push`).
pub fn kind(k: EventKind) -> String {
    k.as_str().replace('_', " ")
}

/// `1 project`, `2 projects`, `0 projects`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Stored prose, escaped, with each `span` between backticks shown as `<code>` (an unpaired
/// backtick stays as it is).
pub fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut parts = text.split('`').peekable();
    let mut inside = false;
    let mut first = true;
    while let Some(part) = parts.next() {
        if !first {
            // A backtick opened a span only when another closes it.
            if !inside && parts.peek().is_none() {
                out.push('`');
                let _ = write!(out, "{}", Esc(part));
                break;
            }
            inside = !inside;
        }
        first = false;
        if inside {
            let _ = write!(out, "<code>{}</code>", Esc(part));
        } else {
            let _ = write!(out, "{}", Esc(part));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_people_read() {
        assert_eq!(state(State::MrOpen), "MR open");
        assert_eq!(state(State::NotFixable), "not fixable");
        assert_eq!(delivery_state(DeliveryState::Dead), "dead letter");
        assert_eq!(kind(EventKind::MergeRequest), "merge request");
        assert_eq!(count(1, "project", "projects"), "1 project");
        assert_eq!(count(0, "project", "projects"), "0 projects");
        assert_eq!(count(3, "advisory", "advisories"), "3 advisories");
    }

    #[test]
    fn backticks_become_code_and_everything_is_escaped() {
        assert_eq!(
            prose("regex 1.5.5 needs `regex-syntax` ^0.6.25"),
            "regex 1.5.5 needs <code>regex-syntax</code> ^0.6.25"
        );
        assert_eq!(prose("a `<b>` c"), "a <code>&lt;b&gt;</code> c");
        assert_eq!(prose("odd ` tick"), "odd ` tick");
        assert_eq!(prose("`x` and `y"), "<code>x</code> and `y");
        assert_eq!(prose("plain"), "plain");
    }
}
