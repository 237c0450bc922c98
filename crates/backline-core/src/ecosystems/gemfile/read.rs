//! `Gemfile.lock` (Bundler).
//!
//! Gems come from the `specs:` of the `GEM` and `GIT` sections: four spaces of indentation give
//! a gem, `name (1.2.3)` or with a platform `name (1.2.3-x86_64-linux)` (the platform is
//! dropped from the version); six spaces give that gem's own dependencies, which make it the
//! parent of those gems. `GIT` gems are git sources and `PATH` gems path sources (except the
//! project's own, `remote: .`), `GEM` gems from a remote other than rubygems.org come from an
//! alternative registry: all listed, never matched. The `DEPENDENCIES` section lists the
//! direct gems (`name`, `name (~> 1.0)`, `name!`).

use std::collections::{HashMap, HashSet};

use crate::deps::text::utf8;
use crate::deps::{dedupe, Dependency, ParseError, Source};
use crate::ecosystem::Ecosystem;

/// Parses a `Gemfile.lock`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Dependency>, ParseError> {
    let text = utf8(file, bytes)?;
    let mut gems: Vec<(String, String, Source)> = Vec::new();
    // The current section's `remote:` values.
    let mut remotes: Vec<&str> = Vec::new();
    let mut parent_of: HashMap<String, String> = HashMap::new();
    let mut direct: HashSet<String> = HashSet::new();
    let mut section = "";
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |m: String| ParseError::new(file, Some(line_no), m);
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let content = line.trim_start();
        if indent == 0 {
            section = content;
            current = None;
            remotes.clear();
            continue;
        }
        match section {
            "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE" => match indent {
                2 => {
                    // remote:, revision:, specs:, ...
                    if let Some(r) = content.strip_prefix("remote:") {
                        remotes.push(r.trim());
                    }
                }
                4 => {
                    let (name, version) = name_and_paren(content);
                    let version = version.filter(|v| !v.is_empty()).ok_or_else(|| {
                        err(format!("expected `name (version)`, found `{content}`"))
                    })?;
                    if name.is_empty() {
                        return Err(err(format!("expected `name (version)`, found `{content}`")));
                    }
                    // Gem versions have no `-`; one starts the platform.
                    let version = version.split('-').next().unwrap_or(version);
                    current = Some(name.to_string());
                    if let Some(source) = section_source(section, &remotes) {
                        gems.push((name.to_string(), version.to_string(), source));
                    }
                }
                6 => {
                    let gem = current
                        .as_ref()
                        .ok_or_else(|| err("dependency line outside a gem".into()))?;
                    let (name, _) = name_and_paren(content);
                    parent_of
                        .entry(name.to_string())
                        .or_insert_with(|| gem.clone());
                }
                _ => {
                    return Err(err(format!(
                        "unexpected indentation of {indent} spaces in {section}"
                    )))
                }
            },
            "DEPENDENCIES" => {
                let (name, _) = name_and_paren(content);
                direct.insert(name.trim_end_matches('!').to_string());
            }
            _ => {}
        }
    }
    let out = gems
        .into_iter()
        .map(|(name, version, source)| {
            let is_direct = direct.contains(&name);
            let parent = if is_direct {
                None
            } else {
                parent_of.get(&name).cloned()
            };
            Dependency::new(Ecosystem::RubyGems, name, Some(version), is_direct)
                .with_parent(parent)
                .with_source(source)
        })
        .collect();
    Ok(dedupe(out))
}

/// The source of a section's gems; `None` for what is not reported (the project's own `PATH`,
/// plugins).
fn section_source(section: &str, remotes: &[&str]) -> Option<Source> {
    match section {
        "GEM" => {
            let public = remotes.is_empty()
                || remotes.iter().any(|r| {
                    let host = r
                        .trim_start_matches("https://")
                        .trim_start_matches("http://");
                    host.split('/').next() == Some("rubygems.org")
                });
            Some(if public {
                Source::Registry
            } else {
                Source::AlternativeRegistry
            })
        }
        "GIT" => Some(Source::Git),
        "PATH" if remotes.iter().any(|r| *r != ".") => Some(Source::Path),
        _ => None,
    }
}

/// Splits `name (inside)` into the name and what the parentheses hold.
fn name_and_paren(s: &str) -> (&str, Option<&str>) {
    match s.split_once(" (") {
        Some((name, rest)) => (name.trim(), rest.strip_suffix(')').map(str::trim)),
        None => (s.trim(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "GIT
  remote: https://github.com/rails/rails.git
  revision: 0123abcd
  specs:
    activesupport (7.2.0.alpha)
      concurrent-ruby (~> 1.0, >= 1.0.2)

PATH
  remote: .
  specs:
    myapp (0.1.0)
      rack (>= 2)

GEM
  remote: https://rubygems.org/
  specs:
    concurrent-ruby (1.2.3)
    nokogiri (1.16.2-x86_64-linux)
      racc (~> 1.4)
    nokogiri (1.16.2-arm64-darwin)
      racc (~> 1.4)
    rack (3.0.9.1)
    racc (1.7.3)

PLATFORMS
  arm64-darwin
  x86_64-linux

DEPENDENCIES
  activesupport!
  myapp!
  nokogiri (~> 1.16)
  rack

BUNDLED WITH
   2.5.6
";

    #[test]
    fn specs_platforms_and_directness() {
        let deps = parse("Gemfile.lock", LOCK.as_bytes()).unwrap();
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
        assert_eq!(
            got,
            [
                ("activesupport", "7.2.0.alpha", true, None),
                ("concurrent-ruby", "1.2.3", false, Some("activesupport")),
                ("nokogiri", "1.16.2", true, None),
                ("rack", "3.0.9.1", true, None),
                ("racc", "1.7.3", false, Some("nokogiri")),
            ]
        );
        // The GIT section's gem is a git source (listed, never matched).
        assert_eq!(
            deps.iter()
                .map(|d| d.source)
                .filter(|s| *s != Source::Registry)
                .collect::<Vec<_>>(),
            [Source::Git]
        );
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let bad = "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (3.0.0)\n    broken\n";
        let e = parse("Gemfile.lock", bad.as_bytes()).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("Gemfile.lock", Some(5)), "{e}");
        let e = parse("Gemfile.lock", b"GEM\n  specs:\n     rack (1.0)\n").unwrap_err();
        assert_eq!(e.line, Some(3));
    }
}
