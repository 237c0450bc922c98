//! `pyproject.toml`, read once for both sides: every dependency it declares, where, and with
//! which constraint. The reader takes the names (directness); the patcher checks the
//! constraints on the package it moves.

use toml::{Table, Value};

use crate::deps::pep503;
use crate::ecosystems::requirements::syntax::{name_and_specifier, pep508_name};

/// Where a dependency is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// `[tool.poetry.dependencies]`, `[tool.poetry.dev-dependencies]`,
    /// `[tool.poetry.group.*.dependencies]` (Poetry's `^`/`~`/exact constraints).
    Poetry,
    /// PEP 621 `[project] dependencies` (PEP 508 strings).
    Project,
    /// PEP 621 `[project.optional-dependencies]`.
    OptionalDependencies,
    /// PEP 735 `[dependency-groups]`.
    DependencyGroup,
}

/// One declared dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Declared {
    /// The PEP 503 name.
    pub(crate) name: String,
    /// The constraint as written (Poetry's form, or a PEP 508 specifier set), when there is one.
    pub(crate) constraint: Option<String>,
    /// Whether a PEP 508 string carries environment markers (`; python_version < "3.8"`).
    pub(crate) markers: bool,
    pub(crate) place: Place,
}

/// Everything a `pyproject.toml` declares; `None` when it cannot be read.
pub(crate) fn declared(text: &str) -> Option<Vec<Declared>> {
    let table: Table = toml::from_str(text).ok()?;
    let mut out = Vec::new();
    let tables = |v: Option<&Value>, out: &mut Vec<Declared>| {
        for (k, v) in v.and_then(Value::as_table).into_iter().flatten() {
            if k == "python" {
                continue;
            }
            let constraint = v
                .as_str()
                .or_else(|| v.get("version").and_then(Value::as_str))
                .map(str::to_string);
            out.push(Declared {
                name: pep503(k),
                constraint,
                markers: false,
                place: Place::Poetry,
            });
        }
    };
    let strings = |v: Option<&Value>, place: Place, out: &mut Vec<Declared>| {
        for s in v
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let name = pep508_name(s);
            if name.is_empty() {
                continue;
            }
            let (_, spec) = name_and_specifier(s.split(';').next().unwrap_or(s));
            out.push(Declared {
                name: pep503(name),
                constraint: (!spec.is_empty()).then(|| spec.to_string()),
                markers: s.contains(';'),
                place,
            });
        }
    };
    if let Some(poetry) = table.get("tool").and_then(|t| t.get("poetry")) {
        tables(poetry.get("dependencies"), &mut out);
        tables(poetry.get("dev-dependencies"), &mut out);
        for group in poetry
            .get("group")
            .and_then(Value::as_table)
            .into_iter()
            .flat_map(|g| g.values())
        {
            tables(group.get("dependencies"), &mut out);
        }
    }
    if let Some(project) = table.get("project") {
        strings(project.get("dependencies"), Place::Project, &mut out);
        for extra in project
            .get("optional-dependencies")
            .and_then(Value::as_table)
            .into_iter()
            .flat_map(|o| o.values())
        {
            strings(Some(extra), Place::OptionalDependencies, &mut out);
        }
    }
    for group in table
        .get("dependency-groups")
        .and_then(Value::as_table)
        .into_iter()
        .flat_map(|g| g.values())
    {
        strings(Some(group), Place::DependencyGroup, &mut out);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_and_list_is_read_with_its_constraint() {
        let text = r#"
[tool.poetry.dependencies]
python = "^3.9"
Jinja2 = "^2.10"
requests = { version = "~2.25", extras = ["socks"] }

[tool.poetry.group.test.dependencies]
pytest = "*"

[project]
dependencies = ["Flask[async] (>=2.0,<3)", "tomli; python_version < '3.11'"]
[project.optional-dependencies]
docs = ["sphinx"]

[dependency-groups]
lint = ["ruff==0.4.0"]
"#;
        let d = declared(text).unwrap();
        let find = |n: &str| d.iter().find(|x| x.name == n).unwrap();
        assert!(d.iter().all(|x| x.name != "python"));
        assert_eq!(find("jinja2").constraint.as_deref(), Some("^2.10"));
        assert_eq!(find("requests").constraint.as_deref(), Some("~2.25"));
        assert_eq!(find("pytest").place, Place::Poetry);
        assert_eq!(find("flask").constraint.as_deref(), Some(">=2.0,<3"));
        assert_eq!(find("flask").place, Place::Project);
        assert!(find("tomli").markers);
        assert_eq!(find("sphinx").place, Place::OptionalDependencies);
        assert_eq!(find("ruff").place, Place::DependencyGroup);
        assert!(declared("not = [toml").is_none());
    }
}
