//! `packages.lock.json` (and the project file's version): one package moved to another
//! version in every target framework section that locks it, as `dotnet restore
//! --use-lock-file` writes it (NuGet.Client `PackagesLockFileFormat.WriteTargetDependency`:
//! `type`, `requested`, `resolved` and `requested` normalized, `contentHash`, then
//! `dependencies` ordered by id (ordinal) with each range in its legacy short form). Values
//! are replaced in place when the entry keeps its shape; an entry whose dependencies change
//! is written anew in dotnet's layout (2-space indentation, the file's line ending). Every
//! other byte (BOM, CRLF, key order) stays.
//!
//! A `Direct` (or `CentralTransitive`) package moves its version where the project declares
//! it ([`super::project`]); a `Transitive` one moves when every parent's range in the section
//! admits the new version. The new version's own dependencies must already be locked at
//! versions their ranges admit; otherwise `dotnet restore` must run. Under
//! [`ParentRule::Override`] the package is pinned instead ([`super::pin`]).

use super::project::{self, Found};
use super::version::{nearest_group, normalize, Range};
use crate::deps::{self, ParseError};
use crate::ecosystems::npm::json::{indent_at, quote, scan, Node};
use crate::registry::NugetRelease;
use crate::remediation::patch::{
    apply_edits, line_ending, not_fixable, parent_excludes, FileChange, ParentRule, PatchError,
    PatchRequest,
};

/// One lock entry to move: its section, key and value node.
struct Target<'a> {
    section: &'a str,
    entry: &'a Node,
}

/// Edits a `packages.lock.json` and, for a direct dependency, the file its version is in.
pub(crate) fn patch(
    req: &PatchRequest,
    bytes: &[u8],
    rule: &ParentRule,
) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let full = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let bom = if full.starts_with('\u{feff}') { 3 } else { 0 };
    let text = &full[bom..];
    if *rule == ParentRule::Override {
        return super::pin::patch(req, full);
    }
    let root = scan(text).ok_or_else(|| ParseError::new(path, None, "not valid JSON"))?;
    let (pkg, to) = (req.package, req.to);
    let Some(release) = req
        .facts
        .nuget_release
        .as_ref()
        .filter(|r| r.is_version(to))
    else {
        return not_fixable(format!(
            "the NuGet registry's entry of {pkg} {to} was not fetched"
        ));
    };
    let Some(to_norm) = normalize(to) else {
        return not_fixable(format!("{to} is not a NuGet version"));
    };
    let from_norm = normalize(req.from).unwrap_or_default();
    let str_of = |n: &Node| -> Option<String> {
        let (s, e) = n.span();
        serde_json::from_str::<String>(text.get(s..e)?).ok()
    };
    let sections = root
        .get("dependencies")
        .map(Node::members)
        .unwrap_or_default();

    let mut targets: Vec<Target> = Vec::new();
    for (section, packages) in sections {
        for (name, entry) in packages.members() {
            let at_from = entry
                .get("resolved")
                .and_then(str_of)
                .and_then(|v| normalize(&v))
                .is_some_and(|v| v.eq_ignore_ascii_case(&from_norm));
            if name.eq_ignore_ascii_case(pkg) && at_from {
                targets.push(Target { section, entry });
            }
        }
    }
    if targets.is_empty() {
        return not_fixable(format!("{path} has no {pkg} {}", req.from));
    }

    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let eol = line_ending(text);
    let mut moves_requested = false;
    for t in &targets {
        let packages = sections
            .iter()
            .find(|(s, _)| s == t.section)
            .map(|(_, p)| p.members())
            .unwrap_or_default();
        let locked = |id: &str| -> Option<String> {
            packages
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(id))
                .and_then(|(_, e)| e.get("resolved").and_then(str_of))
        };
        // Every parent's range on the package must admit the new version.
        for (parent, entry) in packages {
            let Some(range) = entry
                .get("dependencies")
                .and_then(|d| {
                    d.members()
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(pkg))
                })
                .and_then(|(_, r)| str_of(r))
            else {
                continue;
            };
            let admits = Range::parse(&range).is_some_and(|r| r.admits(&to_norm));
            let parent_version = entry.get("resolved").and_then(str_of).unwrap_or_default();
            if !admits && !rule.lets_pass(parent, &parent_version) {
                return parent_excludes(parent, &parent_version, pkg, &range, to);
            }
        }
        let new_deps = dependencies_for(release, t.section, &locked, pkg, to)?;

        let kind = t.entry.get("type").and_then(str_of).unwrap_or_default();
        let requested = t.entry.get("requested").and_then(str_of);
        let new_requested = match &requested {
            None => None,
            Some(r) if project::pins(r, req.from) => {
                moves_requested = true;
                Some(format!("[{to_norm}, )"))
            }
            Some(r) if Range::parse(r).is_some_and(|x| x.admits(&to_norm)) => Some(r.clone()),
            Some(r) => {
                return not_fixable(format!(
                    "the project requests {pkg} `{r}`, which excludes {to}"
                ))
            }
        };
        let old_deps: Vec<String> = t
            .entry
            .get("dependencies")
            .map(|d| d.members().iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        let same_shape = t.entry.get("contentHash").is_some()
            && t.entry.get("resolved").is_some()
            && old_deps.len() == new_deps.len()
            && old_deps.iter().zip(&new_deps).all(|(a, b)| *a == b.0);
        if same_shape {
            let mut put = |node: Option<&Node>, value: &str| {
                if let Some(n) = node {
                    let (s, e) = n.span();
                    edits.push((bom + s, bom + e, quote(value)));
                }
            };
            if let Some(r) = &new_requested {
                put(t.entry.get("requested"), r);
            }
            put(t.entry.get("resolved"), &to_norm);
            put(t.entry.get("contentHash"), &release.content_hash);
            if let Some(d) = t.entry.get("dependencies") {
                for ((_, node), (_, range)) in d.members().iter().zip(&new_deps) {
                    put(Some(node), range);
                }
            }
        } else {
            let (s, e) = t.entry.span();
            let entry = Entry {
                kind: &kind,
                requested: new_requested.as_deref(),
                resolved: &to_norm,
                content_hash: &release.content_hash,
                dependencies: &new_deps,
            };
            edits.push((bom + s, bom + e, entry.render(indent_at(text, s), eol)));
        }
    }

    let project_change = if moves_requested {
        Some(project_edit(req)?)
    } else {
        None
    };
    if project_change
        .as_ref()
        .is_some_and(|c| c.path.ends_with("Directory.Packages.props"))
    {
        edits.extend(
            central_project_ranges(text, sections, pkg, req.from, &to_norm)
                .into_iter()
                .map(|(s, e, r)| (bom + s, bom + e, r)),
        );
    }
    let mut changes = vec![FileChange {
        path: path.to_string(),
        content: {
            let mut out = full[..bom].to_string();
            out.push_str(&apply_edits(
                text,
                edits
                    .iter()
                    .map(|(s, e, r)| (s - bom, e - bom, r.clone()))
                    .collect(),
            ));
            out.into_bytes()
        },
    }];
    changes.extend(project_change);
    Ok(changes)
}

/// With central package management the projects a lock references take the package's
/// version from the same Directory.Packages.props, and their `Project` entries list it with
/// that range (NuGet.Client `PackagesLockFileBuilder.CreateNuGetLockFile` writes a project
/// reference's dependencies as the project declares them): each range that pins `from` moves
/// to `[to, )`, as dotnet rewrote it in tests/data/lockfile-proofs/nuget/cpm-central-transitive.
fn central_project_ranges(
    text: &str,
    sections: &[(String, Node)],
    pkg: &str,
    from: &str,
    to_norm: &str,
) -> Vec<(usize, usize, String)> {
    let str_of = |n: &Node| -> Option<String> {
        let (s, e) = n.span();
        serde_json::from_str::<String>(text.get(s..e)?).ok()
    };
    let mut edits = Vec::new();
    for (_, packages) in sections {
        for (_, entry) in packages.members() {
            let is_project = entry
                .get("type")
                .and_then(str_of)
                .is_some_and(|t| t.eq_ignore_ascii_case("project"));
            if !is_project {
                continue;
            }
            let deps = entry
                .get("dependencies")
                .map(Node::members)
                .unwrap_or_default();
            for (name, range) in deps {
                let pins = str_of(range).is_some_and(|r| project::pins(&r, from));
                if name.eq_ignore_ascii_case(pkg) && pins {
                    let (s, e) = range.span();
                    edits.push((s, e, quote(&format!("[{to_norm}, )"))));
                }
            }
        }
    }
    edits
}

/// The new version's dependencies for the framework of `section` (NuGet's nearest group),
/// ordered by id with legacy short ranges, each already locked at a version its range admits
/// (`locked` gives the section's resolved version of an id); else what the restore must do.
pub(super) fn dependencies_for(
    release: &NugetRelease,
    section: &str,
    locked: &dyn Fn(&str) -> Option<String>,
    pkg: &str,
    to: &str,
) -> Result<Vec<(String, String)>, PatchError> {
    let groups: Vec<Option<&str>> = release
        .dependency_groups
        .iter()
        .map(|g| g.target_framework.as_deref())
        .collect();
    let mut wanted: Vec<(String, String)> = match nearest_group(section, &groups) {
        Some(i) => release.dependency_groups[i].dependencies.clone(),
        None => Vec::new(),
    };
    wanted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut new_deps: Vec<(String, String)> = Vec::new();
    for (id, range) in &wanted {
        let Some(parsed) = Range::parse(range) else {
            return not_fixable(format!(
                "{pkg} {to} requires {id} `{range}`, a range backline does not read"
            ));
        };
        match locked(id) {
            Some(v) if parsed.admits(&v) => {}
            Some(v) => {
                return not_fixable(format!(
                    "{pkg} {to} needs {id} `{range}`, the lockfile has {v} for {section}; run `dotnet restore --force-evaluate`"
                ))
            }
            None => {
                return not_fixable(format!(
                    "{pkg} {to} requires {id} `{range}`, which the lockfile does not have for {section}; run `dotnet restore --force-evaluate`"
                ))
            }
        }
        new_deps.push((id.clone(), parsed.legacy_short()));
    }
    Ok(new_deps)
}

/// The locked packages from a direct dependency down to `parent` at `version` (itself last),
/// each with its resolved version: the parents' `dependencies` walked up within the first
/// framework section that locks `parent` at `version` (empty when none does).
pub(crate) fn chain(bytes: &[u8], parent: &str, version: &str) -> Vec<(String, String)> {
    let Ok(full) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let Ok(lock) = serde_json::from_str::<serde_json::Value>(full.trim_start_matches('\u{feff}'))
    else {
        return Vec::new();
    };
    let resolved = |e: &serde_json::Value| {
        e.get("resolved")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let sections = lock
        .get("dependencies")
        .and_then(serde_json::Value::as_object);
    for packages in sections.into_iter().flat_map(|m| m.values()) {
        let Some(packages) = packages.as_object() else {
            continue;
        };
        let Some((name, entry)) = packages
            .iter()
            .find(|(n, e)| n.eq_ignore_ascii_case(parent) && resolved(e) == version)
        else {
            continue;
        };
        let mut out = vec![(name.clone(), resolved(entry))];
        let mut current = name.clone();
        // Up through the parents, at most as deep as the section is long (no cycles).
        for _ in 0..packages.len() {
            let kind = packages
                .get(&current)
                .and_then(|e| e.get("type"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            if kind.eq_ignore_ascii_case("direct") {
                break;
            }
            let up = packages.iter().find(|(n, e)| {
                !out.iter().any(|(o, _)| o == *n)
                    && e.get("dependencies")
                        .and_then(serde_json::Value::as_object)
                        .is_some_and(|d| d.keys().any(|k| k.eq_ignore_ascii_case(&current)))
            });
            let Some((n, e)) = up else { break };
            out.insert(0, (n.clone(), resolved(e)));
            current = n.clone();
        }
        return out;
    }
    Vec::new()
}

/// A version text from a project file as a reason may quote it: short and plain, else not at
/// all (the file is the repository's, untrusted).
pub(super) fn shown(text: &str) -> &str {
    let plain = text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-+[](), $_".contains(&b));
    if plain {
        text
    } else {
        "(not shown)"
    }
}

/// A lock entry as dotnet writes it.
pub(super) struct Entry<'a> {
    pub(super) kind: &'a str,
    pub(super) requested: Option<&'a str>,
    pub(super) resolved: &'a str,
    pub(super) content_hash: &'a str,
    pub(super) dependencies: &'a [(String, String)],
}

impl Entry<'_> {
    /// The object, its first line at `indent`'s level (the `{` follows the key).
    pub(super) fn render(&self, indent: &str, eol: &str) -> String {
        let inner = format!("{indent}  ");
        let mut lines = vec![format!("{inner}\"type\": {}", quote(self.kind))];
        if let Some(r) = self.requested {
            lines.push(format!("{inner}\"requested\": {}", quote(r)));
        }
        lines.push(format!("{inner}\"resolved\": {}", quote(self.resolved)));
        lines.push(format!(
            "{inner}\"contentHash\": {}",
            quote(self.content_hash)
        ));
        if !self.dependencies.is_empty() {
            let deps: Vec<String> = self
                .dependencies
                .iter()
                .map(|(n, r)| format!("{inner}  {}: {}", quote(n), quote(r)))
                .collect();
            lines.push(format!(
                "{inner}\"dependencies\": {{{eol}{}{eol}{inner}}}",
                deps.join(&format!(",{eol}"))
            ));
        }
        format!("{{{eol}{}{eol}{indent}}}", lines.join(&format!(",{eol}")))
    }
}

/// Moves the package's version where the project declares it: a project file's
/// `PackageReference`, else (central package management) `Directory.Packages.props`.
fn project_edit(req: &PatchRequest) -> Result<FileChange, PatchError> {
    let (pkg, from, to) = (req.package, req.from, req.to);
    let candidates = &req.facts.nuget_project_files;
    if candidates.is_empty() {
        return not_fixable(format!(
            "no project file (*.csproj, *.fsproj, *.vbproj) was found beside {}",
            req.manifest_path
        ));
    }
    let mut versionless = false;
    let mut seen: Vec<String> = Vec::new();
    for file in candidates {
        let Some(bytes) = (req.files)(file) else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return not_fixable(format!("{file} is not UTF-8"));
        };
        let element = if file.ends_with("Directory.Packages.props") {
            "PackageVersion"
        } else {
            "PackageReference"
        };
        let refs = project::references(file, text, element, pkg).map_err(|e| {
            PatchError::Unreadable(ParseError::new(file, Some(e.line as usize), e.message))
        })?;
        versionless |= refs.versionless;
        let pinned: Vec<&Found> = refs
            .versions
            .iter()
            .filter(|f| project::pins(&f.text, from))
            .collect();
        seen.extend(
            refs.versions
                .iter()
                .map(|f| format!("{file}: `{}`", shown(&f.text))),
        );
        if pinned.is_empty() {
            continue;
        }
        let edits = pinned
            .iter()
            .map(|f| {
                (
                    f.range.start,
                    f.range.end,
                    project::replacement(&f.text, to),
                )
            })
            .collect();
        return Ok(FileChange {
            path: file.clone(),
            content: apply_edits(text, edits).into_bytes(),
        });
    }
    if seen.is_empty() {
        let why = if versionless {
            "its PackageReference has no version and no Directory.Packages.props names it"
        } else {
            "no project file references it"
        };
        return not_fixable(format!("the version of {pkg} was not found: {why}"));
    }
    not_fixable(format!(
        "{pkg}'s version is not {from} where the project declares it ({}); a property or range backline does not edit",
        seen.join(", ")
    ))
}

#[cfg(test)]
mod tests;
