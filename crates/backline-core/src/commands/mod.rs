//! The `/backline` comment commands: a pure parser (note text in, commands out) and the help
//! text generated from the command list. Commands are lines starting with `/backline`, in any
//! case, several per note. Lines inside code (fenced, indented or inline), HTML (comments
//! included) and quotes are ignored: the Markdown is read with pulldown-cmark, so what GitLab
//! renders as code or hides is never a command.

use std::fmt;

/// A command from an MR comment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// Rebase the MR (GitLab's rebase when clean; regenerate the branch when conflicted).
    Rebase,
    /// Rebuild the branch from the default branch, discarding edits.
    Recreate,
    /// Approve the planned fix.
    Approve,
    /// Ignore this fix, or an advisory id, or a version.
    Ignore(Option<String>),
    /// Undo an ignore.
    Unignore,
    /// Say where this remediation stands.
    Status,
    /// Show the project's effective policy and where each value came from.
    Policy,
    /// Merge the MR (when its pipeline succeeds), for people who may merge into its target.
    Merge,
    /// List the commands.
    Help,
    /// Something after `/backline` that is not a command.
    Unknown(String),
}

/// Every command with its one-line description, in help order.
pub const COMMANDS: [(&str, &str); 9] = [
    (
        "rebase",
        "rebase this MR on the default branch (regenerates the branch when it conflicts)",
    ),
    (
        "recreate",
        "rebuild the branch from the default branch, discarding any edits",
    ),
    (
        "approve",
        "approve this fix (opens the MR when the policy waits for approval)",
    ),
    (
        "ignore [advisory-id|version]",
        "ignore this fix, an advisory, or a version; closes the MR",
    ),
    ("unignore", "undo an ignore"),
    (
        "merge",
        "merge this MR when its pipeline succeeds (for people who may merge into the target branch)",
    ),
    ("status", "say where this remediation stands"),
    (
        "policy",
        "show the project's effective policy (.gitlab/backline.yml over the instance settings)",
    ),
    ("help", "show this list"),
];

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Rebase => f.write_str("rebase"),
            Command::Recreate => f.write_str("recreate"),
            Command::Approve => f.write_str("approve"),
            Command::Ignore(None) => f.write_str("ignore"),
            Command::Ignore(Some(a)) => write!(f, "ignore {a}"),
            Command::Unignore => f.write_str("unignore"),
            Command::Status => f.write_str("status"),
            Command::Policy => f.write_str("policy"),
            Command::Merge => f.write_str("merge"),
            Command::Help => f.write_str("help"),
            Command::Unknown(w) => write!(f, "{w}"),
        }
    }
}

/// The commands in a note, in order.
pub fn parse(body: &str) -> Vec<Command> {
    let hidden = hidden_spans(body);
    let mut out = Vec::new();
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        // Indented lines and quotes are someone else's words (GitLab's own quick actions skip
        // quoted lines too).
        if line.starts_with("    ") || line.starts_with('\t') || trimmed.starts_with('>') {
            continue;
        }
        let at = start + (line.len() - trimmed.len());
        if hidden.iter().any(|r| r.contains(&at)) {
            continue;
        }
        if let Some(command) = parse_line(trimmed) {
            out.push(command);
        }
    }
    out
}

/// Byte ranges the Markdown renders as code or hides as HTML (fenced and indented code blocks,
/// inline code, HTML blocks and inline HTML, comments included): nothing there is a command.
fn hidden_spans(body: &str) -> Vec<std::ops::Range<usize>> {
    use pulldown_cmark::{Event, Parser, Tag};
    let mut spans = Vec::new();
    for (event, range) in Parser::new(body).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::HtmlBlock)
            | Event::Code(_)
            | Event::Html(_)
            | Event::InlineHtml(_) => spans.push(range),
            _ => {}
        }
    }
    spans
}

fn parse_line(line: &str) -> Option<Command> {
    let mut words = line.split_whitespace();
    let head = words.next()?;
    if !head.eq_ignore_ascii_case("/backline") {
        return None;
    }
    let Some(name) = words.next() else {
        return Some(Command::Help);
    };
    let arg = words.next().map(str::to_string);
    Some(match name.to_ascii_lowercase().as_str() {
        "rebase" => Command::Rebase,
        "recreate" => Command::Recreate,
        "approve" => Command::Approve,
        "ignore" => Command::Ignore(arg),
        "unignore" => Command::Unignore,
        "status" => Command::Status,
        "policy" => Command::Policy,
        "merge" => Command::Merge,
        "help" => Command::Help,
        _ => Command::Unknown(name.to_string()),
    })
}

/// The commands of an edited note that its previous text did not have (each occurrence counts
/// once: a command present twice before and three times now runs once).
pub fn added(before: &[Command], after: &[Command]) -> Vec<Command> {
    let mut left: Vec<&Command> = before.iter().collect();
    let mut out = Vec::new();
    for c in after {
        match left.iter().position(|b| *b == c) {
            Some(i) => {
                left.remove(i);
            }
            None => out.push(c.clone()),
        }
    }
    out
}

/// The help reply, generated from [`COMMANDS`].
pub fn help_text() -> String {
    let mut s =
        String::from("Commands (write them at the start of a line in a comment on this MR):\n\n");
    for (usage, what) in COMMANDS {
        s.push_str(&format!("- `/backline {usage}`: {what}\n"));
    }
    s.push_str("\nOnly members with the Developer role or more can run them.");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_anywhere_in_a_note_in_any_case() {
        let note = "Thanks!\n/backline rebase\n  /BACKLINE Approve\n/backline ignore RUSTSEC-2022-0013\n/backline\n/backline frobnicate now\n";
        assert_eq!(
            parse(note),
            vec![
                Command::Rebase,
                Command::Approve,
                Command::Ignore(Some("RUSTSEC-2022-0013".into())),
                Command::Help,
                Command::Unknown("frobnicate".into()),
            ]
        );
    }

    #[test]
    fn code_blocks_quotes_and_prose_are_not_commands() {
        let note = "Try this:\n```\n/backline rebase\n```\n~~~text\n/backline recreate\n~~~\n    /backline approve\n> /backline ignore\nsay /backline status mid-sentence\n/backlinefoo\n/backline status";
        assert_eq!(parse(note), vec![Command::Status]);
        // An unclosed fence hides the rest.
        assert!(parse("```\n/backline rebase").is_empty());
    }

    #[test]
    fn html_comments_and_blocks_hide_commands() {
        assert!(parse("<!--\n/backline approve\n-->").is_empty());
        assert!(parse("Looks fine <!--\n/backline approve\n--> to me").is_empty());
        assert!(parse("<details>\n/backline ignore\n</details>").is_empty());
        assert!(parse("  ```\n/backline rebase\n  ```").is_empty());
        // After the comment closes, a command counts again.
        assert_eq!(
            parse("<!-- note to self -->\n\n/backline approve"),
            vec![Command::Approve]
        );
        assert_eq!(parse("/backline rebase\r\n"), vec![Command::Rebase]);
    }

    #[test]
    fn edited_notes_run_only_new_commands() {
        let before = parse("/backline rebase");
        let after = parse("/backline rebase\n/backline approve\n/backline rebase");
        assert_eq!(
            added(&before, &after),
            vec![Command::Approve, Command::Rebase]
        );
        assert!(added(&after, &before).is_empty());
    }

    #[test]
    fn help_lists_every_command() {
        let help = help_text();
        for (usage, _) in COMMANDS {
            assert!(help.contains(&format!("`/backline {usage}`")));
        }
    }
}
