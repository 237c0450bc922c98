//! NuGet's override (issue 18): a transitive package whose fix its parents' ranges exclude is
//! pinned the ways NuGet documents
//! (<https://learn.microsoft.com/nuget/consume-packages/central-package-management#transitive-pinning>):
//!
//! - with central package management and `CentralPackageTransitivePinningEnabled`, a
//!   `<PackageVersion Include="X" Version="fixed" />` in Directory.Packages.props; the lock
//!   entry becomes `CentralTransitive` with `requested` `[fixed, )`;
//! - without it, a direct `<PackageReference Include="X" Version="fixed" />` in the project
//!   file; the entry becomes `Direct` with `requested` `[fixed, )`.
//!
//! The entry moves to where dotnet writes it: NuGet.Client
//! `PackagesLockFileBuilder.CreateNuGetLockFile` orders a framework's entries by type (`Direct`,
//! `Transitive`, `Project`, `CentralTransitive`: `PackageDependencyType`'s order) and within a
//! type as the assets file lists them, by id ignoring case. Every other entry keeps its bytes.
//! The parents' own ranges stay as they are (the lock records what each parent declares);
//! NuGet warns (NU1608) when a pin is above a parent's upper bound, and restores.

use super::patch::{dependencies_for, Entry};
use super::version::normalize;
use crate::deps::ParseError;
use crate::ecosystems::npm::json::{indent_at, quote, scan, Node};
use crate::ecosystems::npm::overrides::OverrideKind;
use crate::remediation::patch::{
    apply_edits, line_ending, not_fixable, FileChange, PatchError, PatchRequest,
};

/// How the project pins a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PinKind {
    /// A `PackageVersion` in Directory.Packages.props (transitive pinning).
    Central,
    /// A direct `PackageReference` in the project file.
    Direct,
}

impl PinKind {
    /// The lock entry's `type` once pinned.
    fn lock_type(self) -> &'static str {
        match self {
            PinKind::Central => "CentralTransitive",
            PinKind::Direct => "Direct",
        }
    }

    /// The override mechanism it is, as the plan and the MR name it.
    pub(crate) fn mechanism(self) -> OverrideKind {
        match self {
            PinKind::Central => OverrideKind::NugetCentralPin,
            PinKind::Direct => OverrideKind::NugetDirectReference,
        }
    }
}

/// The place of a lock entry type in dotnet's order (`PackageDependencyType`).
fn rank(kind: &str) -> u8 {
    match kind.to_ascii_lowercase().as_str() {
        "direct" => 0,
        "project" => 2,
        "centraltransitive" => 3,
        _ => 1,
    }
}

/// .NET's `StringComparer.OrdinalIgnoreCase` (upper-cased ordinal).
fn ordinal_ignore_case(a: &str, b: &str) -> std::cmp::Ordering {
    a.to_uppercase().cmp(&b.to_uppercase())
}

/// The file the pin is written to, with its text.
struct Target {
    kind: PinKind,
    path: String,
    text: String,
}

/// Whether an MSBuild property is set to `true` in the text (`<Name>true</Name>`).
fn property_true(text: &str, name: &str) -> bool {
    let body = text.trim_start_matches('\u{feff}');
    roxmltree::Document::parse(body).is_ok_and(|doc| {
        doc.descendants().any(|n| {
            n.has_tag_name(name)
                && n.text()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("true"))
        })
    })
}

/// The project files and Directory.Packages.props the request has, with their texts.
fn project_texts(req: &PatchRequest) -> Vec<(String, String)> {
    req.facts
        .nuget_project_files
        .iter()
        .filter_map(|p| {
            let bytes = (req.files)(p)?;
            Some((p.clone(), String::from_utf8(bytes).ok()?))
        })
        .collect()
}

fn is_props(path: &str) -> bool {
    path.ends_with("Directory.Packages.props")
}

/// Which pin the project takes, from its files: central when the nearest
/// Directory.Packages.props turns central package management on, else a direct reference.
pub(crate) fn kind_of(req: &PatchRequest) -> PinKind {
    let central = project_texts(req)
        .iter()
        .any(|(p, t)| is_props(p) && property_true(t, "ManagePackageVersionsCentrally"));
    if central {
        PinKind::Central
    } else {
        PinKind::Direct
    }
}

/// The file to write the pin to, or why none can be.
fn target(req: &PatchRequest) -> Result<Target, PatchError> {
    let texts = project_texts(req);
    let kind = kind_of(req);
    match kind {
        PinKind::Central => {
            let pinning = texts
                .iter()
                .any(|(_, t)| property_true(t, "CentralPackageTransitivePinningEnabled"));
            if !pinning {
                return not_fixable(
                    "the project manages versions centrally without CentralPackageTransitivePinningEnabled, so a PackageVersion would not pin a transitive package; turn transitive pinning on (it pins every centrally listed package)",
                );
            }
            let (path, text) = texts
                .into_iter()
                .find(|(p, _)| is_props(p))
                .unwrap_or_default();
            Ok(Target { kind, path, text })
        }
        PinKind::Direct => {
            let mut projects: Vec<(String, String)> =
                texts.into_iter().filter(|(p, _)| !is_props(p)).collect();
            match projects.len() {
                1 => {
                    let (path, text) = projects.remove(0);
                    Ok(Target { kind, path, text })
                }
                0 => not_fixable(format!(
                    "a pin needs the project file (*.csproj, *.fsproj, *.vbproj) beside {}, which was not found",
                    req.manifest_path
                )),
                n => not_fixable(format!(
                    "{n} project files sit beside {}; which one restores it is not known",
                    req.manifest_path
                )),
            }
        }
    }
}

/// XML attribute text.
fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Adds `<element Include="pkg" Version="to" />` to the file: after the last such element
/// (in an ItemGroup without a Condition), on its own line with its indentation; when there is
/// none, in a new ItemGroup before `</Project>`.
fn add_item(t: &Target, element: &str, pkg: &str, to: &str) -> Result<FileChange, PatchError> {
    let bom = if t.text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &t.text[bom..];
    let doc = roxmltree::Document::parse(body).map_err(|e| {
        PatchError::Unreadable(ParseError::new(
            &t.path,
            Some(e.pos().row as usize),
            e.to_string(),
        ))
    })?;
    let items: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name(element))
        .collect();
    let names = |n: &roxmltree::Node| {
        n.attribute("Include")
            .or_else(|| n.attribute("Update"))
            .unwrap_or("")
            .split(';')
            .any(|x| x.trim().eq_ignore_ascii_case(pkg))
    };
    if items.iter().any(names) {
        return not_fixable(format!(
            "{} already has a {element} for {pkg}; its version is not the locked one",
            t.path
        ));
    }
    let eol = line_ending(body);
    let item = format!(
        "<{element} Include=\"{}\" Version=\"{}\" />",
        xml_attr(pkg),
        xml_attr(to)
    );
    let unconditioned = |n: &roxmltree::Node| {
        n.parent_element()
            .is_some_and(|g| g.has_tag_name("ItemGroup") && g.attribute("Condition").is_none())
    };
    let edit = match items.iter().rev().find(|n| unconditioned(n)) {
        Some(last) => {
            let r = last.range();
            let indent = indent_at(body, r.start);
            (r.end, r.end, format!("{eol}{indent}{item}"))
        }
        None => {
            let root = doc.root_element();
            let step = root
                .children()
                .find(|c| c.is_element())
                .map(|c| indent_at(body, c.range().start).to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "  ".to_string());
            let close = body[..root.range().end].rfind("</").unwrap_or(body.len());
            let line_start = body[..close].rfind('\n').map_or(0, |i| i + 1);
            let at = if body[line_start..close].trim().is_empty() {
                line_start
            } else {
                close
            };
            (
                at,
                at,
                format!("{step}<ItemGroup>{eol}{step}{step}{item}{eol}{step}</ItemGroup>{eol}"),
            )
        }
    };
    Ok(FileChange {
        path: t.path.clone(),
        content: format!("{}{}", &t.text[..bom], apply_edits(body, vec![edit])).into_bytes(),
    })
}

/// A framework section laid out again with one entry moved to its place; `None` when the
/// section is not in dotnet's layout (one member per line), so that rebuilding it would
/// change other entries' bytes.
fn relayout(
    text: &str,
    packages: &Node,
    moved: usize,
    moved_kind: &str,
    rendered: &str,
    eol: &str,
) -> Option<String> {
    let members = packages.members();
    let (s, e) = packages.span();
    let close_indent = indent_at(text, s);
    let member_indent = indent_at(text, members.first()?.1.span().0);
    let render = |items: &[(String, String)]| {
        let lines: Vec<String> = items
            .iter()
            .map(|(k, raw)| format!("{member_indent}{}: {raw}", quote(k)))
            .collect();
        format!(
            "{{{eol}{}{eol}{close_indent}}}",
            lines.join(&format!(",{eol}"))
        )
    };
    let kind_of = |n: &Node| {
        n.get("type")
            .and_then(|t| {
                let (a, b) = t.span();
                serde_json::from_str::<String>(text.get(a..b)?).ok()
            })
            .unwrap_or_default()
    };
    let mut items: Vec<(String, String, u8)> = members
        .iter()
        .map(|(k, v)| {
            let (a, b) = v.span();
            (k.clone(), text[a..b].to_string(), rank(&kind_of(v)))
        })
        .collect();
    let plain: Vec<(String, String)> = items
        .iter()
        .map(|(k, r, _)| (k.clone(), r.clone()))
        .collect();
    if render(&plain) != text[s..e] {
        return None;
    }
    let (key, _, _) = items.remove(moved);
    let new_rank = rank(moved_kind);
    let at = items
        .iter()
        .position(|(k, _, r)| {
            *r > new_rank
                || (*r == new_rank && ordinal_ignore_case(k, &key) == std::cmp::Ordering::Greater)
        })
        .unwrap_or(items.len());
    items.insert(at, (key, rendered.to_string(), new_rank));
    let plain: Vec<(String, String)> = items.into_iter().map(|(k, r, _)| (k, r)).collect();
    Some(render(&plain))
}

/// Pins `req.package` at `req.to` (the override route): the lock's entries and the file that
/// pins it.
pub(crate) fn patch(req: &PatchRequest, full: &str) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    let bom = if full.starts_with('\u{feff}') { 3 } else { 0 };
    let text = &full[bom..];
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
    let target = target(req)?;
    let str_of = |n: &Node| -> Option<String> {
        let (s, e) = n.span();
        serde_json::from_str::<String>(text.get(s..e)?).ok()
    };
    let eol = line_ending(text);
    let requested = format!("[{to_norm}, )");
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut locked_name: Option<String> = None;
    let sections = root
        .get("dependencies")
        .map(Node::members)
        .unwrap_or_default();
    for (section, packages) in sections {
        let members = packages.members();
        let Some(i) = members
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(pkg))
        else {
            // A framework (not a runtime's section) that does not lock the package would get
            // it from a direct reference: that needs the restore.
            if target.kind == PinKind::Direct && !section.contains('/') {
                return not_fixable(format!(
                    "{pkg} is not locked for {section}, where a direct PackageReference would add it; run `dotnet restore --force-evaluate`"
                ));
            }
            continue;
        };
        let (name, entry) = &members[i];
        let at_from = entry
            .get("resolved")
            .and_then(str_of)
            .and_then(|v| normalize(&v))
            .is_some_and(|v| v.eq_ignore_ascii_case(&from_norm));
        if !at_from {
            return not_fixable(format!(
                "{path} locks {pkg} at another version than {} for {section}",
                req.from
            ));
        }
        let kind_now = entry.get("type").and_then(str_of).unwrap_or_default();
        if !kind_now.eq_ignore_ascii_case("transitive") {
            return not_fixable(format!(
                "{pkg} is {} for {section}: a pin is for transitive packages",
                super::patch::shown(&kind_now)
            ));
        }
        locked_name.get_or_insert_with(|| name.clone());
        let locked = |id: &str| -> Option<String> {
            members
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(id))
                .and_then(|(_, e)| e.get("resolved").and_then(str_of))
        };
        let deps = dependencies_for(release, section, &locked, pkg, to)?;
        let member_indent = indent_at(text, entry.span().0);
        let rendered = Entry {
            kind: target.kind.lock_type(),
            requested: Some(&requested),
            resolved: &to_norm,
            content_hash: &release.content_hash,
            dependencies: &deps,
        }
        .render(member_indent, eol);
        let Some(section_text) =
            relayout(text, packages, i, target.kind.lock_type(), &rendered, eol)
        else {
            return not_fixable(format!(
                "{path}'s {section} section is not laid out as dotnet writes it; run `dotnet restore --force-evaluate`"
            ));
        };
        let (s, e) = packages.span();
        edits.push((s, e, section_text));
    }
    let Some(name) = locked_name else {
        return not_fixable(format!("{path} has no {pkg} {}", req.from));
    };
    let lock = FileChange {
        path: path.to_string(),
        content: format!("{}{}", &full[..bom], apply_edits(text, edits)).into_bytes(),
    };
    let element = match target.kind {
        PinKind::Central => "PackageVersion",
        PinKind::Direct => "PackageReference",
    };
    let pin = add_item(&target, element, &name, to)?;
    Ok(vec![lock, pin])
}

#[cfg(test)]
#[path = "pin_tests.rs"]
mod tests;
