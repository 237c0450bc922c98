//! Yarn berry's `yarn.lock` as text blocks: what the berry patcher edits and how yarn writes
//! it back, so that an edited file is what yarn itself would write.
//!
//! The file is a head (comments and the `__metadata` block) and entries separated by blank
//! lines. An entry is a key line (its descriptors, `"pkg@npm:^1.0.0, pkg@npm:^1.2.0":`) and
//! fields indented by two spaces (nested maps by four). Yarn's writer is `stringifySyml` in
//! `packages/yarnpkg-parsers/sources/syml.ts`: keys are sorted with `__metadata`, `version`,
//! `resolution`, `dependencies`, `peerDependencies`, `dependenciesMeta`,
//! `peerDependenciesMeta` first in that order and the rest by code unit order; a string is
//! written bare when it matches its `simpleStringPattern`, else as `JSON.stringify` writes
//! it. The descriptors of one key are sorted and joined by `, ` (`Project.generateLockfile`
//! in `packages/yarnpkg-core/sources/Project.ts`).

use std::cmp::Ordering;

/// A lockfile split into its head and entries.
#[derive(Debug, Clone)]
pub(crate) struct Lock {
    /// Everything before the first entry (comments, `__metadata`, blank lines), as written.
    pub head: String,
    pub entries: Vec<Entry>,
}

/// One entry: its descriptors and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `pkg@npm:^1.0.0` each, as the key lists them.
    pub descriptors: Vec<String>,
    pub fields: Vec<Field>,
}

/// One field of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    /// The field name, unquoted.
    pub name: String,
    pub value: FieldValue,
}

/// A scalar (unquoted) or a map of scalars (`dependencies:`), or lines kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldValue {
    Scalar(String),
    Map(Vec<(String, String)>),
    /// A deeper structure (`dependenciesMeta:`): its lines after the field line, verbatim.
    Raw(String),
}

/// Why the text is not a berry lockfile backline can edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    /// 1-based line.
    pub line: usize,
    pub reason: String,
}

fn unreadable<T>(line: usize, reason: impl Into<String>) -> Result<T, Unreadable> {
    Err(Unreadable {
        line,
        reason: reason.into(),
    })
}

/// `stringifyString`: bare when `simpleStringPattern`
/// (`^(?![-?:,\][{}#&*!|>'"%@` \t\r\n]).([ \t]*(?![,\][{}:# \t\r\n]).)*$`) matches.
pub(crate) fn syml_string(s: &str) -> String {
    if is_simple(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
    }
}

fn is_simple(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if "-?:,][{}#&*!|>'\"%@` \t\r\n".contains(first) {
        return false;
    }
    let rest: Vec<char> = chars.collect();
    // `[ \t]*` then one character outside `,][{}:# \t\r\n`, repeated to the end.
    let mut i = 0;
    while i < rest.len() {
        while i < rest.len() && (rest[i] == ' ' || rest[i] == '\t') {
            i += 1;
        }
        match rest.get(i) {
            Some(c) if !",][{}:# \t\r\n".contains(*c) => i += 1,
            _ => return false,
        }
    }
    true
}

/// A scalar as written: a JSON string when quoted, else the text itself.
fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    if s.starts_with('"') {
        serde_json::from_str::<String>(s).ok()
    } else {
        Some(s.to_string())
    }
}

/// Splits `key: value` (the key possibly quoted); `value` is empty for a block.
fn key_value(t: &str) -> Option<(String, &str)> {
    if t.starts_with('"') {
        // The closing quote: the first unescaped `"` after the opening one.
        let bytes = t.as_bytes();
        let mut i = 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => break,
                _ => i += 1,
            }
        }
        let key = serde_json::from_str::<String>(t.get(..=i)?).ok()?;
        let rest = t.get(i + 1..)?.strip_prefix(':')?;
        Some((key, rest.trim()))
    } else {
        let (k, v) = t.split_once(':')?;
        Some((k.to_string(), v.trim()))
    }
}

/// Yarn's key order (`specialObjectKeys` first, then code unit order).
pub(crate) fn field_order(a: &str, b: &str) -> Ordering {
    const SPECIAL: [&str; 8] = [
        "__metadata",
        "version",
        "resolution",
        "dependencies",
        "peerDependencies",
        "dependenciesMeta",
        "peerDependenciesMeta",
        "binaries",
    ];
    let pos = |k: &str| SPECIAL.iter().position(|s| *s == k);
    match (pos(a), pos(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// A dependency value as a descriptor's reference: yarn 3 (lockfile 6 and older) leaves out
/// the default `npm:` protocol, yarn 4 (lockfile 8 and newer) writes it.
pub(crate) fn with_protocol(value: &str) -> String {
    if value.contains(':') {
        value.to_string()
    } else {
        format!("npm:{value}")
    }
}

impl Lock {
    /// Whether dependency values are written without `npm:` (`__metadata.version` below 8,
    /// as yarn 3 writes them).
    pub(crate) fn bare_npm_ranges(&self) -> bool {
        self.head
            .lines()
            .find_map(|l| l.strip_prefix("  version: "))
            .and_then(|v| v.trim().parse::<u32>().ok())
            .is_some_and(|v| v < 8)
    }

    /// A dependency value for an npm range, as this lockfile writes it.
    pub(crate) fn reference(&self, range: &str) -> String {
        if self.bare_npm_ranges() {
            range.to_string()
        } else {
            format!("npm:{range}")
        }
    }

    /// Splits the text; refuses what yarn would not have written (tabs, `? ` long keys, CR).
    pub(crate) fn parse(text: &str) -> Result<Lock, Unreadable> {
        let mut head = String::new();
        let mut entries: Vec<Entry> = Vec::new();
        let mut in_head = true;
        let mut nested: Option<(String, Vec<String>)> = None;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let flush = |entries: &mut Vec<Entry>, nested: &mut Option<(String, Vec<String>)>| {
            if let (Some((name, lines)), Some(e)) = (nested.take(), entries.last_mut()) {
                let parsed: Option<Vec<(String, String)>> = lines
                    .iter()
                    .map(|l| {
                        let t = l.strip_prefix("    ")?.trim_end_matches('\n');
                        if t.starts_with(' ') {
                            return None;
                        }
                        let (k, v) = key_value(t)?;
                        if v.is_empty() {
                            return None;
                        }
                        Some((k, unquote(v)?))
                    })
                    .collect();
                let value = match parsed {
                    Some(map) => FieldValue::Map(map),
                    None => FieldValue::Raw(lines.concat()),
                };
                e.fields.push(Field { name, value });
            }
        };
        for (i, raw) in lines.iter().enumerate() {
            let n = i + 1;
            if raw.contains('\r') || raw.contains('\t') {
                return unreadable(n, "carriage returns and tabs are not what yarn writes");
            }
            let line = raw.trim_end_matches('\n');
            let indent = line.len() - line.trim_start().len();
            let t = line.trim();
            if in_head {
                let is_entry_key = indent == 0
                    && !t.is_empty()
                    && !t.starts_with('#')
                    && !t.starts_with("__metadata:");
                if !is_entry_key {
                    head.push_str(raw);
                    continue;
                }
                in_head = false;
            }
            if t.is_empty() {
                flush(&mut entries, &mut nested);
                continue;
            }
            if t.starts_with('#') {
                return unreadable(n, "comments between entries are not what yarn writes");
            }
            match indent {
                0 => {
                    flush(&mut entries, &mut nested);
                    if t.starts_with("? ") {
                        return unreadable(n, "keys longer than 1024 characters are not supported");
                    }
                    let Some(key) = t.strip_suffix(':').and_then(unquote) else {
                        return unreadable(n, "an entry key must end with `:`");
                    };
                    entries.push(Entry {
                        descriptors: key.split(", ").map(str::to_string).collect(),
                        fields: Vec::new(),
                    });
                }
                2 => {
                    flush(&mut entries, &mut nested);
                    let Some(e) = entries.last_mut() else {
                        return unreadable(n, "a field outside an entry");
                    };
                    let Some((k, v)) = key_value(t) else {
                        return unreadable(n, "a field must be `name: value`");
                    };
                    if v.is_empty() {
                        nested = Some((k, Vec::new()));
                    } else {
                        let Some(v) = unquote(v) else {
                            return unreadable(n, "a quoted value does not end");
                        };
                        e.fields.push(Field {
                            name: k,
                            value: FieldValue::Scalar(v),
                        });
                    }
                }
                _ => match nested.as_mut() {
                    Some((_, lines)) => lines.push(raw.to_string()),
                    None => return unreadable(n, "an indented line outside a block"),
                },
            }
        }
        flush(&mut entries, &mut nested);
        Ok(Lock { head, entries })
    }

    /// The text yarn writes: the head, then the entries sorted by key, a blank line between.
    pub(crate) fn render(&self) -> String {
        let mut entries: Vec<(String, String)> =
            self.entries.iter().map(|e| (e.key(), e.render())).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = self.head.clone();
        let body: Vec<String> = entries.into_iter().map(|(_, r)| r).collect();
        out.push_str(&body.join("\n"));
        out
    }
}

impl Entry {
    /// The key: the descriptors, sorted, joined by `, `.
    pub(crate) fn key(&self) -> String {
        let mut d = self.descriptors.clone();
        d.sort();
        d.dedup();
        d.join(", ")
    }

    pub(crate) fn scalar(&self, name: &str) -> Option<&str> {
        self.fields.iter().find_map(|f| match &f.value {
            FieldValue::Scalar(s) if f.name == name => Some(s.as_str()),
            _ => None,
        })
    }

    pub(crate) fn map(&self, name: &str) -> Option<&[(String, String)]> {
        self.fields.iter().find_map(|f| match &f.value {
            FieldValue::Map(m) if f.name == name => Some(m.as_slice()),
            _ => None,
        })
    }

    /// Sets (or, with `None`, removes) a field.
    pub(crate) fn set(&mut self, name: &str, value: Option<FieldValue>) {
        self.fields.retain(|f| f.name != name);
        if let Some(value) = value {
            self.fields.push(Field {
                name: name.to_string(),
                value,
            });
        }
    }

    /// `name@reference` of `resolution`.
    pub(crate) fn resolution(&self) -> Option<&str> {
        self.scalar("resolution")
    }

    /// The descriptors its `dependencies` name (`dep@npm:^1`; yarn 3 writes the range bare).
    pub(crate) fn dependency_descriptors(&self) -> Vec<String> {
        self.map("dependencies")
            .unwrap_or_default()
            .iter()
            .map(|(n, r)| format!("{n}@{}", with_protocol(r)))
            .collect()
    }

    fn render(&self) -> String {
        let mut out = format!("{}:\n", syml_string(&self.key()));
        let mut fields: Vec<&Field> = self.fields.iter().collect();
        fields.sort_by(|a, b| field_order(&a.name, &b.name));
        for f in fields {
            let name = syml_string(&f.name);
            match &f.value {
                FieldValue::Scalar(s) => out.push_str(&format!("  {name}: {}\n", syml_string(s))),
                FieldValue::Map(m) => {
                    out.push_str(&format!("  {name}:\n"));
                    let mut m = m.clone();
                    m.sort();
                    for (k, v) in m {
                        out.push_str(&format!("    {}: {}\n", syml_string(&k), syml_string(&v)));
                    }
                }
                FieldValue::Raw(lines) => {
                    out.push_str(&format!("  {name}:\n"));
                    out.push_str(lines);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_as_yarn_quotes_them() {
        for (s, want) in [
            ("1.0.2", "1.0.2"),
            ("lodash@npm:4.17.20", "\"lodash@npm:4.17.20\""),
            ("npm:^1.0.0", "\"npm:^1.0.0\""),
            ("@babel/core", "\"@babel/core\""),
            ("balanced-match", "balanced-match"),
            ("^16.8.0 || ^17.0.0", "^16.8.0 || ^17.0.0"),
            ("*", "\"*\""),
            ("10c0/abc", "10c0/abc"),
            ("a ", "\"a \""),
            ("", "\"\""),
        ] {
            assert_eq!(syml_string(s), want, "{s}");
        }
    }

    #[test]
    fn a_yarn_written_lock_renders_back_byte_for_byte() {
        for case in ["direct-pin", "transitive", "override"] {
            let before = std::fs::read_to_string(format!(
                "{}/../../tests/data/yarn-berry/{case}/before/yarn.lock",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            let lock = Lock::parse(&before).unwrap();
            assert!(lock.entries.len() > 3, "{case}");
            assert_eq!(lock.render(), before, "{case}");
        }
    }

    #[test]
    fn what_yarn_would_not_write_is_refused_with_its_line() {
        let e =
            Lock::parse("__metadata:\n  version: 8\n\n\"a@npm:1\":\n\tversion: 1\n").unwrap_err();
        assert_eq!(e.line, 5);
        let e =
            Lock::parse("__metadata:\n  version: 8\n\n\"a@npm:1\":\n  version: 1\n      x: y\n")
                .unwrap_err();
        assert_eq!(e.line, 6);
    }
}
