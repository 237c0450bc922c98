//! A remediation: one vulnerable package in one manifest of one project, the version that fixes
//! it, and where its merge request stands. Keyed by (project, manifest path, package).

use serde::{Deserialize, Serialize};

use crate::advisories::cvss::Level;
use crate::ecosystem::Ecosystem;
use crate::findings::AdvisoryRef;
use crate::ids::{MrIid, ProjectId};

/// Where a remediation stands (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    /// Vulnerable; the fix waits for approval (or for room under the open-MR cap).
    Planned,
    /// The bot's MR is open.
    MrOpen,
    /// The MR was merged; `fixed` once the default branch shows the new version.
    Merged,
    /// The default branch no longer has the vulnerable version.
    Fixed,
    /// A person closed the MR: this target version is ignored.
    Dismissed,
    /// Fixed another way while the MR was open: the bot closed it.
    Obsolete,
    /// No edit can fix it; the reason says why.
    NotFixable,
}

impl State {
    /// The word the API and notes use.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Planned => "planned",
            State::MrOpen => "mr_open",
            State::Merged => "merged",
            State::Fixed => "fixed",
            State::Dismissed => "dismissed",
            State::Obsolete => "obsolete",
            State::NotFixable => "not_fixable",
        }
    }
}

/// One entry of a remediation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// State before (none for the first entry).
    pub from: Option<State>,
    /// State after.
    pub to: State,
    /// Who: `backline`, or a GitLab username.
    pub by: String,
    /// Why, in a sentence.
    pub why: String,
}

/// A remediation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    /// Stable numeric id (API).
    pub id: u64,
    /// The project.
    pub project: ProjectId,
    /// The manifest or lockfile.
    pub manifest: String,
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Package.
    pub package: String,
    /// Whether the project requires it directly.
    pub direct: bool,
    /// The vulnerable version installed.
    pub from_version: String,
    /// The version the fix moves to (none when no fixed version is known).
    pub target_version: Option<String>,
    /// The advisories the target fixes.
    pub advisories: Vec<AdvisoryRef>,
    /// The highest severity among them.
    pub severity: Level,
    /// State.
    pub state: State,
    /// Approved (by policy or by a person).
    pub approved_by: Option<String>,
    /// Why it cannot be fixed by an edit, or why it waits.
    pub reason: Option<String>,
    /// The bot's branch.
    pub branch: String,
    /// The bot itself wrote `branch` (a branch of that name it did not write is never reused:
    /// another name is chosen). Absent in records from before this field: then an MR number
    /// proves the branch is the bot's.
    #[serde(default)]
    pub bot_wrote_branch: bool,
    /// The bot's MR.
    pub mr_iid: Option<MrIid>,
    /// Its web URL.
    pub mr_url: Option<String>,
    /// Someone other than the bot pushed to the branch: no automatic force-push.
    pub edited_by_person: bool,
    /// Target versions a person dismissed.
    pub ignored_versions: Vec<String>,
    /// Advisories a person ignored.
    pub ignored_advisories: Vec<String>,
    /// When first detected (ms).
    pub detected_at_ms: i64,
    /// Last change (ms).
    pub updated_at_ms: i64,
    /// Every transition.
    pub history: Vec<Transition>,
    /// Each vulnerable installed version of the package in the manifest, and whether the
    /// bot's branch moves it (schema 3). Only [`Claim::Moved`] copies share `state`.
    pub copies: Vec<Copy>,
    /// How the branch's fix gets through (a plain move, parent bumps, an override), or the
    /// chain that blocks it; `None` before a branch was written (schema 4; older records
    /// are upgraded with `None`).
    pub route: Option<super::route::FixRoute>,
}

/// One installed version of the package in the manifest (every place it is installed at).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copy {
    /// The installed version.
    pub version: String,
    /// Where in the tree it is installed (`node_modules/a/node_modules/pkg`, `a > pkg`), as
    /// the patcher found it; empty until the branch is written or when the format has one place.
    pub paths: Vec<String>,
    /// Whether the bot's branch moves it.
    pub claim: Claim,
}

/// Whether the bot's branch moves a copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Claim {
    /// Not decided yet: the branch is not written.
    Pending,
    /// The branch moves it to the target version.
    Moved,
    /// The branch leaves it: no edit can move it yet (the reason says what is needed).
    Left {
        /// `needs <parent> to allow <pkg> >= N`, or the patcher's reason.
        reason: String,
    },
}

impl Copy {
    /// A copy not decided yet.
    pub fn pending(version: impl Into<String>) -> Copy {
        Copy {
            version: version.into(),
            paths: Vec::new(),
            claim: Claim::Pending,
        }
    }

    /// The state of this copy, given its remediation's state: a copy the branch leaves is
    /// `not_fixable`, whatever the MR does.
    pub fn state(&self, remediation: State) -> State {
        match self.claim {
            Claim::Left { .. } => State::NotFixable,
            _ => remediation,
        }
    }
}

impl Remediation {
    /// Moves to `to`, recording who and why (a no-op transition is not recorded).
    pub fn transition(&mut self, to: State, by: &str, why: impl Into<String>, now_ms: i64) {
        if self.state == to && !self.history.is_empty() {
            return;
        }
        let from = (!self.history.is_empty()).then_some(self.state);
        self.history.push(Transition {
            at_ms: now_ms,
            from,
            to,
            by: by.to_string(),
            why: why.into(),
        });
        self.state = to;
        self.updated_at_ms = now_ms;
    }

    /// Records an event that does not change the state (superseded, recreated, edited).
    pub fn record(&mut self, by: &str, why: impl Into<String>, now_ms: i64) {
        self.history.push(Transition {
            at_ms: now_ms,
            from: Some(self.state),
            to: self.state,
            by: by.to_string(),
            why: why.into(),
        });
        self.updated_at_ms = now_ms;
    }

    /// The installed versions the branch moves (the title's version alone when none is
    /// recorded: a record whose branch is not written yet).
    pub fn moved_versions(&self) -> Vec<&str> {
        let moved: Vec<&str> = self
            .copies
            .iter()
            .filter(|c| c.claim == Claim::Moved)
            .map(|c| c.version.as_str())
            .collect();
        if moved.is_empty() {
            vec![self.from_version.as_str()]
        } else {
            moved
        }
    }

    /// The copies the branch leaves, with why.
    pub fn left_copies(&self) -> impl Iterator<Item = (&Copy, &str)> {
        self.copies.iter().filter_map(|c| match &c.claim {
            Claim::Left { reason } => Some((c, reason.as_str())),
            _ => None,
        })
    }

    /// The installed versions this remediation is about, sorted.
    pub fn versions(&self) -> Vec<String> {
        let mut v: Vec<String> = self.copies.iter().map(|c| c.version.clone()).collect();
        if v.is_empty() {
            v.push(self.from_version.clone());
        }
        v.sort();
        v.dedup();
        v
    }

    /// Whether the branch is known to be the bot's own (it wrote it, or opened an MR from it).
    pub fn owns_branch(&self) -> bool {
        self.bot_wrote_branch || self.mr_iid.is_some()
    }

    /// Whether the target version was dismissed or every advisory it fixes is ignored.
    pub fn is_ignored(&self) -> bool {
        let version_ignored = self
            .target_version
            .as_ref()
            .is_some_and(|t| self.ignored_versions.contains(t));
        let all_advisories_ignored = !self.advisories.is_empty()
            && self
                .advisories
                .iter()
                .all(|a| self.ignored_advisories.contains(&a.id));
        version_ignored || all_advisories_ignored
    }
}

/// The bot's branch for a fix: `backline/<ecosystem>/<package>-<version>`, slugged so that any
/// package name makes a valid, readable ref.
pub fn branch_name(ecosystem: Ecosystem, manifest: &str, package: &str, version: &str) -> String {
    let slug = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            let c = c.to_ascii_lowercase();
            if c == '.' && (out.is_empty() || out.ends_with('.') || out.ends_with('-')) {
                continue;
            }
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                out.push(c);
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
        out.trim_matches(|c| c == '-' || c == '.').to_string()
    };
    let eco = slug(ecosystem.osv_name());
    let dir = manifest.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    // Two manifests of one project can need the same bump: the folder keeps their branches apart.
    let base = if dir.is_empty() {
        format!("{}-{}", slug(package), slug(version))
    } else {
        format!("{}-{}-{}", slug(dir), slug(package), slug(version))
    };
    format!("backline/{eco}/{base}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_deterministic_and_valid() {
        assert_eq!(
            branch_name(Ecosystem::CratesIo, "Cargo.lock", "regex", "1.5.5"),
            "backline/crates.io/regex-1.5.5"
        );
        assert_eq!(
            branch_name(
                Ecosystem::Npm,
                "web/package-lock.json",
                "@babel/core",
                "7.23.2"
            ),
            "backline/npm/web-babel-core-7.23.2"
        );
        assert_eq!(
            branch_name(
                Ecosystem::Maven,
                "pom.xml",
                "org.apache.logging.log4j:log4j-core",
                "2.17.1"
            ),
            "backline/maven/org.apache.logging.log4j-log4j-core-2.17.1"
        );
        assert!(
            !branch_name(Ecosystem::PyPI, "requirements.txt", "..weird..//name", "1")
                .contains("..")
        );
    }
}
