//! The pure decisions of a transitive fix (issue 18): which parent release to bump to when a
//! parent's range excludes the fixed version, and the words for a chain that blocks it. The
//! fixer fetches the registry data and applies the steps with [`super::patch_with`].

use semver::Version;

use crate::ecosystems::npm::range::satisfies;
use crate::registry::NpmRelease;

/// How many parents up a bump may go (`a` for `b`, then `a`'s parent for `a`, ...).
pub const MAX_DEPTH: usize = 3;

/// Why no parent release can be bumped to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoParentRelease {
    /// No release above the installed one allows the fix.
    #[error("no release of {parent} after {installed} allows {package} {to}")]
    NoneAdmits {
        /// The parent.
        parent: String,
        /// Its installed version.
        installed: String,
        /// The package.
        package: String,
        /// The fixed version.
        to: String,
    },
    /// Every release that allows it is vulnerable itself.
    #[error("{parent} {first} allows {package} {to}, but every such release of {parent} is vulnerable itself")]
    AllVulnerable {
        /// The parent.
        parent: String,
        /// The smallest release that allows it.
        first: String,
        /// The package.
        package: String,
        /// The fixed version.
        to: String,
    },
}

/// The smallest stable release of a parent above `installed` that declares a range on `package`
/// (a dependency or an optional one) admitting `to` and that `vulnerable` does not flag.
pub fn parent_release<'a>(
    releases: &'a [NpmRelease],
    installed: &str,
    package: &str,
    to: &str,
    vulnerable: &dyn Fn(&str) -> bool,
) -> Result<&'a NpmRelease, NoParentRelease> {
    let parent = releases.first().map(|r| r.name.clone()).unwrap_or_default();
    let floor = Version::parse(installed).ok();
    let mut admitting: Vec<(Version, &NpmRelease)> = releases
        .iter()
        .filter_map(|r| Some((Version::parse(&r.version).ok()?, r)))
        .filter(|(v, _)| v.pre.is_empty() && floor.as_ref().is_none_or(|f| v > f))
        .filter(|(_, r)| {
            r.dependencies
                .get(package)
                .or_else(|| r.optional_dependencies.get(package))
                .is_some_and(|range| satisfies(range, to) == Some(true))
        })
        .collect();
    admitting.sort_by(|a, b| a.0.cmp(&b.0));
    let Some((_, first)) = admitting.first() else {
        return Err(NoParentRelease::NoneAdmits {
            parent,
            installed: installed.to_string(),
            package: package.to_string(),
            to: to.to_string(),
        });
    };
    admitting
        .iter()
        .map(|(_, r)| *r)
        .find(|r| !vulnerable(&r.version))
        .ok_or_else(|| NoParentRelease::AllVulnerable {
            parent,
            first: first.version.clone(),
            package: package.to_string(),
            to: to.to_string(),
        })
}

/// The chain that blocks a fix, as the plan shows it:
/// `app -> a@1.2.0 -> b@^2 (fix needs b 3.0.1)`. `parents` runs from the project's own
/// dependency down to the parent whose `range` excludes `to`.
pub fn blocked_chain(parents: &[(String, String)], package: &str, range: &str, to: &str) -> String {
    let mut s = String::from("app");
    for (name, version) in parents {
        s.push_str(&format!(" -> {name}@{version}"));
    }
    s.push_str(&format!(" -> {package}@{range} (fix needs {package} {to})"));
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn rel(version: &str, range: Option<&str>) -> NpmRelease {
        NpmRelease {
            name: "a".into(),
            version: version.into(),
            integrity: String::new(),
            shasum: None,
            tarball: String::new(),
            dependencies: range
                .map(|r| BTreeMap::from([("b".to_string(), r.to_string())]))
                .unwrap_or_default(),
            optional_dependencies: BTreeMap::new(),
            peer_dependencies: BTreeMap::new(),
        }
    }

    #[test]
    fn the_smallest_admitting_release_that_is_not_vulnerable_is_chosen() {
        let releases = vec![
            rel("1.2.0", Some("^2.0.0")),
            rel("2.0.0", Some("^3.0.0")),
            rel("1.3.0", Some("^3.0.0")),
            rel("1.4.0-beta.1", Some("^3.0.0")),
            rel("1.2.5", Some("^2.1.0")),
            rel("1.1.0", Some("^3.0.0")),
        ];
        let none = |_: &str| false;
        // 1.1.0 is below the installed version, the beta is a prerelease: 1.3.0.
        assert_eq!(
            parent_release(&releases, "1.2.0", "b", "3.0.1", &none)
                .unwrap()
                .version,
            "1.3.0"
        );
        // 1.3.0 is vulnerable itself: the next one that allows it.
        let flagged = |v: &str| v == "1.3.0";
        assert_eq!(
            parent_release(&releases, "1.2.0", "b", "3.0.1", &flagged)
                .unwrap()
                .version,
            "2.0.0"
        );
        let all = |_: &str| true;
        assert_eq!(
            parent_release(&releases, "1.2.0", "b", "3.0.1", &all)
                .unwrap_err()
                .to_string(),
            "a 1.3.0 allows b 3.0.1, but every such release of a is vulnerable itself"
        );
        assert_eq!(
            parent_release(&releases, "1.2.0", "b", "4.0.0", &none),
            Err(NoParentRelease::NoneAdmits {
                parent: "a".into(),
                installed: "1.2.0".into(),
                package: "b".into(),
                to: "4.0.0".into()
            })
        );
        // A release that no longer depends on b does not count as allowing it.
        let dropped = vec![rel("1.2.0", Some("^2.0.0")), rel("1.3.0", None)];
        assert!(parent_release(&dropped, "1.2.0", "b", "3.0.1", &none).is_err());
    }

    #[test]
    fn chains_read_from_the_project_down() {
        assert_eq!(
            blocked_chain(&[("a".into(), "1.2.0".into())], "b", "^2", "3.0.1"),
            "app -> a@1.2.0 -> b@^2 (fix needs b 3.0.1)"
        );
        assert_eq!(
            blocked_chain(
                &[("c".into(), "0.1.0".into()), ("a".into(), "1.2.0".into())],
                "b",
                "^2",
                "3.0.1"
            ),
            "app -> c@0.1.0 -> a@1.2.0 -> b@^2 (fix needs b 3.0.1)"
        );
    }
}
