//! pip `requirements*.txt` files.
//!
//! Handles: pins (`==`, `===`; a `==1.*` wildcard is unpinned), other specifiers and bare names
//! (reported with `version: None`), extras (`pkg[extra]==1.0`), environment markers (`; ...`,
//! kept, not evaluated), per-requirement options (`--hash=...`), line continuations (`\`),
//! comments, `-r`/`--requirement` includes (read through the lookup, relative to the including
//! file, cycles broken), and `-c`/`--constraint` files (their pins fill in the versions of
//! unpinned requirements; they add no packages). Editable installs (`-e`), VCS and archive URLs
//! (`pkg @ url` too) and local paths are reported with their [`Source`] (git, url, path) and the
//! reference as version, never matched; other options (`--index-url`, ...) are ignored.
//!
//! Every requirement is direct, except that pip-compile's `# via pkg` annotations mark a
//! requirement transitive with that parent (`# via -r file` keeps it direct). Names are kept
//! as written; they are compared after PEP 503 normalisation.

use std::collections::HashMap;

use super::syntax::{name_len, option_value, pep508_name, strip_comment, MAX_DEPTH};
use crate::deps::text::{self, utf8};
use crate::deps::{dedupe, pep503, Dependency, ParseError, Source};
use crate::ecosystem::Ecosystem;

/// Parses a requirements file; `lookup` gives included and constraint files by root-relative
/// path.
pub fn parse(
    file: &str,
    bytes: &[u8],
    lookup: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<Dependency>, ParseError> {
    let mut ctx = Ctx {
        lookup,
        stack: vec![file.to_string()],
        out: Vec::new(),
        constraints: Vec::new(),
    };
    let text = utf8(file, bytes)?;
    ctx.parse_file(file, text, false)?;
    let pins: HashMap<String, String> = ctx
        .constraints
        .into_iter()
        .filter_map(|d| d.version.map(|v| (pep503(&d.name), v)))
        .collect();
    let mut out = ctx.out;
    for d in out.iter_mut().filter(|d| d.version.is_none()) {
        d.version = pins.get(&pep503(&d.name)).cloned();
    }
    Ok(dedupe(out))
}

struct Ctx<'a> {
    lookup: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    /// The chain of files being read, to break include cycles.
    stack: Vec<String>,
    out: Vec<Dependency>,
    constraints: Vec<Dependency>,
}

/// pip-compile's `# via` annotation being read for the last requirement.
struct Via {
    target: usize,
    items: Vec<String>,
}

impl Ctx<'_> {
    fn parse_file(&mut self, file: &str, text: &str, constraint: bool) -> Result<(), ParseError> {
        let mut last_req: Option<usize> = None;
        let mut via: Option<Via> = None;
        let mut lines = text.lines().enumerate().peekable();
        while let Some((i, raw)) = lines.next() {
            let start = i + 1;
            let trimmed = raw.trim();
            if let Some(comment) = trimmed.strip_prefix('#') {
                let c = comment.trim();
                if let Some(rest) = c.strip_prefix("via ") {
                    if let Some(target) = last_req.take() {
                        self.finish_via(Via {
                            target,
                            items: vec![rest.trim().to_string()],
                        });
                    }
                } else if c == "via" {
                    via = last_req.take().map(|target| Via {
                        target,
                        items: Vec::new(),
                    });
                } else if let (Some(v), false) = (via.as_mut(), c.is_empty()) {
                    v.items.push(c.to_string());
                } else if let Some(v) = via.take() {
                    self.finish_via(v);
                }
                continue;
            }
            if let Some(v) = via.take() {
                self.finish_via(v);
            }
            // Join continuation lines.
            let mut logical = String::from(raw);
            while logical.ends_with('\\') {
                logical.pop();
                match lines.peek() {
                    Some((_, next)) if !next.trim_start().starts_with('#') => {
                        logical.push(' ');
                        logical.push_str(next);
                        lines.next();
                    }
                    _ => break,
                }
            }
            let line = strip_comment(&logical).trim();
            if line.is_empty() {
                continue;
            }
            if line.starts_with('-') {
                self.option(file, start, line, constraint)?;
                continue;
            }
            if let Some(dep) = requirement(file, start, line)? {
                if constraint {
                    self.constraints.push(dep);
                } else {
                    last_req = Some(self.out.len());
                    self.out.push(dep);
                }
            }
        }
        if let Some(v) = via {
            self.finish_via(v);
        }
        Ok(())
    }

    fn finish_via(&mut self, via: Via) {
        let Some(dep) = self.out.get_mut(via.target) else {
            return;
        };
        if via.items.is_empty() || via.items.iter().any(|s| s.starts_with("-r ")) {
            return;
        }
        dep.direct = false;
        dep.parent = via.items.iter().find(|s| !s.starts_with('-')).cloned();
    }

    /// An option line: includes and constraints are followed, the rest ignored.
    fn option(
        &mut self,
        file: &str,
        line_no: usize,
        line: &str,
        constraint: bool,
    ) -> Result<(), ParseError> {
        let (target, is_constraint) = if let Some((v, c)) = super::syntax::include_target(line) {
            (v, constraint || c)
        } else if let Some(v) = option_value(line, "-e", "--editable") {
            if let (Some(dep), false) = (direct_reference(v), constraint) {
                self.out.push(dep);
            }
            return Ok(());
        } else {
            return Ok(());
        };
        if target.is_empty() {
            return Err(ParseError::new(
                file,
                Some(line_no),
                "expected a file name after the include option",
            ));
        }
        let Some(path) = text::join(text::dir_of(file), target) else {
            tracing::debug!(file, target, "include outside the repository ignored");
            return Ok(());
        };
        if self.stack.contains(&path) || self.stack.len() > MAX_DEPTH {
            tracing::debug!(file, include = %path, "include cycle broken");
            return Ok(());
        }
        let Some(bytes) = (self.lookup)(&path) else {
            tracing::debug!(file, include = %path, "included requirements file not found");
            return Ok(());
        };
        let included = utf8(&path, &bytes)?;
        self.stack.push(path.clone());
        let result = self.parse_file(&path, included, is_constraint);
        self.stack.pop();
        result
    }
}

/// A requirement that names no registry release: `pkg @ url`, a VCS URL (`git+https://...#egg=
/// pkg`), an archive URL or a local path. Its name is the one given (`pkg @`, `#egg=`) or the
/// last path segment; its version is the reference itself. `None` when no name can be told.
fn direct_reference(line: &str) -> Option<Dependency> {
    let line = line.split(';').next().unwrap_or(line).trim();
    let (named, reference) = match line.split_once(" @ ") {
        Some((name, url)) => (Some(pep508_name(name)), url.trim()),
        None => (None, line),
    };
    let lower = reference.to_ascii_lowercase();
    let source = if ["git+", "hg+", "svn+", "bzr+"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        Source::Git
    } else if lower.starts_with("file:") || !lower.contains("://") {
        Source::Path
    } else {
        Source::Url
    };
    let egg = reference
        .split_once("#egg=")
        .map(|(_, e)| e.split('&').next().unwrap_or(e));
    let last_segment = || {
        let path = reference.split(['#', '?']).next().unwrap_or(reference);
        let seg = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let seg = seg.trim_end_matches(".git");
        // An archive `pkg-1.0.tar.gz` or wheel `pkg-1.0-py3-none-any.whl`: the name part.
        if [".whl", ".tar.gz", ".zip", ".tgz"]
            .iter()
            .any(|e| seg.ends_with(e))
        {
            seg.split('-').next().unwrap_or(seg)
        } else {
            seg
        }
    };
    let name = named
        .or(egg)
        .map(str::to_string)
        .unwrap_or_else(|| last_segment().to_string());
    let name = pep508_name(&name);
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some(
        Dependency::new(Ecosystem::PyPI, name, Some(reference.to_string()), true)
            .with_source(source),
    )
}

/// One requirement line; a direct reference (URL, path) is reported with its source.
fn requirement(file: &str, line_no: usize, line: &str) -> Result<Option<Dependency>, ParseError> {
    let err = |m: String| ParseError::new(file, Some(line_no), m);
    // Per-requirement options such as --hash come after the requirement.
    let line = match line.find(" --").or_else(|| line.find("\t--")) {
        Some(i) => line[..i].trim(),
        None => line,
    };
    let lower = line.to_ascii_lowercase();
    if line.contains("://")
        || line.starts_with(['.', '/', '~'])
        || line.contains(" @ ")
        || [".whl", ".tar.gz", ".zip", ".tgz"]
            .iter()
            .any(|s| lower.ends_with(s))
    {
        return Ok(direct_reference(line));
    }
    let spec = line.split(';').next().unwrap_or(line).trim();
    let name_len = name_len(spec);
    let name = &spec[..name_len];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(err(format!("expected a package name, found `{spec}`")));
    }
    let mut rest = spec[name_len..].trim_start();
    if let Some(extras) = rest.strip_prefix('[') {
        let Some(close) = extras.find(']') else {
            return Err(err(format!("unclosed extras in `{spec}`")));
        };
        rest = extras[close + 1..].trim_start();
    }
    let rest = rest.trim_start_matches('(').trim_end_matches(')').trim();
    let mut version = None;
    if !rest.is_empty() {
        for part in rest.split(',') {
            let part = part.trim();
            let op = ["===", "==", "!=", "<=", ">=", "~=", "<", ">"]
                .into_iter()
                .find(|op| part.starts_with(op))
                .ok_or_else(|| err(format!("expected a version specifier, found `{part}`")))?;
            let v = part[op.len()..].trim();
            if v.is_empty() || v.contains(char::is_whitespace) {
                return Err(err(format!("expected a version after `{op}` in `{spec}`")));
            }
            if (op == "==" || op == "===") && !v.ends_with(".*") {
                version = Some(v.to_string());
            }
        }
    }
    Ok(Some(Dependency::new(Ecosystem::PyPI, name, version, true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<Vec<u8>> {
        None
    }

    fn get<'a>(deps: &'a [Dependency], name: &str) -> &'a Dependency {
        deps.iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} missing in {deps:?}"))
    }

    #[test]
    fn pins_hashes_continuations_markers_extras() {
        let txt = r#"# top comment
--index-url https://pypi.org/simple

requests[security,socks]==2.31.0 \
    --hash=sha256:aaaa \
    --hash=sha256:bbbb
Django===4.2.7  # pinned exactly
importlib-metadata==6.8.0 ; python_version < "3.8"
urllib3>=1.26,<3
zope.interface~=6.0
six
numpy==1.26.*
-e git+https://github.com/org/pkg.git#egg=pkg
./local/path
https://example.com/pkg-1.0.tar.gz
pkg2 @ https://example.com/pkg2.whl
Flask (==3.0.0)
"#;
        let deps = parse("requirements.txt", txt.as_bytes(), &none).unwrap();
        // VCS, path and URL requirements are listed with their source, never as registry pins.
        let others: Vec<(&str, Source)> = deps
            .iter()
            .filter(|d| d.source != Source::Registry)
            .map(|d| (d.name.as_str(), d.source))
            .collect();
        assert_eq!(
            others,
            [
                ("pkg", Source::Git),
                ("path", Source::Path),
                ("pkg", Source::Url),
                ("pkg2", Source::Url)
            ]
        );
        let names: Vec<&str> = deps
            .iter()
            .filter(|d| d.source == Source::Registry)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "requests",
                "Django",
                "importlib-metadata",
                "urllib3",
                "zope.interface",
                "six",
                "numpy",
                "Flask"
            ]
        );
        assert_eq!(get(&deps, "requests").version.as_deref(), Some("2.31.0"));
        assert_eq!(get(&deps, "Django").version.as_deref(), Some("4.2.7"));
        assert_eq!(
            get(&deps, "importlib-metadata").version.as_deref(),
            Some("6.8.0")
        );
        assert_eq!(get(&deps, "urllib3").version, None);
        assert_eq!(get(&deps, "zope.interface").version, None);
        assert_eq!(get(&deps, "six").version, None);
        assert_eq!(get(&deps, "numpy").version, None);
        assert_eq!(get(&deps, "Flask").version.as_deref(), Some("3.0.0"));
        assert!(deps
            .iter()
            .all(|d| d.direct && d.ecosystem == Ecosystem::PyPI));
    }

    #[test]
    fn includes_constraints_and_cycles() {
        let files: HashMap<&str, &str> = HashMap::from([
            ("req/base.txt", "-r ../common.txt\nflask==3.0.0\n"),
            (
                "common.txt",
                "--requirement=req/base.txt\nRequests==2.0.0\n",
            ),
            ("constraints.txt", "six==1.16.0\nunused==1.0\n"),
        ]);
        let lookup = |p: &str| files.get(p).map(|s| s.as_bytes().to_vec());
        let top = "-r req/base.txt\n-c constraints.txt\nsix\nrequests==2.0.0\n";
        let deps = parse("requirements.txt", top.as_bytes(), &lookup).unwrap();
        let names: Vec<&str> = deps.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["Requests", "flask", "six"],
            "PEP 503 dedupe, cycle broken"
        );
        assert_eq!(get(&deps, "six").version.as_deref(), Some("1.16.0"));
        // A self-include is a cycle too.
        let me =
            |p: &str| (p == "requirements.txt").then(|| b"-r requirements.txt\na==1\n".to_vec());
        let deps = parse("requirements.txt", b"-r requirements.txt\na==1\n", &me).unwrap();
        assert_eq!(deps.len(), 1);
    }

    #[test]
    fn errors_in_included_files_name_that_file() {
        let lookup = |p: &str| (p == "sub/more.txt").then(|| b"ok==1\n\n==2.0\n".to_vec());
        let e = parse("sub/requirements.txt", b"-r more.txt\n", &lookup).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("sub/more.txt", Some(3)));
    }

    #[test]
    fn pip_compile_via_annotations() {
        let txt = "certifi==2024.2.2\n    # via requests\nidna==3.6\n    # via\n    #   requests\n    #   yarl\n\
                   requests==2.31.0\n    # via -r requirements.in\n";
        let deps = parse("requirements.txt", txt.as_bytes(), &none).unwrap();
        assert_eq!(get(&deps, "certifi").parent.as_deref(), Some("requests"));
        assert!(!get(&deps, "idna").direct);
        assert_eq!(get(&deps, "idna").parent.as_deref(), Some("requests"));
        assert!(get(&deps, "requests").direct);
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let txt = "a==1 \\\n  --hash=sha256:x\nb[extra==2\n";
        let e = parse("requirements-dev.txt", txt.as_bytes(), &none).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.file, "requirements-dev.txt");
        let e = parse("requirements.txt", b"ok==1\nbad ^ 2\n", &none).unwrap_err();
        assert_eq!(
            e.to_string(),
            "could not parse requirements.txt at line 2: expected a version specifier, found `^ 2`"
        );
    }
}
