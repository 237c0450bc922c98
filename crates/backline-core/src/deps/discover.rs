//! Manifest discovery over a repository listing, and the offline scan of a local folder.
//!
//! The rule is simple: a path is a manifest when [`format_of`] knows its file name (lockfiles,
//! plus `go.mod`, `pom.xml` and requirements files, which are their ecosystem's resolved form).
//! Manifests without a lockfile (`package.json`, `Cargo.toml`, `pyproject.toml`, `Gemfile`,
//! `composer.json`, `Pipfile`) are never manifests on their own; they are read as companions of
//! their lockfile. Paths under vendored or dependency folders and test fixtures are skipped by
//! glob; the globs are configurable.
//!
//! Globs are matched against the whole root-relative path, segment by segment: `*` and `?` stay
//! within a segment, `**` spans any number of segments (none included).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{format_of, parse, Dependency, ParseError};

/// The skip globs used unless configured otherwise.
pub const DEFAULT_SKIP: &[&str] = &[
    "**/.git/**",
    "**/node_modules/**",
    "**/bower_components/**",
    "**/jspm_packages/**",
    "**/vendor/**",
    "**/third_party/**",
    "**/third-party/**",
    "**/.yarn/**",
    "**/.venv/**",
    "**/site-packages/**",
    "**/.tox/**",
    "**/target/package/**",
    "**/test/fixtures/**",
    "**/tests/fixtures/**",
    "**/spec/fixtures/**",
    "**/testdata/**",
    "**/test-data/**",
    "**/__fixtures__/**",
    "**/__snapshots__/**",
];

/// Largest file [`scan_dir`] reads (bigger files are reported as errors).
const MAX_FILE: u64 = super::limits::MAX_FILE_BYTES as u64;

/// Which paths discovery skips. As configuration (serde), a missing `skip` means the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscoveryRules {
    /// Globs of paths to skip (see the module doc for the syntax).
    pub skip: Vec<String>,
}

impl Default for DiscoveryRules {
    fn default() -> Self {
        DiscoveryRules {
            skip: DEFAULT_SKIP.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl DiscoveryRules {
    /// The default globs plus `extra`.
    pub fn with_extra_skips<I: IntoIterator<Item = S>, S: Into<String>>(extra: I) -> Self {
        let mut rules = DiscoveryRules::default();
        rules.skip.extend(extra.into_iter().map(Into::into));
        rules
    }

    /// Exactly these globs, replacing the defaults.
    pub fn replacing_skips<I: IntoIterator<Item = S>, S: Into<String>>(skip: I) -> Self {
        DiscoveryRules {
            skip: skip.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether a root-relative path (file or folder) falls under a skip glob.
    pub fn is_skipped(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.skip.iter().any(|g| {
            let pat: Vec<&str> = g.split('/').filter(|s| !s.is_empty()).collect();
            glob_segments(&pat, &segs)
        })
    }
}

/// The manifests among a repository listing, in listing order.
pub fn discover(paths: &[String], rules: &DiscoveryRules) -> Vec<String> {
    paths
        .iter()
        .filter(|p| format_of(p).is_some() && !rules.is_skipped(p))
        .cloned()
        .collect()
}

/// Parses every manifest under `root` (or `root` itself when it is a file), skipping the
/// rules' globs and not following symbolic links. Results are keyed by path relative to the
/// folder scanned (for a single file, its file name), in path order; files that fail to parse
/// or read give errors instead (as does a `root` that does not exist).
pub fn scan_dir(
    root: &Path,
    rules: &DiscoveryRules,
) -> (Vec<(String, Vec<Dependency>)>, Vec<ParseError>) {
    if let Err(e) = std::fs::metadata(root) {
        let error = ParseError::unreadable(&root.display().to_string(), &e);
        return (Vec::new(), vec![error]);
    }
    let (base, files) = if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (
            root.parent().map(Path::to_path_buf).unwrap_or_default(),
            vec![name],
        )
    } else {
        let mut files = Vec::new();
        walk(root, "", rules, &mut files);
        files.sort();
        (root.to_path_buf(), discover(&files, rules))
    };
    let lookup = |rel: &str| -> Option<Vec<u8>> {
        if rel.split('/').any(|s| s == ".." || s.is_empty()) {
            return None;
        }
        let p = base.join(rel);
        let meta = std::fs::symlink_metadata(&p).ok()?;
        (meta.is_file() && meta.len() <= MAX_FILE)
            .then(|| std::fs::read(&p).ok())
            .flatten()
    };
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for rel in files {
        let path = base.join(&rel);
        let bytes = match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_FILE => {
                errors.push(ParseError::new(
                    &rel,
                    None,
                    format!("file larger than {MAX_FILE} bytes"),
                ));
                continue;
            }
            Ok(_) => std::fs::read(&path),
            Err(e) => Err(e),
        };
        match bytes {
            Ok(bytes) => match parse(&rel, &bytes, &lookup) {
                Ok(deps) => found.push((rel, deps)),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(ParseError::unreadable(&rel, &e)),
        }
    }
    (found, errors)
}

/// Collects root-relative file paths under `dir`, not entering skipped folders or symlinks.
fn walk(root: &Path, rel: &str, rules: &DiscoveryRules, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if kind.is_dir() {
            if !rules.is_skipped(&child) {
                walk(root, &child, rules, out);
            }
        } else if kind.is_file() {
            out.push(child);
        }
    }
}

/// Matches path segments against glob segments (`**` spans segments).
fn glob_segments(pat: &[&str], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| glob_segments(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((seg, path_rest)) => {
                glob_one(first.as_bytes(), seg.as_bytes()) && glob_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

/// Matches one segment against `*` and `?` wildcards.
fn glob_one(pat: &[u8], s: &[u8]) -> bool {
    match pat.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob_one(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob_one(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && glob_one(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_missing_path_says_it_could_not_be_read() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-Cargo.lock");
        let (found, errors) = scan_dir(&missing, &DiscoveryRules::default());
        assert!(found.is_empty());
        let shown = errors[0].to_string();
        let expected = format!("could not read {}: ", missing.display());
        assert!(shown.starts_with(&expected), "{shown}");
        assert!(!shown.contains("could not parse"), "{shown}");
        assert!(errors[0].is_unreadable());
        // A real parse failure keeps its wording.
        let bad = ParseError::new("Cargo.lock", Some(3), "expected a table");
        assert_eq!(
            bad.to_string(),
            "could not parse Cargo.lock at line 3: expected a table"
        );
        assert!(!bad.is_unreadable());
    }

    #[test]
    fn keeps_known_formats_and_skips_vendored_and_fixtures() {
        let listing = paths(&[
            "Cargo.lock",
            "Cargo.toml",
            "web/package.json",
            "web/package-lock.json",
            "web/node_modules/left-pad/package-lock.json",
            "vendor/github.com/x/go.mod",
            "go.mod",
            "requirements/dev.txt",
            "requirements-test.txt",
            "docs/readme.txt",
            "tests/fixtures/yarn.lock",
            "pkg/testdata/go.mod",
            "src/__fixtures__/pnpm-lock.yaml",
            "spec/fixtures/Gemfile.lock",
            "third_party/pom.xml",
            "app/pom.xml",
            ".git/Cargo.lock",
        ]);
        let found = discover(&listing, &DiscoveryRules::default());
        assert_eq!(
            found,
            paths(&[
                "Cargo.lock",
                "web/package-lock.json",
                "go.mod",
                "requirements/dev.txt",
                "requirements-test.txt",
                "app/pom.xml"
            ])
        );
    }

    #[test]
    fn custom_globs() {
        let listing = paths(&[
            "examples/a/Cargo.lock",
            "Cargo.lock",
            "vendor/go.mod",
            "deep/x/legacy-pom/pom.xml",
        ]);
        let rules = DiscoveryRules::with_extra_skips(["examples/**", "**/legacy-*/**"]);
        assert_eq!(discover(&listing, &rules), paths(&["Cargo.lock"]));
        let rules = DiscoveryRules::replacing_skips(["examples/**"]);
        assert_eq!(
            discover(&listing, &rules),
            paths(&["Cargo.lock", "vendor/go.mod", "deep/x/legacy-pom/pom.xml"])
        );
        let rules = DiscoveryRules::replacing_skips(Vec::<String>::new());
        assert_eq!(discover(&listing, &rules).len(), 4);
    }

    #[test]
    fn glob_matcher() {
        let r = DiscoveryRules::replacing_skips(["**/node_modules/**", "a/*.lock", "b?/**"]);
        assert!(r.is_skipped("node_modules"));
        assert!(r.is_skipped("x/y/node_modules/z"));
        assert!(r.is_skipped("a/Cargo.lock"));
        assert!(!r.is_skipped("a/b/Cargo.lock"));
        assert!(r.is_skipped("b1/x"));
        assert!(!r.is_skipped("b12/x"));
    }
}
