//! Reading a project's policy file from GitLab (at catalog time, and on a push that touches
//! it) and saying why a bad one is refused: a failed `backline/policy` commit status on the
//! commit that changed it. The decisions (what to store, what status to post) are
//! [`decide`], pure; [`refresh`] does the requests.

use crate::clock::now_ms;
use crate::gitlab::rest::{CommitStatus, RawFile};
use crate::gitlab::{GitLab, GitLabError, ProjectId, ProjectRef};
use crate::store::StoreError;

use super::file::{parse, MAX_BYTES, PATHS};
use super::table::{PolicyRecord, PolicyTable, Problem};

/// The commit status context.
pub const STATUS_NAME: &str = "backline/policy";

/// GitLab keeps at most 255 characters of a status description.
const DESCRIPTION_MAX: usize = 255;

/// Reading the policy failed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyReadError {
    /// GitLab did not answer.
    #[error("reading the policy file: {0}")]
    GitLab(#[from] GitLabError),
    /// The store failed.
    #[error("storing the policy: {0}")]
    Store(#[from] StoreError),
}

/// What reading found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No policy file.
    None,
    /// A file (path, bytes, the commit that last changed it).
    File {
        /// `.gitlab/backline.yml` or `.backline.yml`.
        path: String,
        /// Its bytes.
        content: Vec<u8>,
        /// The commit read at.
        commit: Option<String>,
        /// The last commit that changed it.
        last_commit: Option<String>,
    },
}

/// What to do after a read: the record to store and the status to post (on which commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The record to store.
    pub record: PolicyRecord,
    /// A status to post: (commit, state, description).
    pub status: Option<(String, &'static str, String)>,
    /// One line for the delivery's outcome.
    pub line: String,
}

/// Decides what a read means. `changed_in`: the commit of a push that touched the file.
pub fn decide(
    previous: &PolicyRecord,
    found: Found,
    changed_in: Option<&str>,
    now: i64,
) -> Decision {
    match found {
        Found::None => Decision {
            record: PolicyRecord {
                read_at_ms: now,
                ..PolicyRecord::default()
            },
            status: None,
            line: "no policy file: the instance settings apply".into(),
        },
        Found::File {
            path,
            content,
            commit,
            last_commit,
        } => {
            let status_commit = changed_in.map(str::to_string).or(last_commit);
            match parse(&content) {
                Ok(_) => {
                    let was_bad = previous.problem.is_some();
                    Decision {
                        record: PolicyRecord {
                            path: Some(path.clone()),
                            text: Some(String::from_utf8_lossy(&content).into_owned()),
                            commit,
                            problem: None,
                            read_at_ms: now,
                        },
                        status: status_commit
                            .filter(|_| was_bad || changed_in.is_some())
                            .map(|c| (c, "success", format!("{path} is valid"))),
                        line: format!("policy {path} read"),
                    }
                }
                Err(e) => {
                    let problem = Problem {
                        path: path.clone(),
                        commit: status_commit.clone(),
                        line: e.line.map(|l| l as u64),
                        message: e.message.clone(),
                        at_ms: now,
                    };
                    // A replay of the same refusal posts nothing again.
                    let same = previous.problem.as_ref().is_some_and(|p| {
                        p.commit == problem.commit
                            && p.message == problem.message
                            && p.line == problem.line
                    });
                    let keeps = if previous.text.is_some() {
                        "the previous policy stays"
                    } else {
                        "the instance settings apply"
                    };
                    let description = truncate(
                        &crate::untrusted::printable(&format!("{}; {keeps}", problem.describe())),
                        DESCRIPTION_MAX,
                    );
                    Decision {
                        record: PolicyRecord {
                            problem: Some(problem),
                            read_at_ms: now,
                            ..previous.clone()
                        },
                        status: status_commit
                            .filter(|_| !same)
                            .map(|c| (c, "failed", description.clone())),
                        line: format!("policy refused: {description}"),
                    }
                }
            }
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Whether a push's touched paths include a policy file.
pub fn touches_policy<'a>(mut paths: impl Iterator<Item = &'a str>) -> bool {
    paths.any(|p| PATHS.contains(&p))
}

/// The newest of a push's commits that changed a policy file (the one its status goes on).
pub fn last_commit_touching(commits: &[crate::gitlab::hooks::common::HookCommit]) -> Option<&str> {
    commits
        .iter()
        .rev()
        .find(|c| {
            touches_policy(
                c.added
                    .iter()
                    .chain(&c.modified)
                    .chain(&c.removed)
                    .map(String::as_str),
            )
        })
        .map(|c| c.id.as_str())
}

/// Reads the first policy file present at `git_ref`.
pub async fn fetch(
    gitlab: &GitLab,
    project: ProjectId,
    git_ref: &str,
) -> Result<Found, GitLabError> {
    for path in PATHS {
        match gitlab
            .raw_file_within(&ProjectRef::Id(project), path, git_ref, MAX_BYTES + 1)
            .await
        {
            Ok(RawFile {
                content,
                commit_id,
                last_commit_id,
                ..
            }) => {
                return Ok(Found::File {
                    path: path.to_string(),
                    content: content.to_vec(),
                    commit: commit_id,
                    last_commit: last_commit_id,
                })
            }
            Err(e) if e.is_not_found() => continue,
            Err(GitLabError::TooLarge { .. }) => {
                return Ok(Found::File {
                    path: path.to_string(),
                    content: vec![b' '; MAX_BYTES + 1],
                    commit: None,
                    last_commit: None,
                })
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Found::None)
}

/// Reads the policy at `git_ref`, stores it, and posts the status a change deserves.
pub async fn refresh(
    gitlab: &GitLab,
    table: &PolicyTable,
    project: ProjectId,
    git_ref: &str,
    changed_in: Option<&str>,
    public_url: Option<&str>,
) -> Result<String, PolicyReadError> {
    let found = fetch(gitlab, project, git_ref).await?;
    let previous = table.get(project)?.unwrap_or_default();
    let d = decide(&previous, found, changed_in, now_ms());
    if let Some((commit, state, description)) = &d.status {
        gitlab
            .set_commit_status(
                &ProjectRef::Id(project),
                commit,
                &CommitStatus {
                    state: state.to_string(),
                    name: Some(STATUS_NAME.into()),
                    target_url: public_url
                        .map(|u| format!("{}/projects/{}", u.trim_end_matches('/'), project)),
                    description: Some(description.clone()),
                },
            )
            .await?;
    }
    table.put(project, &d.record)?;
    Ok(d.line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Found {
        Found::File {
            path: ".gitlab/backline.yml".into(),
            content: text.as_bytes().to_vec(),
            commit: Some("head".into()),
            last_commit: Some("changer".into()),
        }
    }

    #[test]
    fn a_bad_file_keeps_the_last_valid_policy_and_fails_the_commit_that_changed_it() {
        let good = decide(&PolicyRecord::default(), file("labels: [a]\n"), None, 1);
        assert_eq!(
            good.status, None,
            "nothing to say at catalog time about a valid file"
        );
        assert_eq!(good.record.text.as_deref(), Some("labels: [a]\n"));
        let bad = decide(
            &good.record,
            file("labels: [a]\nlabelz: [b]\n"),
            Some("c2"),
            2,
        );
        assert_eq!(bad.record.text.as_deref(), Some("labels: [a]\n"));
        let (commit, state, description) = bad.status.clone().unwrap();
        assert_eq!((commit.as_str(), state), ("c2", "failed"));
        assert!(
            description.starts_with(".gitlab/backline.yml line 2: unknown field `labelz`"),
            "{description}"
        );
        assert!(
            description.ends_with("the previous policy stays"),
            "{description}"
        );
        assert!(description.chars().count() <= 255);
        let replay = decide(
            &bad.record,
            file("labels: [a]\nlabelz: [b]\n"),
            Some("c2"),
            3,
        );
        assert_eq!(replay.status, None, "a replay posts nothing twice");
        let fixed = decide(&bad.record, file("labels: [b]\n"), None, 4);
        assert_eq!(fixed.record.problem, None);
        assert_eq!(fixed.status.unwrap().1, "success");
        let gone = decide(&fixed.record, Found::None, Some("c5"), 5);
        assert_eq!(gone.record.text, None);
    }

    #[test]
    fn only_the_policy_paths_count_as_touching_it() {
        assert!(touches_policy(
            ["src/a.rs", ".gitlab/backline.yml"].into_iter()
        ));
        assert!(touches_policy([".backline.yml"].into_iter()));
        assert!(!touches_policy(
            ["docs/.backline.yml", ".gitlab/ci.yml"].into_iter()
        ));
    }
}
