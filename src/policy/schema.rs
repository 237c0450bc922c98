//! The JSON Schema of the policy file, served at `/api/v1/policy-schema.json` and committed as
//! `schema/backline-policy.schema.json` (a test checks they agree, and that the schema names
//! exactly the keys the parser takes). Pure.

use serde_json::{json, Value};

/// The schema file in the repository.
pub const COMMITTED: &str = include_str!("../../schema/backline-policy.schema.json");

fn strings(description: &str, item: Value) -> Value {
    json!({"type": "array", "description": description, "items": item})
}

/// The schema.
pub fn schema() -> Value {
    let username = json!({"type": "string", "pattern": "^@?[A-Za-z0-9_][A-Za-z0-9_.-]*$"});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://backline.dev/schema/backline-policy.schema.json",
        "title": "backline policy (.gitlab/backline.yml or .backline.yml)",
        "description": "Every key is optional; the instance settings are the defaults; unknown keys are errors.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "enabled": {"type": "boolean", "description": "false: catalogued, not scanned or acted on"},
            "auto_approve": {"enum": ["critical", "high", "medium", "low", "none"], "description": "fixes at or above this severity open without a person's approval"},
            "max_open_mrs": {"type": "integer", "minimum": 0, "maximum": 4294967295u64, "description": "open bot MRs at most"},
            "labels": strings("MR labels; replaces the instance's labels", json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^,]+$"})),
            "assignees": strings("MR assignees (usernames)", username.clone()),
            "reviewers": strings("MR reviewers: usernames, or the word codeowners (the CODEOWNERS owners of the manifest's path)", json!({"anyOf": [{"const": "codeowners"}, username]})),
            "paths_ignore": strings("manifests under these globs are not read (** any folders, * within a name, ? one character)", json!({"type": "string", "minLength": 1, "pattern": "^[^/]"})),
            "ignore": {
                "type": "array",
                "description": "ignored packages (optionally one version) or advisories (by id or alias)",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "package": {"type": "string", "minLength": 1},
                        "version": {"type": "string", "minLength": 1},
                        "advisory": {"type": "string", "minLength": 1},
                        "reason": {"type": "string"},
                        "until": {"type": "string", "format": "date", "description": "the last day the ignore holds; after it the fix is planned again"}
                    },
                    "anyOf": [{"required": ["package"]}, {"required": ["advisory"]}],
                    "dependentRequired": {"version": ["package"]}
                }
            },
            "update_outdated": {"type": "boolean", "description": "also plan upgrades of outdated direct dependencies"},
            "schedule": {"type": "string", "description": "when non-security upgrades may open: DAYS HH:MM-HH:MM ZONE (Mon-Fri 06:00-09:00 Europe/Berlin); security fixes never wait", "pattern": "^\\S+ [0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2} \\S+$"},
            "group": {"enum": ["none", "manifest"], "description": "manifest: one MR per manifest carrying all of its fixes"},
            "auto_merge": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "enabled": {"type": "boolean", "description": "ask GitLab to merge the bot's MRs when their pipeline succeeds"},
                    "max_bump": {"enum": ["patch", "minor", "major"], "description": "larger bumps never merge themselves"}
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::file::parse;

    /// The field names serde lists for an unknown key (`expected one of `a`, `b``).
    fn parser_keys(text: &str) -> Vec<String> {
        let e = parse(text.as_bytes()).unwrap_err();
        let list = e.message.split("expected ").nth(1).unwrap_or("");
        let list = list.strip_prefix("one of ").unwrap_or(list);
        let mut keys: Vec<String> = list
            .split([',', ' '])
            .filter(|k| k.starts_with('`'))
            .map(|k| k.trim_matches('`').to_string())
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort();
        keys
    }

    fn schema_keys(v: &Value) -> Vec<String> {
        let mut keys: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn the_committed_schema_is_the_served_one() {
        let committed: Value = serde_json::from_str(COMMITTED).unwrap();
        if committed != schema() {
            let _ = std::fs::write(
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/target/backline-policy.schema.json"
                ),
                serde_json::to_string_pretty(&schema()).unwrap_or_default() + "\n",
            );
        }
        assert_eq!(
            committed,
            schema(),
            "regenerate schema/backline-policy.schema.json from policy::schema::schema()"
        );
    }

    #[test]
    fn the_schema_names_exactly_the_keys_the_parser_takes() {
        let s = schema();
        assert_eq!(schema_keys(&s), parser_keys("not_a_key: 1\n"));
        assert_eq!(
            schema_keys(&s["properties"]["auto_merge"]),
            parser_keys("auto_merge:\n  not_a_key: 1\n")
        );
        assert_eq!(
            schema_keys(&s["properties"]["ignore"]["items"]),
            parser_keys("ignore:\n  - not_a_key: 1\n")
        );
    }
}
