//! The pure decisions of a transitive fix (issue 18): which parent release to bump to when a
//! parent's range excludes the fixed version, and the words for a chain that blocks it. The
//! fixer fetches the registry data and applies the steps with [`super::patch_with`].

use semver::{Version, VersionReq};

use crate::ecosystems::npm::range::satisfies;
use crate::registry::{CrateRelease, DepKind, NpmRelease};

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

/// What a bump looks for: the package whose parent moves, and the version it must allow.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// The parent's installed version (releases above it are candidates).
    pub installed: &'a str,
    /// The package below the parent.
    pub package: &'a str,
    /// The version of it the parent must allow.
    pub to: &'a str,
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
    let want = Wanted {
        installed,
        package,
        to,
    };
    let parent = releases.first().map(|r| r.name.clone()).unwrap_or_default();
    let admits = |r: &NpmRelease| {
        r.dependencies
            .get(package)
            .or_else(|| r.optional_dependencies.get(package))
            .is_some_and(|range| satisfies(range, to) == Some(true))
    };
    let candidates = releases
        .iter()
        .filter(|r| admits(r))
        .map(|r| (r.version.as_str(), r));
    first_admitting(parent, want, candidates, vulnerable)
}

/// [`parent_release`] for a crate (issue 18, Cargo.lock): the smallest release above the
/// installed one, neither yanked nor a prerelease, whose normal or build requirement on
/// `package` (optional or not; dev-dependencies do not count, as for Cargo's resolver) admits
/// `to` with Cargo's semver rules, and that `vulnerable` does not flag.
pub fn parent_crate_release<'a>(
    releases: &'a [CrateRelease],
    want: Wanted<'_>,
    vulnerable: &dyn Fn(&str) -> bool,
) -> Result<&'a CrateRelease, NoParentRelease> {
    let parent = releases.first().map(|r| r.name.clone()).unwrap_or_default();
    let to = Version::parse(want.to).ok();
    let admits = |r: &CrateRelease| {
        let mut reqs = r
            .deps
            .iter()
            .filter(|d| d.name == want.package && d.kind != DepKind::Dev)
            .peekable();
        reqs.peek().is_some()
            && reqs.all(|d| {
                VersionReq::parse(&d.req)
                    .ok()
                    .zip(to.as_ref())
                    .is_some_and(|(req, to)| req.matches(to))
            })
    };
    let candidates = releases
        .iter()
        .filter(|r| !r.yanked && admits(r))
        .map(|r| (r.version.as_str(), r));
    first_admitting(parent, want, candidates, vulnerable)
}

/// The smallest stable candidate above the installed version that is not vulnerable.
fn first_admitting<'a, T>(
    parent: String,
    want: Wanted<'_>,
    candidates: impl Iterator<Item = (&'a str, &'a T)>,
    vulnerable: &dyn Fn(&str) -> bool,
) -> Result<&'a T, NoParentRelease> {
    let floor = Version::parse(want.installed).ok();
    let mut admitting: Vec<(Version, &str, &T)> = candidates
        .filter_map(|(v, r)| Some((Version::parse(v).ok()?, v, r)))
        .filter(|(v, _, _)| v.pre.is_empty() && floor.as_ref().is_none_or(|f| v > f))
        .collect();
    admitting.sort_by(|a, b| a.0.cmp(&b.0));
    let Some((_, first, _)) = admitting.first() else {
        return Err(NoParentRelease::NoneAdmits {
            parent,
            installed: want.installed.to_string(),
            package: want.package.to_string(),
            to: want.to.to_string(),
        });
    };
    admitting
        .iter()
        .find(|(_, v, _)| !vulnerable(v))
        .map(|(_, _, r)| *r)
        .ok_or_else(|| NoParentRelease::AllVulnerable {
            parent,
            first: first.to_string(),
            package: want.package.to_string(),
            to: want.to.to_string(),
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

    fn krate(version: &str, yanked: bool, deps: &[(&str, DepKind)]) -> CrateRelease {
        CrateRelease {
            name: "serde".into(),
            version: version.into(),
            cksum: String::new(),
            yanked,
            deps: deps
                .iter()
                .map(|(req, kind)| crate::registry::CrateDep {
                    name: "serde_derive".into(),
                    req: req.to_string(),
                    kind: *kind,
                    optional: true,
                })
                .collect(),
        }
    }

    #[test]
    fn a_crate_parent_is_chosen_by_cargo_requirements_skipping_yanked_and_dev() {
        let releases = vec![
            krate(
                "1.0.150",
                false,
                &[("=1.0.150", DepKind::Normal), ("^1.0", DepKind::Dev)],
            ),
            // Only its dev-dependency allows 1.0.152.
            krate(
                "1.0.151",
                false,
                &[("=1.0.151", DepKind::Normal), ("^1.0", DepKind::Dev)],
            ),
            krate("1.0.152", true, &[("=1.0.152", DepKind::Normal)]),
            krate("1.0.153", false, &[("=1.0.152", DepKind::Build)]),
            krate("1.0.154", false, &[("^1.0.152", DepKind::Normal)]),
        ];
        let want = Wanted {
            installed: "1.0.150",
            package: "serde_derive",
            to: "1.0.152",
        };
        let none = |_: &str| false;
        // 1.0.152 is yanked: the build requirement of 1.0.153 allows it.
        assert_eq!(
            parent_crate_release(&releases, want, &none)
                .unwrap()
                .version,
            "1.0.153"
        );
        let flagged = |v: &str| v == "1.0.153";
        assert_eq!(
            parent_crate_release(&releases, want, &flagged)
                .unwrap()
                .version,
            "1.0.154"
        );
        assert!(matches!(
            parent_crate_release(&releases, Wanted { to: "2.0.0", ..want }, &none),
            Err(NoParentRelease::NoneAdmits { parent, .. }) if parent == "serde"
        ));
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
