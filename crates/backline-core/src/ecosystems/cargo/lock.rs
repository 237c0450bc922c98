//! `Cargo.lock`, read once for both sides: the reader takes the packages ([`read`]), the
//! patcher takes the same packages with the byte spans of cargo's own layout ([`scan`]), and
//! [`scan`] refuses a file whose layout does not list exactly the packages [`read`] does, so the
//! two can never disagree about what the lockfile says.
//!
//! Shared too: where a `source` points ([`source_of`]) and how a dependency reference
//! (`name`, `name version`, `name version (source)`) splits ([`split_ref`]).

use serde::Deserialize;

use crate::deps::text::{self, from_toml};
use crate::deps::{ParseError, Source};
use crate::remediation::patch::{lines_with_offsets, PatchError};

/// A `Cargo.lock` as TOML.
#[derive(Deserialize)]
pub(crate) struct Lock {
    version: Option<toml::Value>,
    #[serde(default)]
    package: Vec<Package>,
    /// Format v1 (very old): the root package in its own table.
    root: Option<Package>,
}

/// One `[[package]]`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) source: Option<String>,
    #[serde(default)]
    pub(crate) dependencies: Vec<String>,
}

impl Lock {
    /// Every package, the v1 root first.
    pub(crate) fn packages(self) -> Vec<Package> {
        let mut packages = self.package;
        if let Some(root) = self.root {
            packages.insert(0, root);
        }
        packages
    }
}

/// Parses a lockfile (format versions 1 to 4).
pub(crate) fn read(file: &str, bytes: &[u8]) -> Result<Lock, ParseError> {
    let text = text::utf8(file, bytes)?;
    let lock: Lock = from_toml(file, text)?;
    if let Some(v) = &lock.version {
        match v.as_integer() {
            Some(1..=4) => {}
            _ => {
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with("version"))
                    .map(|i| i + 1);
                return Err(ParseError::new(
                    file,
                    line,
                    format!("unsupported Cargo.lock version {v}"),
                ));
            }
        }
    }
    Ok(lock)
}

/// Where a lockfile `source` points: crates.io, git, a path or another registry.
pub(crate) fn source_of(source: &str) -> Source {
    const CRATES_IO: [&str; 2] = [
        "registry+https://github.com/rust-lang/crates.io-index",
        "sparse+https://index.crates.io/",
    ];
    if CRATES_IO.contains(&source) {
        Source::Registry
    } else if source.starts_with("git+") {
        Source::Git
    } else if source.starts_with("path+") {
        Source::Path
    } else {
        Source::AlternativeRegistry
    }
}

/// Whether a package's `source` is crates.io.
pub(crate) fn is_crates_io(source: Option<&str>) -> bool {
    source.is_some_and(|s| source_of(s) == Source::Registry)
}

/// `name`, `name version` or `name version (source)`.
pub(crate) fn split_ref(r: &str) -> (&str, Option<&str>, Option<&str>) {
    let mut parts = r.splitn(3, ' ');
    let name = parts.next().unwrap_or(r);
    (name, parts.next(), parts.next())
}

/// One `[[package]]` block as cargo writes it, with the spans an edit needs.
#[derive(Debug)]
pub(crate) struct Block {
    /// Byte span of the whole block, header line to the last field line (inclusive).
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) source: Option<String>,
    pub(crate) version_line: Option<(usize, usize)>,
    pub(crate) checksum_line: Option<(usize, usize)>,
    /// Each reference with the span of its quoted string (without the quotes).
    pub(crate) deps: Vec<(String, (usize, usize))>,
    /// Span of the `dependencies = [ ... ]` lines, endings included.
    pub(crate) deps_span: Option<(usize, usize)>,
    /// Where a new `dependencies` field would go (after the last field line).
    pub(crate) fields_end: usize,
}

impl Block {
    fn new(start: usize, end: usize, fields_end: usize) -> Block {
        Block {
            start,
            end,
            name: String::new(),
            version: String::new(),
            source: None,
            version_line: None,
            checksum_line: None,
            deps: Vec::new(),
            deps_span: None,
            fields_end,
        }
    }

    /// Whether this block says what `package` says.
    fn agrees_with(&self, package: &Package) -> bool {
        self.name == package.name
            && self.version == package.version
            && self.source == package.source
            && self
                .deps
                .iter()
                .map(|(r, _)| r)
                .eq(package.dependencies.iter())
    }
}

/// The blocks of a lockfile in cargo's layout.
pub(crate) struct Layout {
    pub(crate) blocks: Vec<Block>,
    /// Whether it has a `[metadata]` table (format v1 checksums).
    pub(crate) metadata: bool,
}

fn unquote(value: &str) -> Option<&str> {
    let v = value.trim();
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['"', '\\'])).then_some(inner)
}

/// Reads a lockfile's blocks in cargo's layout and checks that they are the packages [`read`]
/// finds, in order (the v1 `[root]` table aside, which no edit touches).
pub(crate) fn scan(file: &str, text: &str) -> Result<Layout, PatchError> {
    let layout = scan_layout(file, text)?;
    let lock = read(file, text.as_bytes())?;
    let agrees = layout.blocks.len() == lock.package.len()
        && layout
            .blocks
            .iter()
            .zip(&lock.package)
            .all(|(b, p)| b.agrees_with(p));
    if !agrees {
        return Err(PatchError::Unreadable(ParseError::new(
            file,
            None,
            "not in cargo's layout: its [[package]] lines do not say what its TOML says",
        )));
    }
    Ok(layout)
}

fn scan_layout(file: &str, text: &str) -> Result<Layout, PatchError> {
    let layout = |line: usize, what: &str| {
        PatchError::Unreadable(ParseError::new(
            file,
            Some(line),
            format!("not in cargo's layout: {what}"),
        ))
    };
    let mut blocks: Vec<Block> = Vec::new();
    let mut metadata = false;
    let mut in_block = false;
    let mut in_deps = false;
    for (i, (off, raw)) in lines_with_offsets(text).into_iter().enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let line_end = off + line.len();
        let full_end = off + raw.len();
        if in_deps {
            let b = blocks
                .last_mut()
                .ok_or_else(|| layout(i + 1, "dependencies"))?;
            let t = line.trim();
            if t == "]" {
                in_deps = false;
                if let Some(s) = &mut b.deps_span {
                    s.1 = full_end;
                }
                b.end = line_end;
                b.fields_end = full_end;
                continue;
            }
            let s = t.trim_end_matches(',');
            let inner = unquote(s).ok_or_else(|| layout(i + 1, "a dependency reference"))?;
            let q = off + line.find('"').unwrap_or(0) + 1;
            b.deps.push((inner.to_string(), (q, q + inner.len())));
            continue;
        }
        if line.starts_with('[') {
            in_block = line == "[[package]]";
            if line == "[metadata]" {
                metadata = true;
            }
            if in_block {
                blocks.push(Block::new(off, line_end, full_end));
            }
            continue;
        }
        if !in_block || line.trim().is_empty() {
            continue;
        }
        let Some(b) = blocks.last_mut() else { continue };
        let Some((key, value)) = line.split_once(" = ") else {
            return Err(layout(i + 1, "expected `key = value`"));
        };
        b.end = line_end;
        b.fields_end = full_end;
        match key {
            "name" => b.name = unquote(value).ok_or_else(|| layout(i + 1, "name"))?.into(),
            "version" => {
                b.version = unquote(value)
                    .ok_or_else(|| layout(i + 1, "version"))?
                    .into();
                b.version_line = Some((off, line_end));
            }
            "source" => {
                b.source = Some(
                    unquote(value)
                        .ok_or_else(|| layout(i + 1, "source"))?
                        .into(),
                )
            }
            "checksum" => b.checksum_line = Some((off, line_end)),
            "dependencies" => {
                b.deps_span = Some((off, full_end));
                if value.trim() == "[" {
                    in_deps = true;
                } else if value.trim() != "[]" {
                    return Err(layout(i + 1, "a one-line dependencies list"));
                }
            }
            _ => {}
        }
    }
    Ok(Layout { blocks, metadata })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"regex\",\n]\n\n[[package]]\nname = \"regex\"\nversion = \"1.5.4\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"abc\"\n";

    #[test]
    fn the_layout_and_the_toml_say_the_same() {
        let layout = scan("Cargo.lock", LOCK).unwrap();
        let names: Vec<&str> = layout.blocks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["app", "regex"]);
        let regex = &layout.blocks[1];
        let (s, e) = regex.version_line.unwrap();
        assert_eq!(&LOCK[s..e], "version = \"1.5.4\"");
        assert!(is_crates_io(regex.source.as_deref()));
        let (s, e) = layout.blocks[0].deps[0].1;
        assert_eq!(&LOCK[s..e], "regex");
    }

    #[test]
    fn a_layout_that_hides_a_package_from_the_line_scan_is_refused() {
        // Valid TOML that the line scan reads differently: a header with a comment (the block
        // is not seen) and a key with two spaces (the name is not seen). Either way the patcher
        // would edit another list than the reader read.
        for hidden in [
            LOCK.replace(
                "\n\n[[package]]\nname = \"regex\"",
                "\n\n[[package]] # x\nname = \"regex\"",
            ),
            LOCK.replace("name = \"regex\"", "name  = \"regex\""),
        ] {
            assert!(read("Cargo.lock", hidden.as_bytes()).is_ok(), "{hidden}");
            assert!(
                matches!(scan("Cargo.lock", &hidden), Err(PatchError::Unreadable(_))),
                "{hidden}"
            );
        }
    }

    #[test]
    fn references_split_into_name_version_and_source() {
        assert_eq!(split_ref("rand"), ("rand", None, None));
        assert_eq!(
            split_ref("rand 0.8.5 (registry+x)"),
            ("rand", Some("0.8.5"), Some("(registry+x)"))
        );
        assert_eq!(source_of("git+https://x"), Source::Git);
        assert_eq!(
            source_of("sparse+https://index.crates.io/"),
            Source::Registry
        );
        assert_eq!(
            source_of("registry+https://other"),
            Source::AlternativeRegistry
        );
    }
}
