//! `Gemfile.lock`: the gem's spec line in the rubygems.org `GEM` section and its dependency
//! lines (the new version's runtime dependencies, written as Bundler's lockfile generator
//! writes them: sorted, requirements in `Gem::Dependency#to_lock` form), and its `CHECKSUMS`
//! line (Bundler ≥ 2.5: `name (version) sha256=<hex>`, the `.gem` file's SHA-256 from
//! rubygems.org). Every other byte stays.
//!
//! Checked first: every other gem's dependency on it and the `DEPENDENCIES` (the Gemfile's)
//! requirement admit the new version (a gem that does not is the parent to upgrade first); the
//! new version's runtime dependencies are locked at versions they admit. Platform-specific
//! copies of the gem (`nokogiri (1.16.2-x86_64-linux)`) are not moved.

use super::version::{satisfies, to_lock};
use crate::deps::{self, ParseError};
use crate::registry::GemRelease;
use crate::remediation::patch::{
    apply_edits, line_ending, lines_with_offsets, not_fixable, parent_excludes, FileChange,
    PatchError, PatchRequest,
};

/// A line of the lock with where it is and what it says.
struct Line<'a> {
    at: usize,
    raw: &'a str,
    section: &'a str,
    indent: usize,
    content: &'a str,
}

fn read_lines(text: &str) -> Vec<Line<'_>> {
    let mut section = "";
    lines_with_offsets(text)
        .into_iter()
        .map(|(at, raw)| {
            let line = raw.trim_end_matches(['\n', '\r']);
            let content = line.trim_start();
            let indent = line.len() - content.len();
            if indent == 0 && !content.is_empty() {
                section = content;
            }
            Line {
                at,
                raw,
                section,
                indent,
                content: content.trim_end(),
            }
        })
        .collect()
}

/// `name (inside)` → (name, inside).
fn name_and_paren(s: &str) -> (&str, Option<&str>) {
    match s.split_once(" (") {
        Some((name, rest)) => (name.trim(), rest.split_once(')').map(|(i, _)| i.trim())),
        None => (s.trim(), None),
    }
}

/// Edits a `Gemfile.lock`.
pub(crate) fn patch(req: &PatchRequest, bytes: &[u8]) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let (pkg, from, to) = (req.package, req.from, req.to);
    let Some(release) = req.facts.gem_release.as_ref().filter(|r| r.version == to) else {
        return not_fixable(format!(
            "the rubygems.org entry of {pkg} {to} was not fetched"
        ));
    };
    if release.platform != "ruby" {
        return not_fixable(format!(
            "{pkg} {to} on rubygems.org is for {}, not every platform",
            release.platform
        ));
    }
    let nl = line_ending(text);
    let lines = read_lines(text);
    let spec_sections = ["GEM", "GIT", "PATH"];
    // Locked versions of every gem, for the dependency check.
    let locked = |name: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| spec_sections.contains(&l.section) && l.indent == 4)
            .filter_map(|l| match name_and_paren(l.content) {
                (n, Some(v)) if n == name => Some(v.split('-').next().unwrap_or(v).to_string()),
                _ => None,
            })
            .collect()
    };
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut found = false;
    let mut parent: Option<(&str, &str)> = None;
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if spec_sections.contains(&l.section) && l.indent == 4 {
            let (name, version) = name_and_paren(l.content);
            parent = Some((name, version.unwrap_or("")));
            if name == pkg && version.is_some_and(|v| v.starts_with(&format!("{from}-"))) {
                return not_fixable(format!(
                    "{path} locks platform-specific builds of {pkg} {from}; run `bundle update {pkg}`"
                ));
            }
            if name == pkg && version == Some(from) {
                if l.section != "GEM" {
                    return not_fixable(format!("{pkg} {from} in {path} is not from rubygems.org"));
                }
                // The spec line and its dependency lines give way to the new ones.
                let mut end = i + 1;
                while end < lines.len() && lines[end].section == l.section && lines[end].indent >= 6
                {
                    end += 1;
                }
                let span_end = lines[end - 1].at + lines[end - 1].raw.len();
                edits.push((l.at, span_end, spec_block(release, nl, &locked)?));
                found = true;
                i = end;
                continue;
            }
        } else if spec_sections.contains(&l.section) && l.indent == 6 {
            let (name, requirement) = name_and_paren(l.content);
            if name == pkg {
                let requirement = requirement.unwrap_or("");
                if let Some((p, pv)) = parent {
                    if !requirement.is_empty() && satisfies(requirement, to) != Some(true) {
                        return parent_excludes(p, pv, pkg, requirement, to);
                    }
                }
            }
        } else if l.section == "DEPENDENCIES" && l.indent == 2 {
            let (name, requirement) = name_and_paren(l.content);
            if name.trim_end_matches('!') == pkg {
                if let Some(r) = requirement {
                    if satisfies(r, to) != Some(true) {
                        return not_fixable(format!(
                            "the Gemfile requires {pkg} `{r}`, which excludes {to}; change it and run `bundle update {pkg}`"
                        ));
                    }
                }
            }
        } else if l.section == "CHECKSUMS" && l.indent == 2 {
            let (name, version) = name_and_paren(l.content);
            if name == pkg && version == Some(from) {
                let line = match (&release.sha256, l.content.contains(" sha256=")) {
                    (Some(sha), true) => format!("  {pkg} ({to}) sha256={sha}{nl}"),
                    (None, true) => {
                        return not_fixable(format!(
                            "rubygems.org gives no SHA-256 of {pkg} {to} for the CHECKSUMS section"
                        ))
                    }
                    (_, false) => format!("  {pkg} ({to}){nl}"),
                };
                edits.push((l.at, l.at + l.raw.len(), line));
            }
        }
        i += 1;
    }
    if !found {
        return not_fixable(format!("{path} has no {pkg} {from} from rubygems.org"));
    }
    Ok(vec![FileChange {
        path: path.to_string(),
        content: apply_edits(text, edits).into_bytes(),
    }])
}

/// The new spec line and its dependency lines, refusing a dependency the lock does not meet.
fn spec_block(
    release: &GemRelease,
    nl: &str,
    locked: &dyn Fn(&str) -> Vec<String>,
) -> Result<String, PatchError> {
    let mut deps: Vec<String> = Vec::new();
    for (name, requirement) in &release.runtime {
        let versions = locked(name);
        if versions.is_empty() {
            return not_fixable(format!(
                "{} {} needs {name} `{requirement}`, which the lockfile does not have; run `bundle update {}`",
                release.name, release.version, release.name
            ));
        }
        if versions
            .iter()
            .all(|v| satisfies(requirement, v) == Some(false))
        {
            return not_fixable(format!(
                "{} {} needs {name} `{requirement}`, the lockfile has {}",
                release.name,
                release.version,
                versions.join(", ")
            ));
        }
        let Some(lock_req) = to_lock(requirement) else {
            return not_fixable(format!(
                "{} {} requires {name} `{requirement}`, which backline cannot read",
                release.name, release.version
            ));
        };
        deps.push(match lock_req {
            Some(r) => format!("      {name} ({r}){nl}"),
            None => format!("      {name}{nl}"),
        });
    }
    // `dependencies.sort_by(&:to_s)` in Bundler's LazySpecification#to_lock.
    deps.sort();
    deps.dedup();
    Ok(format!(
        "    {} ({}){nl}{}",
        release.name,
        release.version,
        deps.concat()
    ))
}

#[cfg(test)]
mod tests;
