//! `group: manifest`: one MR per manifest carrying all of that manifest's approved fixes. Pure:
//! which remediations form which group, the group's branch, the order the fixes are applied in
//! (one combined patch), the MR title, body and commit message, and how many MRs are open
//! when a group MR counts once. The executor only applies them.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Remediation, State};
use crate::commands::COMMANDS;
use crate::untrusted::{json_in_comment, markdown_inline as md};

/// How fixes are split into MRs (the policy's `group`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    /// One MR per vulnerable package (as always).
    #[default]
    None,
    /// One MR per manifest carrying all of its fixes.
    Manifest,
}

/// One manifest's group: its branch and its members (remediation ids, by package name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestGroup {
    /// The manifest.
    pub manifest: String,
    /// `backline/group/<manifest-slug>`.
    pub branch: String,
    /// The remediations it carries, ordered by package (the order the combined patch applies
    /// them in, so that the same members always give the same branch).
    pub members: Vec<u64>,
}

/// `backline/group/<slug>`: the manifest's whole path slugged (lower case; `/` and other
/// characters become `-`), so two manifests never share a branch.
pub fn group_branch(manifest: &str) -> String {
    let mut slug = String::new();
    for c in manifest.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric()
            || c == '_'
            || (c == '.' && !slug.is_empty() && !slug.ends_with(['.', '-']))
        {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches(|c| c == '-' || c == '.');
    format!(
        "backline/group/{}",
        if slug.is_empty() { "root" } else { slug }
    )
}

/// Whether a remediation belongs in its manifest's group MR: an approved fix with a target,
/// planned or already in the MR, not ignored; `hold_upgrades` leaves out non-security
/// upgrades (their `schedule` window is closed).
pub fn is_member(r: &Remediation, hold_upgrades: bool) -> bool {
    let carried = match r.state {
        State::Planned => true,
        // A per-package MR opened before the policy said `group: manifest` stays as it is.
        State::MrOpen => r.branch == group_branch(&r.manifest),
        _ => false,
    };
    carried
        && r.approved_by.is_some()
        && r.target_version.is_some()
        && !r.is_ignored()
        && !(hold_upgrades && r.advisories.is_empty() && r.state == State::Planned)
}

/// The groups of a project's remediations, one per manifest with at least one member, by
/// manifest path.
pub fn groups(remediations: &[Remediation], hold_upgrades: bool) -> Vec<ManifestGroup> {
    let mut by_manifest: BTreeMap<&str, Vec<&Remediation>> = BTreeMap::new();
    for r in remediations.iter().filter(|r| is_member(r, hold_upgrades)) {
        by_manifest.entry(r.manifest.as_str()).or_default().push(r);
    }
    by_manifest
        .into_iter()
        .map(|(manifest, mut members)| {
            members.sort_by(|a, b| a.package.cmp(&b.package).then(a.id.cmp(&b.id)));
            ManifestGroup {
                manifest: manifest.to_string(),
                branch: group_branch(manifest),
                members: members.iter().map(|r| r.id).collect(),
            }
        })
        .collect()
}

/// Open bot MRs, a group MR counting once: distinct MR numbers among `mr_open` remediations
/// (one without a number yet counts by itself).
pub fn open_mrs(remediations: &[Remediation]) -> usize {
    let open = remediations.iter().filter(|r| r.state == State::MrOpen);
    let mut iids = BTreeSet::new();
    let mut without = 0;
    for r in open {
        match r.mr_iid {
            Some(iid) => {
                iids.insert(iid.0);
            }
            None => without += 1,
        }
    }
    iids.len() + without
}

/// `Security: bump 3 dependencies in package-lock.json` (`Update:` when none of them is a
/// security fix).
pub fn title(prefix: &str, manifest: &str, members: &[&Remediation]) -> String {
    let prefix = if members.iter().all(|r| r.advisories.is_empty()) {
        "Update:"
    } else {
        prefix
    };
    let n = members.len();
    format!(
        "{prefix} bump {n} {} in {}",
        if n == 1 { "dependency" } else { "dependencies" },
        md(manifest)
    )
}

fn cell(s: &str) -> String {
    md(s).replace('|', "\\|")
}

/// The group MR's description: every fix with its versions and advisories, the commands, and a
/// hidden marker naming the remediations.
pub fn description(manifest: &str, members: &[&Remediation]) -> String {
    let mut s = format!(
        "This merge request carries every approved fix for `{}` ({} in all), one commit on one branch.\n\n",
        md(manifest),
        members.len()
    );
    s.push_str("| Package | From | To | Advisories | Severity |\n|---|---|---|---|---|\n");
    for r in members {
        let advisories = if r.advisories.is_empty() {
            "none (an outdated dependency)".to_string()
        } else {
            r.advisories
                .iter()
                .map(|a| {
                    if a.aliases.is_empty() {
                        a.id.clone()
                    } else {
                        format!("{} ({})", a.id, a.aliases.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            cell(&r.package),
            cell(&r.moved_versions().join(", ")),
            cell(r.target_version.as_deref().unwrap_or("?")),
            cell(&advisories),
            cell(r.severity.as_str())
        ));
    }
    s.push_str("\nEach version is the smallest one that none of the known advisories on its package affects.\n\n");
    s.push_str("**Commands** (in a comment, Developer role or more):\n\n");
    for (usage, what) in COMMANDS {
        s.push_str(&format!("- `/backline {usage}`: {what}\n"));
    }
    s.push('\n');
    let state = serde_json::json!({
        "group": manifest,
        "remediations": members.iter().map(|r| r.id).collect::<Vec<_>>(),
    });
    s.push_str(&format!(
        "{} {} -->\n",
        super::render::MARKER,
        json_in_comment(&state)
    ));
    s
}

/// The combined commit's message: one line per fix.
pub fn commit_message(manifest: &str, members: &[&Remediation]) -> String {
    let mut s = format!(
        "Bump {} {} in {}\n\n",
        members.len(),
        if members.len() == 1 {
            "dependency"
        } else {
            "dependencies"
        },
        md(manifest)
    );
    for r in members {
        let ids: Vec<String> = r.advisories.iter().map(|a| md(&a.id)).collect();
        s.push_str(&format!(
            "- {} {} -> {}{}\n",
            md(&r.package),
            md(&r.moved_versions().join(", ")),
            md(r.target_version.as_deref().unwrap_or("?")),
            if ids.is_empty() {
                String::new()
            } else {
                format!(" (fixes {})", ids.join(", "))
            }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::cvss::Level;
    use crate::ecosystem::Ecosystem;
    use crate::findings::AdvisoryRef;
    use crate::ids::{MrIid, ProjectId};

    fn rem(id: u64, manifest: &str, package: &str, state: State) -> Remediation {
        Remediation {
            id,
            project: ProjectId(1),
            manifest: manifest.into(),
            ecosystem: Ecosystem::Npm,
            package: package.into(),
            direct: true,
            from_version: "1.0.0".into(),
            target_version: Some("1.0.1".into()),
            advisories: vec![AdvisoryRef {
                id: format!("GHSA-{package}"),
                aliases: vec![format!("CVE-2026-{id}")],
                summary: None,
                severity: Level::High,
                cvss: None,
                cvss_score: None,
                kind: crate::advisories::AdvisoryKind::Vulnerability,
                severity_source: crate::advisories::severity::SeveritySource::CvssV3,
                fixed_in: None,
            }],
            severity: Level::High,
            state,
            approved_by: Some("policy".into()),
            reason: None,
            branch: "b".into(),
            bot_wrote_branch: false,
            mr_iid: None,
            mr_url: None,
            edited_by_person: false,
            ignored_versions: vec![],
            ignored_advisories: vec![],
            detected_at_ms: 0,
            updated_at_ms: 0,
            history: vec![],
            copies: vec![],
            route: None,
        }
    }

    #[test]
    fn branches_are_per_manifest_path() {
        assert_eq!(
            group_branch("package-lock.json"),
            "backline/group/package-lock.json"
        );
        assert_eq!(
            group_branch("web/App/package-lock.json"),
            "backline/group/web-app-package-lock.json"
        );
        assert_ne!(group_branch("a/Cargo.lock"), group_branch("b/Cargo.lock"));
    }

    #[test]
    fn approved_fixes_of_one_manifest_form_one_group() {
        let mut waiting = rem(4, "package-lock.json", "aaa", State::Planned);
        waiting.approved_by = None;
        let mut upgrade = rem(5, "package-lock.json", "bbb", State::Planned);
        upgrade.advisories.clear();
        let mut ignored = rem(6, "package-lock.json", "ccc", State::Planned);
        ignored.ignored_versions = vec!["1.0.1".into()];
        let mut in_mr = rem(1, "package-lock.json", "semver", State::MrOpen);
        in_mr.branch = group_branch("package-lock.json");
        let mut alone = rem(8, "package-lock.json", "zzz", State::MrOpen);
        alone.branch = "backline/npm/zzz-1.0.1".into();
        let all = vec![
            in_mr,
            alone,
            rem(2, "package-lock.json", "lodash", State::Planned),
            rem(3, "web/package-lock.json", "minimist", State::Planned),
            waiting,
            upgrade,
            ignored,
            rem(7, "package-lock.json", "qs", State::Merged),
        ];
        let g = groups(&all, false);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].manifest, "package-lock.json");
        assert_eq!(
            g[0].members,
            vec![5, 2, 1],
            "by package: bbb, lodash, semver"
        );
        assert_eq!(g[1].members, vec![3]);
        // A closed schedule window keeps the planned upgrade out.
        assert_eq!(groups(&all, true)[0].members, vec![2, 1]);
    }

    #[test]
    fn a_group_mr_counts_once_against_the_cap() {
        let mut a = rem(1, "m", "a", State::MrOpen);
        let mut b = rem(2, "m", "b", State::MrOpen);
        let mut c = rem(3, "n", "c", State::MrOpen);
        a.mr_iid = Some(MrIid(7));
        b.mr_iid = Some(MrIid(7));
        c.mr_iid = Some(MrIid(8));
        let d = rem(4, "n", "d", State::Planned);
        assert_eq!(open_mrs(&[a, b, c, d]), 2);
    }

    #[test]
    fn title_body_and_commit_list_every_fix() {
        let a = rem(1, "package-lock.json", "lodash", State::Planned);
        let b = rem(2, "package-lock.json", "minimist", State::Planned);
        let mut c = rem(3, "package-lock.json", "qs", State::Planned);
        c.advisories.clear();
        let members = [&a, &b, &c];
        assert_eq!(
            title("Security:", "package-lock.json", &members),
            "Security: bump 3 dependencies in package-lock.json"
        );
        assert_eq!(
            title("Security:", "package-lock.json", &[&c]),
            "Update: bump 1 dependency in package-lock.json"
        );
        let body = description("package-lock.json", &members);
        assert!(
            body.contains("| lodash | 1.0.0 | 1.0.1 | GHSA-lodash (CVE-2026-1) | high |"),
            "{body}"
        );
        assert!(body.contains("| minimist |"), "{body}");
        assert!(
            body.contains("| qs | 1.0.0 | 1.0.1 | none (an outdated dependency) |"),
            "{body}"
        );
        assert!(body.contains("\"remediations\":[1,2,3]"), "{body}");
        let commit = commit_message("package-lock.json", &members);
        assert!(
            commit.starts_with("Bump 3 dependencies in package-lock.json\n\n"),
            "{commit}"
        );
        assert!(
            commit.contains("- lodash 1.0.0 -> 1.0.1 (fixes GHSA-lodash)\n"),
            "{commit}"
        );
        assert!(commit.contains("- qs 1.0.0 -> 1.0.1\n"), "{commit}");
    }

    #[test]
    fn untrusted_names_cannot_act_in_the_mr() {
        let a = rem(1, "package-lock.json", "/merge <!-- x", State::Planned);
        let body = description("package-lock.json", &[&a]);
        assert!(!body.contains("\n/merge"), "{body}");
        assert!(!body.contains("<!-- x"), "{body}");
    }
}
