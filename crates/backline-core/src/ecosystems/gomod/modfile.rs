//! The directives of a `go.mod` (golang.org/x/mod/modfile's grammar, the parts backline
//! reads): `go`, `require`, `replace`, `exclude`, each with its 1-based line, in blocks or on
//! one line. Comments are kept apart (`// indirect` marks a transitive requirement). Other
//! directives (`module`, `toolchain`, `retract`, `godebug`, `tool`, `ignore`, unknown ones) are
//! skipped.

use crate::deps::ParseError;

/// One `require`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Require {
    pub path: String,
    /// As written (`v1.2.3`).
    pub version: String,
    pub indirect: bool,
    pub line: usize,
}

/// One `replace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replace {
    pub old: String,
    pub old_version: Option<String>,
    pub new: String,
    pub new_version: Option<String>,
}

impl Replace {
    /// Whether the target is a folder rather than a module path.
    pub fn is_local(&self) -> bool {
        let t = self.new.as_str();
        t.starts_with("./") || t.starts_with("../") || t.starts_with('/') || t == "." || t == ".."
    }

    /// `old [v] => new [v]`, for messages.
    pub fn describe(&self) -> String {
        let side = |m: &str, v: &Option<String>| match v {
            Some(v) => format!("{m} {v}"),
            None => m.to_string(),
        };
        format!(
            "{} => {}",
            side(&self.old, &self.old_version),
            side(&self.new, &self.new_version)
        )
    }
}

/// The directives of one go.mod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModFile {
    /// The `go` directive's version (`1.22`, `1.21.0`).
    pub go: Option<String>,
    pub requires: Vec<Require>,
    pub replaces: Vec<Replace>,
    /// `exclude` (path, version).
    pub excludes: Vec<(String, String)>,
}

/// Reads a go.mod's directives; a malformed line is an error naming it.
pub(crate) fn parse(file: &str, text: &str) -> Result<ModFile, ParseError> {
    let mut out = ModFile::default();
    let mut block: Option<(String, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |m: String| ParseError::new(file, Some(line_no), m);
        let (code, comment) = split_comment(raw);
        let indirect = comment.is_some_and(|c| c == "indirect" || c.starts_with("indirect;"));
        let mut tokens = tokenize(code).map_err(|m| err(m.to_string()))?;
        if tokens.is_empty() {
            continue;
        }
        let verb = match &block {
            Some(_) if tokens == [")"] => {
                block = None;
                continue;
            }
            Some((verb, _)) => verb.clone(),
            None => {
                let verb = tokens.remove(0);
                if verb == ")" {
                    return Err(err("`)` without an open block".into()));
                }
                if tokens == ["("] {
                    block = Some((verb, line_no));
                    continue;
                }
                verb
            }
        };
        match verb.as_str() {
            "go" => {
                if let [v] = tokens.as_slice() {
                    out.go = Some(v.clone());
                }
            }
            "require" => match tokens.as_slice() {
                [path, version] => out.requires.push(Require {
                    path: path.clone(),
                    version: version.clone(),
                    indirect,
                    line: line_no,
                }),
                _ => {
                    return Err(err(format!(
                        "expected `module version` in require, found `{}`",
                        code.trim()
                    )))
                }
            },
            "exclude" => match tokens.as_slice() {
                [path, version] => out.excludes.push((path.clone(), version.clone())),
                _ => {
                    return Err(err(format!(
                        "expected `module version` in exclude, found `{}`",
                        code.trim()
                    )))
                }
            },
            "replace" => {
                let arrow = tokens.iter().position(|t| t == "=>").ok_or_else(|| {
                    err(format!("expected `=>` in replace, found `{}`", code.trim()))
                })?;
                let (left, right) = (&tokens[..arrow], &tokens[arrow + 1..]);
                let (old, old_version) = match left {
                    [m] => (m.clone(), None),
                    [m, v] => (m.clone(), Some(v.clone())),
                    _ => return Err(err("expected `module [version]` before `=>`".into())),
                };
                let (new, new_version) = match right {
                    [m] => (m.clone(), None),
                    [m, v] => (m.clone(), Some(v.clone())),
                    _ => return Err(err("expected `module [version]` after `=>`".into())),
                };
                out.replaces.push(Replace {
                    old,
                    old_version,
                    new,
                    new_version,
                });
            }
            _ => {}
        }
    }
    if let Some((verb, line)) = block {
        return Err(ParseError::new(
            file,
            Some(line),
            format!("`{verb} (` block is never closed"),
        ));
    }
    Ok(out)
}

/// A line's code and its `//` comment (trimmed), if any. `//` inside a quoted string is code.
pub(crate) fn split_comment(raw: &str) -> (&str, Option<&str>) {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in raw.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '`' => quote = Some(c),
            None if raw[i..].starts_with("//") => return (&raw[..i], Some(raw[i + 2..].trim())),
            None => {}
        }
    }
    (raw, None)
}

/// Splits a line into tokens; `"..."` and `` `...` `` strings are one token, unquoted.
pub(crate) fn tokenize(code: &str) -> Result<Vec<String>, &'static str> {
    let mut tokens = Vec::new();
    let mut chars = code.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '`' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some(x) if x == c => break,
                    Some('\\') if c == '"' => s.extend(chars.next()),
                    Some(x) => s.push(x),
                    None => return Err("unterminated quoted string"),
                }
            }
            tokens.push(s);
        } else {
            let mut s = String::new();
            while let Some(&x) = chars.peek() {
                if x.is_whitespace() {
                    break;
                }
                s.push(x);
                chars.next();
            }
            tokens.push(s);
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_with_lines() {
        let m = "module m\n\ngo 1.21.0\n\nrequire (\n\ta.io/x v1.0.0 // indirect\n\t\"b.io/y\" v2.0.0+incompatible // keep\n)\nexclude a.io/x v1.0.1\nreplace c.io/z v1.0.0 => ../z\n";
        let f = parse("go.mod", m).unwrap();
        assert_eq!(f.go.as_deref(), Some("1.21.0"));
        assert_eq!(
            f.requires,
            [
                Require {
                    path: "a.io/x".into(),
                    version: "v1.0.0".into(),
                    indirect: true,
                    line: 6
                },
                Require {
                    path: "b.io/y".into(),
                    version: "v2.0.0+incompatible".into(),
                    indirect: false,
                    line: 7
                }
            ]
        );
        assert_eq!(f.excludes, [("a.io/x".to_string(), "v1.0.1".to_string())]);
        assert!(f.replaces[0].is_local());
        assert_eq!(f.replaces[0].describe(), "c.io/z v1.0.0 => ../z");
        assert_eq!(
            split_comment("\"a//b\" v1 // c"),
            ("\"a//b\" v1 ", Some("c"))
        );
        let e = parse("go.mod", "exclude a\n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
