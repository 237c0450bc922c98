//! The policy as people read it (the `/backline policy` answer, the project page): one row
//! per key with its value and where it came from, and the newest file's problem. Values from
//! the file are untrusted: escaped for Markdown. Pure.

use super::effective::{Effective, Source};
use super::table::PolicyRecord;
use crate::untrusted::markdown_inline;

/// `(key, value, source)` rows.
pub fn rows(e: &Effective) -> Vec<(String, String, Source)> {
    let json = serde_json::to_value(e).unwrap_or_default();
    let mut out = Vec::new();
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String, Source)>) {
        let Some(map) = v.as_object() else { return };
        if let (Some(value), Some(source)) = (map.get("value"), map.get("source")) {
            let shown = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "none".into(),
                other => other.to_string(),
            };
            let source = if source == "file" {
                Source::File
            } else {
                Source::Instance
            };
            out.push((prefix.to_string(), shown, source));
            return;
        }
        for (k, v) in map {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            walk(&key, v, out);
        }
    }
    walk("", &json, &mut out);
    out
}

/// Where the values came from, in words.
fn source_word(s: Source, record: Option<&PolicyRecord>) -> String {
    match (s, record.and_then(|r| r.path.as_deref())) {
        (Source::File, Some(path)) => format!("`{}`", markdown_inline(path)),
        (Source::File, None) => "the policy file".into(),
        (Source::Instance, _) => "instance".into(),
    }
}

/// The Markdown answer to `/backline policy`.
pub fn note(record: Option<&PolicyRecord>, e: &Effective) -> String {
    let mut s = match record.and_then(|r| r.path.as_deref()) {
        Some(path) => format!(
            "The effective policy: `{}` over the instance settings.\n\n",
            markdown_inline(path)
        ),
        None => "No policy file (`.gitlab/backline.yml` or `.backline.yml`): the instance settings apply.\n\n".into(),
    };
    s.push_str("| key | value | from |\n|---|---|---|\n");
    for (key, value, source) in rows(e) {
        s.push_str(&format!(
            "| {key} | `{}` | {} |\n",
            markdown_inline(&value).replace('|', "\\|"),
            source_word(source, record)
        ));
    }
    if let Some(p) = record.and_then(|r| r.problem.as_ref()) {
        s.push_str(&format!(
            "\n**The newest policy file is refused** ({}); the policy above stays until it is fixed.\n",
            markdown_inline(&p.describe())
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::effective::InstanceDefaults;
    use crate::policy::file::parse;
    use crate::policy::table::Problem;

    #[test]
    fn the_note_names_each_value_and_its_source_and_the_refusal() {
        let text = "labels: [\"@all <b>x</b>\"]\n";
        let e = Effective::merge(
            &InstanceDefaults::default(),
            Some(&parse(text.as_bytes()).unwrap()),
        );
        let record = PolicyRecord {
            path: Some(".gitlab/backline.yml".into()),
            text: Some(text.into()),
            commit: None,
            problem: Some(Problem {
                path: ".gitlab/backline.yml".into(),
                commit: Some("abc".into()),
                line: Some(3),
                message: "unknown field `labelz`".into(),
                at_ms: 0,
            }),
            read_at_ms: 0,
        };
        let n = note(Some(&record), &e);
        assert!(n.contains("| auto_approve | `high` | instance |"), "{n}");
        assert!(n.contains("| labels |"), "{n}");
        assert!(n.contains("| `.gitlab/backline.yml` |"), "{n}");
        assert!(!n.contains("@all"), "mentions are escaped: {n}");
        assert!(
            n.contains("| labels | `[\"@\u{200B}all <b>x</b>\"]` |"),
            "HTML stays in a code span: {n}"
        );
        assert!(n.contains("line 3"), "{n}");
        let plain = note(None, &Effective::merge(&InstanceDefaults::default(), None));
        assert!(plain.starts_with("No policy file"), "{plain}");
    }
}
