//! The note on a bot MR whose pipeline failed. Job names come from the repository's CI file:
//! escaped. Pure.

use crate::untrusted::markdown_inline;

/// The note naming the failed jobs.
pub fn failure_note(pipeline: u64, web_url: Option<&str>, jobs: &[String]) -> String {
    let link = match web_url {
        Some(u) => format!("[#{pipeline}]({})", markdown_inline(u).replace(')', "%29")),
        None => format!("#{pipeline}"),
    };
    let names = if jobs.is_empty() {
        "no job reported a failure".to_string()
    } else {
        jobs.iter()
            .map(|j| format!("`{}`", markdown_inline(j)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "The pipeline {link} failed: {names}.\n\nThis MR is marked `pipeline failed` and will not merge itself; a later green pipeline clears the mark."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_jobs_escaped() {
        let n = failure_note(
            7,
            Some("http://gl/p/-/pipelines/7"),
            &["test".into(), "@all\n/merge".into()],
        );
        assert!(n.starts_with("The pipeline [#7](http://gl/p/-/pipelines/7) failed: `test`, `@\u{200B}all /merge`."), "{n}");
        assert!(!n.lines().any(|l| l.starts_with("/merge")));
    }
}
