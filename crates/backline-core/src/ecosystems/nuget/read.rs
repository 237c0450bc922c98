//! NuGet `packages.lock.json`.
//!
//! `dependencies` holds one map per target framework (and runtime); each package has a `type`:
//! `Direct`, `Transitive`, `CentralTransitive` (central package management) or `Project`
//! (another project of the solution: not reported). The version is `resolved`. A package's own
//! `dependencies` make it the parent of those. Packages repeated across frameworks are reported
//! once (names compare case-insensitively).

use std::collections::HashMap;

use serde_json::Value;

use crate::deps::text::from_json;
use crate::deps::{dedupe, Dependency, ParseError};
use crate::ecosystem::Ecosystem;

/// Parses a `packages.lock.json`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Dependency>, ParseError> {
    let lock: Value = from_json(file, bytes)?;
    let Some(frameworks) = lock.get("dependencies").and_then(Value::as_object) else {
        return Err(ParseError::new(
            file,
            Some(1),
            "expected a `dependencies` object",
        ));
    };
    let mut parent_of: HashMap<String, &str> = HashMap::new();
    for packages in frameworks.values().filter_map(Value::as_object) {
        for (name, entry) in packages {
            for child in entry
                .get("dependencies")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|m| m.keys())
            {
                parent_of.entry(child.to_ascii_lowercase()).or_insert(name);
            }
        }
    }
    let mut out = Vec::new();
    for packages in frameworks.values().filter_map(Value::as_object) {
        for (name, entry) in packages {
            let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
            let Some(version) = entry.get("resolved").and_then(Value::as_str) else {
                continue;
            };
            if kind.eq_ignore_ascii_case("project") {
                continue;
            }
            let direct = kind.eq_ignore_ascii_case("direct");
            let parent = if direct {
                None
            } else {
                parent_of
                    .get(&name.to_ascii_lowercase())
                    .map(|s| s.to_string())
            };
            out.push(
                Dependency::new(Ecosystem::NuGet, name, Some(version.to_string()), direct)
                    .with_parent(parent),
            );
        }
    }
    Ok(dedupe(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
  "version": 1,
  "dependencies": {
    "net8.0": {
      "Newtonsoft.Json": {
        "type": "Direct",
        "requested": "[13.0.3, )",
        "resolved": "13.0.3",
        "contentHash": "HrC5BXdl00IP9zeV+0Z848QWPAoCr9P3bDEZguI+gkLcBKAOxix/tLEAAHC+UvDNPv4a2d18lOReHMOagPa+zQ=="
      },
      "Serilog": {
        "type": "Direct",
        "requested": "[3.1.1, )",
        "resolved": "3.1.1",
        "dependencies": { "System.Diagnostics.DiagnosticSource": "7.0.2" }
      },
      "System.Diagnostics.DiagnosticSource": {
        "type": "Transitive",
        "resolved": "7.0.2",
        "dependencies": { "System.Runtime.CompilerServices.Unsafe": "6.0.0" }
      },
      "System.Runtime.CompilerServices.Unsafe": { "type": "Transitive", "resolved": "6.0.0" },
      "MyCompany.Shared": {
        "type": "Project",
        "dependencies": { "Newtonsoft.Json": "[13.0.3, )" }
      }
    },
    "net6.0": {
      "Newtonsoft.Json": { "type": "Direct", "requested": "[13.0.3, )", "resolved": "13.0.3" },
      "System.Memory": { "type": "CentralTransitive", "requested": "[4.5.5, )", "resolved": "4.5.5" }
    }
  }
}"#;

    #[test]
    fn frameworks_types_and_dedupe() {
        let deps = parse("packages.lock.json", LOCK.as_bytes()).unwrap();
        let got: Vec<(&str, &str, bool, Option<&str>)> = deps
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.version.as_deref().unwrap(),
                    d.direct,
                    d.parent.as_deref(),
                )
            })
            .collect();
        assert_eq!(got.len(), 5, "{got:?}");
        assert!(got.contains(&("Newtonsoft.Json", "13.0.3", true, None)));
        assert!(got.contains(&(
            "System.Diagnostics.DiagnosticSource",
            "7.0.2",
            false,
            Some("Serilog")
        )));
        assert!(got.contains(&(
            "System.Runtime.CompilerServices.Unsafe",
            "6.0.0",
            false,
            Some("System.Diagnostics.DiagnosticSource")
        )));
        assert!(got.contains(&("System.Memory", "4.5.5", false, None)));
        assert!(deps.iter().all(|d| d.name != "MyCompany.Shared"));
    }

    #[test]
    fn malformed_json_names_the_line() {
        let bad = "{\n  \"version\": 1,\n  \"dependencies\": {\n    \"net8.0\": {\n      \"A\": { \"resolved\": 1.0.0 }\n    }\n  }\n}";
        let e = parse("src/App/packages.lock.json", bad.as_bytes()).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line),
            ("src/App/packages.lock.json", Some(5)),
            "{e}"
        );
        let e = parse("packages.lock.json", b"{\"version\": 1}").unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
