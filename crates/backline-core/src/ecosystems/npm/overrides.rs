//! Pinned overrides: the package manager is told to install one version of a package under
//! every parent, whatever their ranges say (issue 18, the second way a transitive fix gets
//! through). npm reads `overrides` from package.json (npm's docs, "overrides"; the lockfile
//! records only the result), yarn `resolutions` (v1 and berry), pnpm `pnpm.overrides` (which
//! pnpm-lock.yaml also records under `overrides:`), uv `[tool.uv] override-dependencies`
//! (written by `ecosystems/uv/overrides`), NuGet a pinned `PackageVersion` or a direct
//! `PackageReference` (written by `ecosystems/nuget/pin`). Cargo and Composer have none.

use serde::{Deserialize, Serialize};

use super::json::{indent_at, quote, render_object, scan, Node};
use crate::deps::{ManifestFormat, ParseError};
use crate::remediation::patch::{
    apply_edits, line_ending, not_fixable, FileChange, PatchError, PatchRequest,
};

/// Which override mechanism a fix wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideKind {
    /// npm's `overrides` in package.json.
    NpmOverrides,
    /// yarn's `resolutions` in package.json.
    YarnResolutions,
    /// pnpm's `pnpm.overrides` in package.json (and `overrides:` in pnpm-lock.yaml).
    PnpmOverrides,
    /// uv's `[tool.uv] override-dependencies` in pyproject.toml (and `[manifest] overrides`
    /// in uv.lock).
    UvOverrideDependencies,
    /// NuGet with central package management and transitive pinning: a `PackageVersion` in
    /// Directory.Packages.props (the lock entry becomes `CentralTransitive`).
    NugetCentralPin,
    /// NuGet without central package management: a direct `PackageReference` in the project
    /// file (the lock entry becomes `Direct`).
    NugetDirectReference,
}

impl OverrideKind {
    /// The mechanism of a lockfile format, `None` when the ecosystem has none.
    pub fn of(format: ManifestFormat) -> Option<OverrideKind> {
        match format {
            ManifestFormat::PackageLock => Some(OverrideKind::NpmOverrides),
            ManifestFormat::YarnLock => Some(OverrideKind::YarnResolutions),
            ManifestFormat::PnpmLock => Some(OverrideKind::PnpmOverrides),
            ManifestFormat::UvLock => Some(OverrideKind::UvOverrideDependencies),
            _ => None,
        }
    }

    /// Where in package.json it lives, as people write it.
    pub fn field(self) -> &'static str {
        match self {
            OverrideKind::NpmOverrides => "overrides",
            OverrideKind::YarnResolutions => "resolutions",
            OverrideKind::PnpmOverrides => "pnpm.overrides",
            OverrideKind::UvOverrideDependencies => "tool.uv.override-dependencies",
            OverrideKind::NugetCentralPin => "PackageVersion",
            OverrideKind::NugetDirectReference => "PackageReference",
        }
    }

    /// What the reviewer should know about the pin beyond the reason, as the MR says it.
    pub fn caveat(self) -> Option<&'static str> {
        match self {
            // NuGet reports a resolved version outside a dependency's declared range as NU1608
            // ("Detected package version outside of dependency constraint"), a warning that
            // TreatWarningsAsErrors turns into an error.
            OverrideKind::NugetCentralPin | OverrideKind::NugetDirectReference => Some(
                "dotnet restore warns NU1608 that the version is outside the parent's range; where warnings are errors (TreatWarningsAsErrors) the build needs that warning allowed.",
            ),
            _ => None,
        }
    }

    /// The file it is written in, as the MR names it.
    pub fn file(self) -> &'static str {
        match self {
            OverrideKind::NpmOverrides
            | OverrideKind::YarnResolutions
            | OverrideKind::PnpmOverrides => "package.json",
            OverrideKind::UvOverrideDependencies => "pyproject.toml",
            OverrideKind::NugetCentralPin => {
                "Directory.Packages.props (central transitive pinning)"
            }
            OverrideKind::NugetDirectReference => "the project file",
        }
    }

    /// The JSON path of the object in package.json.
    fn path(self) -> &'static [&'static str] {
        match self {
            OverrideKind::NpmOverrides => &["overrides"],
            OverrideKind::YarnResolutions => &["resolutions"],
            OverrideKind::PnpmOverrides => &["pnpm", "overrides"],
            OverrideKind::UvOverrideDependencies
            | OverrideKind::NugetCentralPin
            | OverrideKind::NugetDirectReference => &[],
        }
    }
}

/// Why a format gets no override.
pub fn none_for(format: ManifestFormat) -> &'static str {
    match format {
        ManifestFormat::CargoLock => {
            "Cargo has no version override for a transitive dependency (`[patch]` replaces a source, not a version): a parent must allow the fix"
        }
        ManifestFormat::ComposerLock => {
            "Composer has no version override for a transitive dependency: a parent must allow the fix"
        }
        _ => "backline writes no version override for this format: a parent must allow the fix",
    }
}

/// The override value: npm refuses an override of a direct dependency unless it is the
/// `$name` reference to the project's own spec (npm's docs, "overrides"); elsewhere the
/// exact version.
pub fn value(kind: OverrideKind, package: &str, to: &str, direct: bool) -> String {
    match kind {
        OverrideKind::NpmOverrides if direct => format!("${package}"),
        _ => to.to_string(),
    }
}

fn sibling(path: &str, name: &str) -> String {
    match path.rsplit_once('/') {
        Some((d, _)) => format!("{d}/{name}"),
        None => name.to_string(),
    }
}

/// Adds (or updates) the override of `req.package` in the package.json beside the lockfile,
/// on top of `changes` (the lockfile edits, and package.json's when its ranges moved).
pub(crate) fn write(
    req: &PatchRequest,
    format: ManifestFormat,
    mut changes: Vec<FileChange>,
) -> Result<Vec<FileChange>, PatchError> {
    let Some(kind) = OverrideKind::of(format) else {
        return not_fixable(none_for(format));
    };
    if kind == OverrideKind::UvOverrideDependencies {
        return crate::ecosystems::uv::overrides::write(req, changes);
    }
    let pj_path = sibling(req.manifest_path, "package.json");
    let current = changes
        .iter()
        .find(|c| c.path == pj_path)
        .map(|c| c.content.clone())
        .or_else(|| (req.files)(&pj_path));
    let Some(bytes) = current else {
        return not_fixable(format!(
            "an override needs {pj_path}, which could not be read"
        ));
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| ParseError::new(&pj_path, None, "the file is not valid UTF-8"))?;
    let new = set_member(
        &text,
        kind.path(),
        req.package,
        &value(kind, req.package, req.to, req.direct),
    )
    .ok_or_else(|| ParseError::new(&pj_path, None, "package.json is not a JSON object"))?;
    match changes.iter_mut().find(|c| c.path == pj_path) {
        Some(c) => c.content = new.into_bytes(),
        None => changes.push(FileChange {
            path: pj_path,
            content: new.into_bytes(),
        }),
    }
    Ok(changes)
}

/// Sets `key: value` in the object at `path` of a JSON document (made when missing), keeping
/// every other byte; `None` when the document or a container on the path is not an object.
pub(crate) fn set_member(text: &str, path: &[&str], key: &str, value: &str) -> Option<String> {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[bom..];
    serde_json::from_str::<serde_json::Value>(body).ok()?;
    let root = scan(body)?;
    let nl = line_ending(body);
    let step = step_of(body, &root);
    let mut node = &root;
    let mut depth = 0;
    // Walks down as far as the containers exist.
    while depth < path.len() {
        match node.get(path[depth]) {
            Some(n @ Node::Object(..)) => {
                node = n;
                depth += 1;
            }
            Some(_) => return None,
            None => break,
        }
    }
    if !matches!(node, Node::Object(..)) {
        return None;
    }
    let edit = if depth == path.len() {
        match node.get(key) {
            Some(existing) => {
                let (s, e) = existing.span();
                (s, e, quote(value))
            }
            None => insert(body, node, key, quote(value), step, nl),
        }
    } else {
        // Builds the missing containers from the inside out.
        let own_indent = member_indent(body, node, step);
        let mut inner_indent = own_indent.clone();
        for _ in depth + 1..path.len() {
            inner_indent.push_str(step);
        }
        let one = std::collections::BTreeMap::from([(key.to_string(), value.to_string())]);
        let mut rendered = render_object(one.iter(), &inner_indent, step, nl);
        for (i, name) in path[depth + 1..].iter().enumerate().rev() {
            let indent = format!("{own_indent}{}", step.repeat(i));
            rendered = format!(
                "{{{nl}{indent}{step}{}: {rendered}{nl}{indent}}}",
                quote(name)
            );
        }
        insert(body, node, path[depth], rendered, step, nl)
    };
    Some(format!("{}{}", &text[..bom], apply_edits(body, vec![edit])))
}

/// The indentation of an object's members.
fn member_indent(text: &str, node: &Node, step: &str) -> String {
    match node.members().first() {
        Some((_, v)) => indent_at(text, v.span().0).to_string(),
        None => format!("{}{step}", indent_at(text, node.span().0)),
    }
}

/// The document's indentation step (its first member's), two spaces by default.
fn step_of<'a>(text: &'a str, root: &Node) -> &'a str {
    match root.members().first() {
        Some((_, v)) => {
            let i = indent_at(text, v.span().0);
            if i.is_empty() {
                "  "
            } else {
                i
            }
        }
        None => "  ",
    }
}

/// The edit adding member `key: rendered` at the end of `node`.
fn insert(
    text: &str,
    node: &Node,
    key: &str,
    rendered: String,
    step: &str,
    nl: &str,
) -> (usize, usize, String) {
    let indent = member_indent(text, node, step);
    match node.members().last() {
        Some((_, last)) => {
            let (_, e) = last.span();
            (e, e, format!(",{nl}{indent}{}: {rendered}", quote(key)))
        }
        None => {
            let (s, e) = node.span();
            let outer = indent_at(text, s);
            (
                s,
                e,
                format!("{{{nl}{indent}{}: {rendered}{nl}{outer}}}", quote(key)),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_container_is_added_in_the_files_style() {
        let pj = "{\n  \"name\": \"app\",\n  \"dependencies\": {\n    \"a\": \"^1.2.0\"\n  }\n}\n";
        assert_eq!(
            set_member(pj, &["overrides"], "b", "3.0.1").unwrap(),
            "{\n  \"name\": \"app\",\n  \"dependencies\": {\n    \"a\": \"^1.2.0\"\n  },\n  \"overrides\": {\n    \"b\": \"3.0.1\"\n  }\n}\n"
        );
        assert_eq!(
            set_member(pj, &["pnpm", "overrides"], "b", "3.0.1").unwrap(),
            "{\n  \"name\": \"app\",\n  \"dependencies\": {\n    \"a\": \"^1.2.0\"\n  },\n  \"pnpm\": {\n    \"overrides\": {\n      \"b\": \"3.0.1\"\n    }\n  }\n}\n"
        );
        // Four-space files and CRLF stay so.
        let four = "{\r\n    \"name\": \"app\"\r\n}";
        assert_eq!(
            set_member(four, &["resolutions"], "b", "3.0.1").unwrap(),
            "{\r\n    \"name\": \"app\",\r\n    \"resolutions\": {\r\n        \"b\": \"3.0.1\"\r\n    }\r\n}"
        );
    }

    #[test]
    fn an_existing_override_is_updated_and_others_kept() {
        let pj = "{\n  \"overrides\": {\n    \"x\": \"1.0.0\",\n    \"b\": \"3.0.0\"\n  }\n}\n";
        assert_eq!(
            set_member(pj, &["overrides"], "b", "3.0.1").unwrap(),
            pj.replace("3.0.0", "3.0.1")
        );
        assert_eq!(
            set_member(pj, &["overrides"], "c", "2.0.0").unwrap(),
            "{\n  \"overrides\": {\n    \"x\": \"1.0.0\",\n    \"b\": \"3.0.0\",\n    \"c\": \"2.0.0\"\n  }\n}\n"
        );
        let empty = "{\n  \"pnpm\": {}\n}\n";
        assert_eq!(
            set_member(empty, &["pnpm", "overrides"], "b", "3.0.1").unwrap(),
            "{\n  \"pnpm\": {\n    \"overrides\": {\n      \"b\": \"3.0.1\"\n    }\n  }\n}\n"
        );
        // Not an object where the override must go: refused.
        assert_eq!(
            set_member("{\"overrides\": 3}", &["overrides"], "b", "1"),
            None
        );
        assert_eq!(set_member("[1]", &["overrides"], "b", "1"), None);
    }

    #[test]
    fn npm_overrides_of_a_direct_dependency_use_the_reference() {
        assert_eq!(value(OverrideKind::NpmOverrides, "b", "3.0.1", true), "$b");
        assert_eq!(
            value(OverrideKind::NpmOverrides, "b", "3.0.1", false),
            "3.0.1"
        );
        assert_eq!(
            value(OverrideKind::YarnResolutions, "b", "3.0.1", true),
            "3.0.1"
        );
    }
}
