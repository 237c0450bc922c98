//! Who and what the bot's MRs carry from the effective policy (labels, assignees, reviewers),
//! and which `CODEOWNERS` owners can be asked to review. Pure: the lookups are in
//! `remediation/people_steps.rs`.

use serde::{Deserialize, Serialize};

use super::effective::{Effective, InstanceDefaults};
use super::file::Username;
use crate::codeowners::Owner;

/// The labels, assignees and reviewers an MR should carry, as the policy names them
/// (reviewers may hold the word `codeowners`). Stored per remediation as last sent, so that a
/// policy change updates open MRs and an unchanged policy costs no request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MrPeople {
    /// Labels.
    pub labels: Vec<String>,
    /// Assignees' usernames.
    pub assignees: Vec<String>,
    /// Reviewers' usernames, or `codeowners`.
    pub reviewers: Vec<String>,
}

impl MrPeople {
    /// What the effective policy asks for.
    pub fn of(policy: &Effective) -> MrPeople {
        MrPeople {
            labels: policy.labels.value.clone(),
            assignees: policy.assignees.value.clone(),
            reviewers: policy
                .reviewers
                .value
                .iter()
                .cloned()
                .map(String::from)
                .collect(),
        }
    }

    /// What an MR opened before these were recorded carries: the instance's labels, nobody.
    pub fn before_recorded(instance: &InstanceDefaults) -> MrPeople {
        MrPeople {
            labels: instance.labels.clone(),
            ..MrPeople::default()
        }
    }

    /// Whether reviewers come from `CODEOWNERS`.
    pub fn wants_codeowners(&self) -> bool {
        self.reviewers.iter().any(|r| r == "codeowners")
    }

    /// The reviewers named as users (not `codeowners`).
    pub fn named_reviewers(&self) -> impl Iterator<Item = &str> {
        self.reviewers
            .iter()
            .map(String::as_str)
            .filter(|r| *r != "codeowners")
    }

    /// Labels as GitLab's API takes them (comma-separated), `None` for no label.
    pub fn labels_param(&self) -> Option<String> {
        (!self.labels.is_empty()).then(|| self.labels.join(","))
    }
}

/// What to do with one `CODEOWNERS` owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerLookup {
    /// A user, or a top-level group of that name (look the user up first).
    UserOrGroup(String),
    /// A group: its members.
    Group(String),
    /// Not asked to review, with the reason (safe to show: names no untrusted text).
    Skip(&'static str),
}

/// How an owner is looked up. Names that are not valid GitLab paths are skipped (the file is
/// untrusted; nothing of it reaches a request or a message unchecked).
pub fn lookup(owner: &Owner) -> OwnerLookup {
    let path_ok = |p: &str| {
        p.split('/')
            .all(|seg| Username::try_from(seg.to_string()).is_ok())
    };
    match owner {
        Owner::Name(n) if Username::try_from(n.clone()).is_ok() => {
            OwnerLookup::UserOrGroup(n.clone())
        }
        Owner::Group(g) if path_ok(g) => OwnerLookup::Group(g.clone()),
        Owner::Name(_) | Owner::Group(_) => {
            OwnerLookup::Skip("an owner that is not a valid GitLab user or group path")
        }
        Owner::Role(_) => OwnerLookup::Skip("a role owner (`@@role`) is not expanded"),
        Owner::Email(_) => {
            OwnerLookup::Skip("an e-mail owner is skipped (the API does not find users by e-mail)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::file::parse;

    #[test]
    fn people_follow_the_policy_and_say_when_codeowners_is_asked() {
        let file =
            parse(b"labels: [deps]\nassignees: [alice]\nreviewers: [bob, codeowners]\n").unwrap();
        let e = Effective::merge(&InstanceDefaults::default(), Some(&file));
        let p = MrPeople::of(&e);
        assert_eq!(p.labels, ["deps"]);
        assert_eq!(p.assignees, ["alice"]);
        assert!(p.wants_codeowners());
        assert_eq!(p.named_reviewers().collect::<Vec<_>>(), ["bob"]);
        assert_eq!(p.labels_param().as_deref(), Some("deps"));
        let none = MrPeople::of(&Effective::merge(&InstanceDefaults::default(), None));
        assert_eq!(
            none,
            MrPeople::before_recorded(&InstanceDefaults::default())
        );
        assert!(!none.wants_codeowners());
        assert_ne!(p, none, "a policy change is seen as a change");
    }

    #[test]
    fn owners_are_checked_before_any_lookup() {
        assert_eq!(
            lookup(&Owner::Name("alice".into())),
            OwnerLookup::UserOrGroup("alice".into())
        );
        assert_eq!(
            lookup(&Owner::Group("acme/backend".into())),
            OwnerLookup::Group("acme/backend".into())
        );
        assert!(matches!(
            lookup(&Owner::Name("a\u{1b}[31m".into())),
            OwnerLookup::Skip(_)
        ));
        assert!(matches!(
            lookup(&Owner::Group("acme/../x".into())),
            OwnerLookup::Skip(_)
        ));
        assert!(matches!(
            lookup(&Owner::Email("a@b.c".into())),
            OwnerLookup::Skip(_)
        ));
        assert!(matches!(
            lookup(&Owner::Role("developer".into())),
            OwnerLookup::Skip(_)
        ));
    }
}
