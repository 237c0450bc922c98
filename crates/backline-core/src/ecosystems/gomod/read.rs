//! `go.mod`: `require` lines and blocks, with `replace` directives applied.
//!
//! A requirement marked `// indirect` is transitive; the others are direct. A `replace` whose
//! target is another module version (`old [v] => new v2`) renames and re-versions the matching
//! requirements; a replacement by a local folder (`=> ../fork`) makes them path sources
//! (listed, never matched: the code is the folder's, not the module proxy's).
//! `exclude`, `retract`, `go`, `toolchain`, `godebug`, `tool`, `ignore` and unknown directives
//! are ignored. Versions are written as OSV writes Go versions, without the `v` (`v1.9.1` is
//! reported `1.9.1`; a go.mod patcher puts it back). go.mod records no parents.

use crate::deps::text::utf8;
use crate::deps::{dedupe, Dependency, ParseError, Source};
use crate::ecosystem::Ecosystem;

use super::modfile;

/// Parses a `go.mod`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Dependency>, ParseError> {
    let text = utf8(file, bytes)?;
    let m = modfile::parse(file, text)?;
    let out = m
        .requires
        .into_iter()
        .map(|r| {
            let replace = m.replaces.iter().rev().find(|p| {
                p.old == r.path && p.old_version.as_ref().is_none_or(|v| *v == r.version)
            });
            let (name, version, source) = match replace {
                Some(p) if p.is_local() => (r.path, r.version, Source::Path),
                Some(modfile::Replace {
                    new,
                    new_version: Some(v),
                    ..
                }) => (new.clone(), v.clone(), Source::Registry),
                _ => (r.path, r.version, Source::Registry),
            };
            let version = version.strip_prefix('v').unwrap_or(&version).to_string();
            Dependency::new(Ecosystem::Go, name, Some(version), !r.indirect).with_source(source)
        })
        .collect();
    Ok(dedupe(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_MOD: &str = r#"module gitlab.example.com/team/service

go 1.22

toolchain go1.22.2

require (
	github.com/gin-gonic/gin v1.9.1
	golang.org/x/net v0.17.0 // indirect
	github.com/old/lib v1.0.0
	"github.com/quoted/mod" v0.3.0
	github.com/local/fork v1.2.0
)

require github.com/stretchr/testify v1.8.4

require golang.org/x/text v0.13.0 // indirect; needed by net

replace github.com/old/lib => github.com/new/lib v1.1.0

replace (
	golang.org/x/net v0.17.0 => golang.org/x/net v0.23.0
	golang.org/x/text v0.1.0 => golang.org/x/text v0.99.0
	github.com/local/fork => ../fork
)

exclude github.com/gin-gonic/gin v1.9.0

retract [v0.1.0, v0.1.5]
"#;

    #[test]
    fn requires_indirect_and_replaces() {
        let deps = parse("go.mod", GO_MOD.as_bytes()).unwrap();
        let got: Vec<(&str, &str, bool)> = deps
            .iter()
            .map(|d| (d.name.as_str(), d.version.as_deref().unwrap(), d.direct))
            .collect();
        assert_eq!(
            got,
            [
                ("github.com/gin-gonic/gin", "1.9.1", true),
                ("golang.org/x/net", "0.23.0", false),
                ("github.com/new/lib", "1.1.0", true),
                ("github.com/quoted/mod", "0.3.0", true),
                ("github.com/local/fork", "1.2.0", true),
                ("github.com/stretchr/testify", "1.8.4", true),
                ("golang.org/x/text", "0.13.0", false),
            ]
        );
        assert!(deps
            .iter()
            .all(|d| d.ecosystem == Ecosystem::Go && d.parent.is_none()));
        let local: Vec<&str> = deps
            .iter()
            .filter(|d| d.source == Source::Path)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(local, ["github.com/local/fork"]);
    }

    #[test]
    fn repeated_requires_are_reported_once() {
        let m = "module m\nrequire a.io/x v1.0.0 // indirect\nrequire (\n\ta.io/x v1.0.0\n)\n";
        let deps = parse("go.mod", m.as_bytes()).unwrap();
        let want = Dependency::new(Ecosystem::Go, "a.io/x", Some("1.0.0".into()), true);
        assert_eq!(deps, [want], "direct wins over indirect");
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let bad = "module m\n\nrequire (\n\tgithub.com/a/b v1.0.0\n\tgithub.com/c/d\n)\n";
        let e = parse("svc/go.mod", bad.as_bytes()).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("svc/go.mod", Some(5)), "{e}");
        let e = parse("go.mod", b"module m\nrequire (\n\ta v1\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = parse("go.mod", b"module m\nreplace a v1 b v2\n").unwrap_err();
        assert_eq!(e.line, Some(2));
    }
}
