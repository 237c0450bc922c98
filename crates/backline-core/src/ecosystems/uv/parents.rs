//! The locked packages that depend on a package in `uv.lock` (issue 18). The lock names each
//! dependency without its requirement (`dependencies = [{ name = "idna" }]`), so the
//! requirements come from each parent's PyPI entry (`requires_dist`), which the caller fetches
//! ([`crate::remediation::patch::RegistryFacts::pypi_dependents`]); without them nothing is
//! checked, as before.

use super::patch::{blocks, dep_names, requirements, Block};
use crate::deps::pep503;
use crate::ecosystems::requirements::syntax::pep440_satisfies;
use crate::remediation::patch::{
    not_fixable, parent_excludes, ParentRule, PatchError, PatchRequest,
};

/// Whether `block` lists `pkg` (at `from`, when the reference names a version) among its
/// dependencies.
fn depends_on(block: &Block, pkg: &str, from: &str) -> bool {
    let key = pep503(pkg);
    let mut in_deps = false;
    for (_, l) in &block.lines {
        let t = l.trim();
        let piece = if let Some(rest) = t.strip_prefix("dependencies = [") {
            in_deps = !rest.ends_with(']');
            rest
        } else if in_deps {
            if t == "]" {
                in_deps = false;
                continue;
            }
            t
        } else {
            continue;
        };
        for table in piece.split("{ name = \"").skip(1) {
            let name = table.split('"').next().unwrap_or("");
            let names_version = table.contains("version = \"");
            if dep_names(&format!("{{ name = \"{name}\""))
                .first()
                .is_some_and(|n| *n == key)
                && (!names_version || table.contains(&format!("version = \"{from}\"")))
            {
                return true;
            }
        }
    }
    false
}

/// The registry packages (name, version) in a uv.lock that depend on `pkg` at `from` (the
/// project's own packages are not among them: their requirements are in the lock).
pub(crate) fn dependents(bytes: &[u8], pkg: &str, from: &str) -> Vec<(String, String)> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    blocks(text)
        .iter()
        .filter(|b| {
            b.lines
                .iter()
                .any(|(_, l)| l.starts_with("source = { registry = "))
        })
        .filter(|b| depends_on(b, pkg, from))
        .filter_map(|b| {
            Some((
                b.string("name")?.to_string(),
                b.string("version")?.to_string(),
            ))
        })
        .collect()
}

/// Every fetched parent's requirement on the package must allow the new version, unless the
/// rule lets that parent pass.
pub(super) fn check(
    all: &[Block],
    req: &PatchRequest,
    rule: &ParentRule,
) -> Result<(), PatchError> {
    let Some(fetched) = req.facts.pypi_dependents.as_ref() else {
        return Ok(());
    };
    let (pkg, from, to) = (req.package, req.from, req.to);
    let key = pep503(pkg);
    for block in all
        .iter()
        .filter(|b| depends_on(b, pkg, from) && !b.is_root())
    {
        let (Some(name), Some(version)) = (block.string("name"), block.string("version")) else {
            continue;
        };
        if rule.lets_pass(name, version) {
            continue;
        }
        let Some(release) = fetched
            .iter()
            .find(|r| pep503(&r.name) == pep503(name) && r.version == version)
        else {
            return not_fixable(format!(
                "the PyPI entry of {name} {version}, which depends on {pkg}, was not fetched"
            ));
        };
        for (_, spec) in requirements(release)
            .into_iter()
            .filter(|(n, s)| *n == key && !s.is_empty())
        {
            if pep440_satisfies(&spec, to) == Some(false) {
                return parent_excludes(name, version, pkg, &spec, to);
            }
        }
    }
    Ok(())
}
