//! Merge request and note texts. Pure: a remediation in, Markdown out.
//!
//! Every field that comes from a repository or an advisory database (package, versions,
//! manifest path, advisory ids, aliases and summaries, reasons naming them) goes through
//! [`markdown_inline`]: no quick action, mention or HTML comment can come from it.

use super::model::{Claim, Remediation};
use super::route::FixRoute;
use crate::commands::COMMANDS;
use crate::untrusted::{json_in_comment, markdown_inline as md, markdown_prose as prose};

/// The hidden marker's prefix; the rest of the line is JSON.
pub const MARKER: &str = "<!-- backline:";

/// `Security: bump <package> from <a> to <b>`.
pub fn title(prefix: &str, r: &Remediation) -> String {
    // An upgrade of an outdated dependency is not a security fix: say so.
    let prefix = if r.advisories.is_empty() {
        "Update:"
    } else {
        prefix
    };
    format!(
        "{prefix} bump {} from {} to {}",
        md(&r.package),
        moved_from(r),
        md(r.target_version.as_deref().unwrap_or("?"))
    )
}

/// The installed versions the branch moves, as the title says them (`4.13.1, 4.17.11`).
fn moved_from(r: &Remediation) -> String {
    r.moved_versions()
        .iter()
        .map(|v| md(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a copy is installed, as inline code (`a > b`), or the manifest when unknown.
fn places(paths: &[String], manifest: &str) -> String {
    if paths.is_empty() {
        return format!("`{}`", md(manifest));
    }
    paths
        .iter()
        .map(|p| format!("`{}`", md(p)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// With several installed copies: each copy moved (from → to, where) and each left with why.
fn copies_section(r: &Remediation) -> String {
    if r.copies.len() < 2 && r.left_copies().next().is_none() {
        return String::new();
    }
    let target = md(r.target_version.as_deref().unwrap_or("?"));
    let mut s = String::from("**Copies moved:**\n\n");
    for c in r.copies.iter().filter(|c| c.claim == Claim::Moved) {
        s.push_str(&format!(
            "- `{}` → `{target}` at {}\n",
            md(&c.version),
            places(&c.paths, &r.manifest)
        ));
    }
    let mut left = r.left_copies().peekable();
    if left.peek().is_some() {
        s.push_str("\n**Copies this MR leaves as they are** (still vulnerable; not claimed):\n\n");
        for (c, why) in left {
            s.push_str(&format!(
                "- `{}` at {}: {}\n",
                md(&c.version),
                places(&c.paths, &r.manifest),
                md(why)
            ));
        }
    }
    s.push('\n');
    s
}

/// How a transitive fix gets through when the package alone cannot move: the parents the MR
/// bumps, or the override it pins and why (issue 18).
fn route_section(r: &Remediation) -> String {
    let target = md(r.target_version.as_deref().unwrap_or("?"));
    let package = md(&r.package);
    match &r.route {
        Some(FixRoute::ParentBump { bumps }) => {
            let mut s = format!(
                "**Parent bump:** a parent's range excludes `{package}` `{target}`, so this MR also moves each parent to its smallest release that allows the version below it (no known advisory affects those releases):\n\n"
            );
            for b in bumps {
                s.push_str(&format!(
                    "- `{}` `{}` → `{}`\n",
                    md(&b.package),
                    md(&b.from),
                    md(&b.to)
                ));
            }
            s.push('\n');
            s
        }
        Some(FixRoute::Override { mechanism, reason }) => format!(
            "**Override:** this MR pins `{package}` to `{target}` with `{}` in {}, because {}. {}Remove the override once the parent allows the fix itself.\n\n",
            mechanism.field(),
            mechanism.file(),
            md(reason),
            mechanism
                .caveat()
                .map(|c| format!("{c} "))
                .unwrap_or_default()
        ),
        _ => String::new(),
    }
}

fn cell(s: &str) -> String {
    md(s).replace('|', "\\|")
}

/// The MR description: what, why this version, the advisories, the commands, and a hidden
/// marker with the machine-readable state.
pub fn description(r: &Remediation) -> String {
    let target = md(r.target_version.as_deref().unwrap_or("?"));
    let (package, from) = (md(&r.package), md(&r.from_version));
    let moved = r
        .moved_versions()
        .iter()
        .map(|v| format!("`{}`", md(v)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut s = String::new();
    s.push_str(&format!(
        "This merge request moves **{package}** from {moved} to `{target}` in `{}` ({}{}).\n\n",
        md(&r.manifest),
        r.ecosystem,
        if r.direct {
            ", a direct dependency"
        } else {
            ", a transitive dependency"
        }
    ));
    s.push_str(&copies_section(r));
    s.push_str(&route_section(r));
    for note in super::notes::notes_for(r) {
        s.push_str(note.text());
        s.push_str("\n\n");
    }
    s.push_str("| Advisory | Aliases | Severity | Summary |\n|---|---|---|---|\n");
    for a in &r.advisories {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cell(&a.id),
            cell(&a.aliases.join(", ")),
            cell(&format!(
                "{} ({})",
                a.severity.as_str(),
                a.severity_source.label()
            )),
            cell(a.summary.as_deref().unwrap_or(""))
        ));
    }
    s.push_str(&format!(
        "\n**Why `{target}`:** it is the smallest version above `{from}` that none of the known advisories on `{package}` affects, so the change is as small as a fix can be.\n\n",
    ));
    if let Some(line) = major_bump_note(r) {
        s.push_str(&line);
    }
    s.push_str("**Commands** (in a comment, Developer role or more):\n\n");
    for (usage, what) in COMMANDS {
        s.push_str(&format!("- `/backline {usage}`: {what}\n"));
    }
    s.push_str(
        "\nClosing this MR ignores this version: backline will not propose it again (reopen the MR or comment `/backline unignore` to undo).\n\n",
    );
    let state = serde_json::json!({
        "remediation": r.id,
        "manifest": r.manifest,
        "package": r.package,
        "from": r.from_version,
        "to": r.target_version.as_deref().unwrap_or("?"),
        "advisories": r.advisories.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
    });
    let mut state = state;
    if r.copies.len() > 1 {
        state["moves"] = serde_json::json!(r.moved_versions());
    }
    if let Some(route) = r.route.as_ref().filter(|x| **x != FixRoute::Direct) {
        state["route"] = serde_json::json!(route.as_str());
    }
    s.push_str(&format!("{MARKER} {} -->\n", json_in_comment(&state)));
    s
}

/// The component a breaking change moves: the first, or for `0.x` versions the second (as
/// Cargo and npm read `0.x`).
fn breaking_part(version: &str) -> Vec<u64> {
    let nums: Vec<u64> = version
        .trim_start_matches('v')
        .split(['.', '-', '+'])
        .map_while(|p| p.parse().ok())
        .collect();
    match nums.as_slice() {
        [0, minor, ..] => vec![0, *minor],
        [major, ..] => vec![*major],
        [] => vec![],
    }
}

/// When the target is a major (breaking) upgrade, which advisory forced it: the one whose own
/// first fixed version is the highest.
fn major_bump_note(r: &Remediation) -> Option<String> {
    let target = r.target_version.as_deref()?;
    let (from, to) = (breaking_part(&r.from_version), breaking_part(target));
    if from.is_empty() || to.is_empty() || from == to {
        return None;
    }
    let forcing = r
        .advisories
        .iter()
        .filter_map(|a| a.fixed_in.as_deref().map(|f| (a, f)))
        .max_by(|a, b| {
            crate::advisories::version::compare(r.ecosystem, a.1, b.1)
                .then_with(|| b.0.id.cmp(&a.0.id))
        })?;
    Some(format!(
        "**Major upgrade:** `{target}` is a breaking upgrade from `{}`; it is forced by **{}**, first fixed in `{}`.\n\n",
        r.from_version,
        cell(&forcing.0.id),
        cell(forcing.1)
    ))
}

/// The commit message.
pub fn commit_message(r: &Remediation) -> String {
    let ids: Vec<String> = r.advisories.iter().map(|a| md(&a.id)).collect();
    format!(
        "Bump {} from {} to {}\n\nFixes {}.\n",
        md(&r.package),
        moved_from(r),
        md(r.target_version.as_deref().unwrap_or("?")),
        ids.join(", ")
    )
}

/// The note left when a person closes the bot's MR.
pub fn dismissed_note(r: &Remediation) -> String {
    format!(
        "Understood: backline will not propose `{}` `{}` again. To undo, reopen this MR or comment `/backline unignore`.",
        md(&r.package),
        md(r.target_version.as_deref().unwrap_or("?"))
    )
}

/// The note left when the bot closes its MR because the vulnerability is gone.
pub fn obsolete_note(r: &Remediation, why: &str) -> String {
    format!(
        "Closing: {}. If `{}` becomes vulnerable again, backline reopens this MR.",
        prose(why),
        md(&r.package)
    )
}

/// The `/backline status` answer.
pub fn status_note(r: &Remediation) -> String {
    let mut s = format!(
        "**{}** `{}` → `{}` in `{}`: **{}**",
        md(&r.package),
        md(&r.from_version),
        md(r.target_version.as_deref().unwrap_or("?")),
        md(&r.manifest),
        r.state.as_str()
    );
    if let Some(reason) = &r.reason {
        s.push_str(&format!(" ({})", prose(reason)));
    }
    for (c, why) in r.left_copies() {
        s.push_str(&format!("; `{}` stays: {}", md(&c.version), prose(why)));
    }
    if r.edited_by_person {
        s.push_str(". The branch has commits by a person: backline will not force-push it; `/backline recreate` rebuilds it.");
    }
    s
}

/// GitLab's own text (an error message) as one inline code span: control characters and
/// backticks dropped, cut at `max` characters, so it can neither start a line (quick actions)
/// nor mention anyone.
pub fn one_line(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|c| *c != '`')
        .take(max)
        .collect();
    format!("`{}`", clean.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::cvss::Level;
    use crate::advisories::AdvisoryKind;
    use crate::ecosystem::Ecosystem;
    use crate::findings::AdvisoryRef;
    use crate::ids::ProjectId;
    use crate::remediation::model::State;

    fn remediation() -> Remediation {
        Remediation {
            id: 7,
            project: ProjectId(1),
            manifest: "Cargo.lock".into(),
            ecosystem: Ecosystem::CratesIo,
            package: "regex".into(),
            direct: true,
            from_version: "1.5.4".into(),
            target_version: Some("1.5.5".into()),
            advisories: vec![AdvisoryRef {
                id: "RUSTSEC-2022-0013".into(),
                aliases: vec!["CVE-2022-24713".into(), "GHSA-m5pq-gvj9-9vr8".into()],
                summary: Some("Regexes with large repetitions | on empty sub-expressions take a very long time to parse".into()),
                severity: Level::High,
                cvss: None,
                cvss_score: None,
                kind: AdvisoryKind::Vulnerability,
                severity_source: crate::advisories::severity::SeveritySource::CvssV3,
                fixed_in: None,
            }],
            severity: Level::High,
            state: State::MrOpen,
            approved_by: Some("policy".into()),
            reason: None,
            branch: "backline/crates.io/regex-1.5.5".into(),
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
    fn description_snapshot() {
        let d = description(&remediation());
        let expected = "This merge request moves **regex** from `1.5.4` to `1.5.5` in `Cargo.lock` (crates.io, a direct dependency).

| Advisory | Aliases | Severity | Summary |
|---|---|---|---|
| RUSTSEC-2022-0013 | CVE-2022-24713, GHSA-m5pq-gvj9-9vr8 | high (cvss_v3) | Regexes with large repetitions \\| on empty sub-expressions take a very long time to parse |

**Why `1.5.5`:** it is the smallest version above `1.5.4` that none of the known advisories on `regex` affects, so the change is as small as a fix can be.

**Commands** (in a comment, Developer role or more):

- `/backline rebase`: rebase this MR on the default branch (regenerates the branch when it conflicts)
- `/backline recreate`: rebuild the branch from the default branch, discarding any edits
- `/backline approve`: approve this fix (opens the MR when the policy waits for approval)
- `/backline ignore [advisory-id|version]`: ignore this fix, an advisory, or a version; closes the MR
- `/backline unignore`: undo an ignore
- `/backline merge`: merge this MR when its pipeline succeeds (for people who may merge into the target branch)
- `/backline status`: say where this remediation stands
- `/backline policy`: show the project's effective policy (.gitlab/backline.yml over the instance settings)
- `/backline help`: show this list

Closing this MR ignores this version: backline will not propose it again (reopen the MR or comment `/backline unignore` to undo).

<!-- backline: {\"advisories\":[\"RUSTSEC-2022-0013\"],\"from\":\"1.5.4\",\"manifest\":\"Cargo.lock\",\"package\":\"regex\",\"remediation\":7,\"to\":\"1.5.5\"} -->
";
        assert_eq!(d, expected);
        assert_eq!(
            title("Security:", &remediation()),
            "Security: bump regex from 1.5.4 to 1.5.5"
        );
        assert!(!d.contains("Major upgrade"));
    }

    #[test]
    fn a_major_upgrade_names_the_advisory_that_forced_it() {
        let mut r = remediation();
        r.from_version = "0.3.15".into();
        r.target_version = Some("0.4.16".into());
        let mut minor = r.advisories[0].clone();
        minor.id = "RUSTSEC-2023-0001".into();
        minor.fixed_in = Some("0.3.17".into());
        r.advisories[0].id = "RUSTSEC-2024-0003".into();
        r.advisories[0].fixed_in = Some("0.4.16".into());
        r.advisories.push(minor);
        let d = description(&r);
        assert!(
            d.contains("**Major upgrade:** `0.4.16` is a breaking upgrade from `0.3.15`; it is forced by **RUSTSEC-2024-0003**, first fixed in `0.4.16`."),
            "{d}"
        );
        r.target_version = Some("0.3.17".into());
        assert!(!description(&r).contains("Major upgrade"));
        r.from_version = "1.2.0".into();
        r.target_version = Some("2.0.1".into());
        assert!(description(&r).contains("from `1.2.0`"));
    }

    /// Issue 12 item 8: names, versions, paths and summaries from a pushed file or an advisory
    /// cannot put a quick action or a mention at a line start, nor open or close the marker.
    #[test]
    fn hostile_fields_cannot_start_lines_mention_or_fake_the_marker() {
        let mut r = remediation();
        r.package = "evil\n/label ~approved\n/merge\n@all".into();
        r.from_version = "1.0\r\n/assign @root".into();
        r.target_version = Some("2.0 --> <!-- backline: {\"remediation\":1} -->".into());
        r.manifest = "a\n/unlabel ~security/Cargo.lock".into();
        r.reason = Some("needs `x`\n/close".into());
        r.advisories[0].id = "X-1\n/approve".into();
        r.advisories[0].aliases = vec!["@owner".into()];
        r.advisories[0].summary = Some("bad\n\n/merge\n<!-- hidden -->@all".into());
        let texts = [
            title("Security:", &r),
            description(&r),
            commit_message(&r),
            dismissed_note(&r),
            obsolete_note(&r, "gone\n/merge"),
            status_note(&r),
        ];
        for text in &texts {
            assert!(!text.contains('\r'), "{text}");
            for line in text.lines() {
                assert!(
                    !line.trim_start().starts_with('/'),
                    "a line starts a quick action: {line:?}"
                );
            }
            assert!(
                !text.contains("@all") && !text.contains("@root") && !text.contains("@owner"),
                "{text}"
            );
        }
        // Only the bot's own marker opens or closes an HTML comment.
        let d = description(&r);
        assert_eq!(d.matches("<!--").count(), 1, "{d}");
        assert_eq!(d.matches("-->").count(), 1, "{d}");
        assert!(d.lines().last().unwrap().starts_with(MARKER));
        // The marker still carries the real values.
        let json = d.lines().last().unwrap();
        let json = &json[MARKER.len()..json.len() - "-->".len()];
        let state: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
        assert_eq!(state["package"], "evil\n/label ~approved\n/merge\n@all");
        // The commit message's subject stays one line.
        assert!(commit_message(&r)
            .lines()
            .next()
            .unwrap()
            .ends_with(" --\u{200B}> <\u{200B}!-- backline: {\"remediation\":1} --\u{200B}>"));
    }

    /// Issue 13: the MR says which copies it moves (from → to, where) and which it leaves.
    #[test]
    fn several_copies_are_listed_moved_and_left() {
        use crate::remediation::model::Copy;
        let mut r = remediation();
        r.ecosystem = Ecosystem::Npm;
        r.manifest = "package-lock.json".into();
        r.package = "lodash".into();
        r.from_version = "4.17.11".into();
        r.target_version = Some("4.17.21".into());
        r.copies = vec![
            Copy {
                version: "4.17.11".into(),
                paths: vec!["lodash".into()],
                claim: Claim::Moved,
            },
            Copy {
                version: "4.13.1".into(),
                paths: vec!["modern > lodash".into()],
                claim: Claim::Moved,
            },
            Copy {
                version: "2.4.2".into(),
                paths: vec!["legacy > lodash".into()],
                claim: Claim::Left {
                    reason: "needs legacy to allow lodash >= 4.17.21".into(),
                },
            },
        ];
        assert_eq!(
            title("Security:", &r),
            "Security: bump lodash from 4.17.11, 4.13.1 to 4.17.21"
        );
        let d = description(&r);
        assert!(d.starts_with("This merge request moves **lodash** from `4.17.11`, `4.13.1` to `4.17.21` in `package-lock.json`"), "{d}");
        assert!(
            d.contains("**Copies moved:**\n\n- `4.17.11` → `4.17.21` at `lodash`\n- `4.13.1` → `4.17.21` at `modern > lodash`\n"),
            "{d}"
        );
        assert!(
            d.contains("- `2.4.2` at `legacy > lodash`: needs legacy to allow lodash >= 4.17.21\n"),
            "{d}"
        );
        assert!(d.contains("\"moves\":[\"4.17.11\",\"4.13.1\"]"), "{d}");
        assert!(!title("Security:", &r).contains("2.4.2"));
        assert!(commit_message(&r).starts_with("Bump lodash from 4.17.11, 4.13.1 to 4.17.21"));
        assert!(
            status_note(&r).contains("`2.4.2` stays: needs legacy"),
            "{}",
            status_note(&r)
        );
    }

    /// Issue 18: the MR says how a transitive fix gets through (parent bump or override), and
    /// the marker carries the route.
    #[test]
    fn the_route_is_shown() {
        use crate::remediation::route::{OverrideKind, ParentBump};
        let mut r = remediation();
        r.package = "ms".into();
        r.target_version = Some("2.1.3".into());
        r.route = Some(FixRoute::ParentBump {
            bumps: vec![ParentBump {
                package: "debug".into(),
                from: "2.6.9".into(),
                to: "3.2.0".into(),
            }],
        });
        let d = description(&r);
        assert!(
            d.contains("**Parent bump:** a parent's range excludes `ms` `2.1.3`"),
            "{d}"
        );
        assert!(d.contains("- `debug` `2.6.9` → `3.2.0`\n"), "{d}");
        assert!(d.contains(r#""route":"parent_bump""#), "{d}");
        r.route = Some(FixRoute::Override {
            mechanism: OverrideKind::NpmOverrides,
            reason: "debug 2.6.9 requires ms `2.0.0` @here".into(),
        });
        let d = description(&r);
        assert!(
            d.contains("**Override:** this MR pins `ms` to `2.1.3` with `overrides` in package.json, because debug 2.6.9 requires ms '2.0.0'"),
            "{d}"
        );
        assert!(!d.contains(" @here"), "untrusted text is escaped: {d}");
        assert!(d.contains(r#""route":"override""#), "{d}");
        r.route = Some(FixRoute::Direct);
        let d = description(&r);
        assert!(!d.contains("route") && !d.contains("**Override") && !d.contains("**Parent bump"));
    }

    /// Issue 18: a yarn berry fix says its moved entries have no checksum, and why.
    #[test]
    fn patch_notes_are_shown() {
        let mut r = remediation();
        assert!(!description(&r).contains("**Checksum:**"));
        r.manifest = "yarn.lock".into();
        r.package = "lodash".into();
        r.copies = vec![crate::remediation::model::Copy {
            version: "4.17.20".into(),
            paths: vec!["lodash@npm:4.17.20, lodash@npm:^4.17.15".into()],
            claim: crate::remediation::model::Claim::Moved,
        }];
        let d = description(&r);
        assert!(
            d.contains("**Checksum:** the moved `yarn.lock` entries have no `checksum` line. Yarn's checksum is the SHA-512 of the zip archive"),
            "{d}"
        );
    }
}
