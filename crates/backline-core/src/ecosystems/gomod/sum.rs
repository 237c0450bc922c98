//! `go.sum` edits: a module version's two lines (`<mod> <ver> h1:…` for the zip and
//! `<mod> <ver>/go.mod h1:…`) out, another's in, where `go` would write them: go.sum is sorted
//! by module path, then by version in semantic order with `/go.mod` after the bare version
//! (cmd/go/internal/modfetch/fetch.go `WriteGoSum` sorting with golang.org/x/mod/module.Sort).
//! Every other line stays as it is.

use std::cmp::Ordering;

use super::version::cmp_module;
use crate::deps::ParseError;
use crate::remediation::patch::lines_with_offsets;

/// A line's module path and version (with its `/go.mod` suffix, if any).
fn key(line: &str) -> Option<(&str, &str)> {
    let mut parts = line.split_whitespace();
    let (path, version, hash) = (parts.next()?, parts.next()?, parts.next()?);
    (parts.next().is_none() && hash.contains(':')).then_some((path, version))
}

/// module.Sort's order.
fn order(a: (&str, &str), b: (&str, &str)) -> Ordering {
    let split = |v: &str| -> (String, String) {
        match v.find('/') {
            Some(k) => (v[..k].to_string(), v[k..].to_string()),
            None => (v.to_string(), String::new()),
        }
    };
    a.0.cmp(b.0).then_with(|| {
        let ((va, fa), (vb, fb)) = (split(a.1), split(b.1));
        if va != vb {
            cmp_module(&va, &vb).unwrap_or_else(|| va.cmp(&vb))
        } else {
            fa.cmp(&fb)
        }
    })
}

/// Checks every non-blank line is `<module> <version>[/go.mod] <hash>` (as `go` reads go.sum).
pub(crate) fn check(file: &str, text: &str) -> Result<(), ParseError> {
    for (i, line) in text.lines().enumerate() {
        if !line.trim().is_empty() && key(line).is_none() {
            return Err(ParseError::new(
                file,
                Some(i + 1),
                "expected `module version hash`",
            ));
        }
    }
    Ok(())
}

/// Whether go.sum has the line for `path version` (`version` may end in `/go.mod`).
pub(crate) fn has(text: &str, path: &str, version: &str) -> bool {
    text.lines().any(|l| key(l) == Some((path, version)))
}

/// `text` without the lines of `path` at `old` and with `new_lines` (each `(version, hash)`,
/// the version with `/go.mod` for the go.mod line) inserted in order. The line ending is the
/// file's.
pub(crate) fn replace(
    text: &str,
    path: &str,
    old: &str,
    new_lines: &[(String, String)],
    nl: &str,
) -> String {
    let old_go_mod = format!("{old}/go.mod");
    let mut kept: Vec<String> = lines_with_offsets(text)
        .into_iter()
        .map(|(_, l)| l.to_string())
        .filter(|l| !matches!(key(l), Some((p, v)) if p == path && (v == old || v == old_go_mod)))
        .collect();
    if let Some(last) = kept.last_mut() {
        if !last.ends_with('\n') {
            last.push_str(nl);
        }
    }
    for (version, hash) in new_lines {
        if has(&kept.concat(), path, version) {
            continue;
        }
        let at = kept
            .iter()
            .position(|l| key(l).is_some_and(|k| order(k, (path, version)) == Ordering::Greater))
            .unwrap_or(kept.len());
        kept.insert(at, format!("{path} {version} {hash}{nl}"));
    }
    kept.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_move_in_go_sum_order() {
        let sum = "golang.org/x/net v0.9.0 h1:A=\ngolang.org/x/net v0.9.0/go.mod h1:B=\ngolang.org/x/net v0.17.0 h1:C=\ngolang.org/x/net v0.17.0/go.mod h1:D=\ngolang.org/x/sys v0.13.0 h1:E=\n";
        let out = replace(
            sum,
            "golang.org/x/net",
            "v0.9.0",
            &[
                ("v0.10.0".into(), "h1:N=".into()),
                ("v0.10.0/go.mod".into(), "h1:M=".into()),
            ],
            "\n",
        );
        assert_eq!(
            out,
            "golang.org/x/net v0.10.0 h1:N=\ngolang.org/x/net v0.10.0/go.mod h1:M=\ngolang.org/x/net v0.17.0 h1:C=\ngolang.org/x/net v0.17.0/go.mod h1:D=\ngolang.org/x/sys v0.13.0 h1:E=\n",
            "semantic order puts v0.10.0 before v0.17.0"
        );
        assert!(check("go.sum", &out).is_ok());
        assert_eq!(check("go.sum", "a v1\n").unwrap_err().line, Some(1));
        assert!(has(&out, "golang.org/x/net", "v0.10.0/go.mod"));
        let crlf = replace(
            "a.io/b v1.0.0 h1:x=\r\n",
            "a.io/a",
            "v0",
            &[("v1.0.0".into(), "h1:y=".into())],
            "\r\n",
        );
        assert_eq!(crlf, "a.io/a v1.0.0 h1:y=\r\na.io/b v1.0.0 h1:x=\r\n");
    }
}
