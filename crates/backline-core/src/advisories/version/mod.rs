//! Version ordering per ecosystem, one file per scheme.
//!
//! [`compare`] is total and never fails: every scheme parses leniently. [`try_compare`] and
//! [`check`] say when a version is not well formed for its ecosystem ([`VersionError`]); such a
//! version is still ordered by the documented fallback of its scheme:
//!
//! - crates.io, npm, Go, NuGet: the leading digits-and-dots are the numeric components and
//!   everything from the first other character is a pre-release tail (so `banana` has no
//!   components, compares as `0.0.0-banana`);
//! - PyPI: a non-PEP 440 version is a legacy version, ordered before every PEP 440 version;
//! - RubyGems, Packagist, Maven: their comparators accept any text (segments of digits and
//!   letters).

mod maven;
mod nuget;
mod num;
mod packagist;
mod pypi;
mod rubygems;
mod semver;

use std::cmp::Ordering;

use crate::ecosystem::Ecosystem;

/// A version that is not well formed for its ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{version:?} is not a valid {ecosystem} version: {reason}")]
pub struct VersionError {
    /// The ecosystem whose rules were applied.
    pub ecosystem: Ecosystem,
    /// The version text.
    pub version: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// A version parsed by its ecosystem's rules, for repeated comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    inner: Parsed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Parsed {
    Semver(semver::SemverLike),
    NuGet(semver::SemverLike),
    PyPI(pypi::PyVersion),
    RubyGems(rubygems::GemVersion),
    Packagist(packagist::PackagistVersion),
    Maven(maven::MavenVersion),
}

impl Version {
    /// Parses `text` by `ecosystem`'s rules, leniently (see the module documentation).
    pub fn parse(ecosystem: Ecosystem, text: &str) -> Version {
        let inner = match ecosystem {
            Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::Go => {
                Parsed::Semver(semver::SemverLike::parse(text.trim(), 3))
            }
            Ecosystem::NuGet => Parsed::NuGet(nuget::parse(text)),
            Ecosystem::PyPI => Parsed::PyPI(pypi::PyVersion::parse(text)),
            Ecosystem::RubyGems => Parsed::RubyGems(rubygems::GemVersion::parse(text)),
            Ecosystem::Packagist => Parsed::Packagist(packagist::PackagistVersion::parse(text)),
            Ecosystem::Maven => Parsed::Maven(maven::MavenVersion::parse(text)),
        };
        Version { inner }
    }

    /// Compares two versions of the same ecosystem. Versions parsed for different ecosystems
    /// are ordered by ecosystem (a caller error, but never a panic).
    pub fn compare(&self, other: &Version) -> Ordering {
        use Parsed::*;
        match (&self.inner, &other.inner) {
            (Semver(a), Semver(b)) | (NuGet(a), NuGet(b)) => a.compare(b),
            (PyPI(a), PyPI(b)) => a.compare(b),
            (RubyGems(a), RubyGems(b)) => a.compare(b),
            (Packagist(a), Packagist(b)) => a.compare(b),
            (Maven(a), Maven(b)) => a.compare(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

impl Parsed {
    fn rank(&self) -> u8 {
        match self {
            Parsed::Semver(_) => 0,
            Parsed::NuGet(_) => 1,
            Parsed::PyPI(_) => 2,
            Parsed::RubyGems(_) => 3,
            Parsed::Packagist(_) => 4,
            Parsed::Maven(_) => 5,
        }
    }
}

/// Orders two versions of `ecosystem`. Total and panic-free; a malformed version is ordered by
/// the fallback described in the module documentation.
pub fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Ordering {
    Version::parse(ecosystem, a).compare(&Version::parse(ecosystem, b))
}

/// Like [`compare`], but refuses a version that is not well formed for `ecosystem`.
pub fn try_compare(ecosystem: Ecosystem, a: &str, b: &str) -> Result<Ordering, VersionError> {
    check(ecosystem, a)?;
    check(ecosystem, b)?;
    Ok(compare(ecosystem, a, b))
}

/// Checks that `version` is well formed for `ecosystem`.
pub fn check(ecosystem: Ecosystem, version: &str) -> Result<(), VersionError> {
    let err = |reason| VersionError {
        ecosystem,
        version: version.to_string(),
        reason,
    };
    if version.trim().is_empty() {
        return Err(err("empty"));
    }
    let ok = match ecosystem {
        Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::Go | Ecosystem::NuGet => {
            semver::is_well_formed(version.trim())
        }
        Ecosystem::PyPI => pypi::PyVersion::parse(version).is_pep440(),
        Ecosystem::RubyGems => rubygems::is_well_formed(version),
        Ecosystem::Packagist => packagist::is_well_formed(version.trim()),
        Ecosystem::Maven => !version.chars().any(char::is_whitespace),
    };
    if ok {
        Ok(())
    } else {
        Err(err(match ecosystem {
            Ecosystem::PyPI => "not a PEP 440 version (ordered as a legacy version)",
            _ => "unexpected characters or no leading number",
        }))
    }
}

#[cfg(test)]
mod reference_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_versions_are_errors_but_still_ordered() {
        let e = try_compare(Ecosystem::CratesIo, "banana", "1.0.0").unwrap_err();
        assert!(e.to_string().contains("banana"), "{e}");
        assert_eq!(
            compare(Ecosystem::CratesIo, "banana", "1.0.0"),
            Ordering::Less
        );
        assert!(check(Ecosystem::PyPI, "0.1-bulbasaur").is_err());
        assert!(check(Ecosystem::PyPI, "").is_err());
        assert!(check(Ecosystem::Npm, "1.2.3-beta.1").is_ok());
        assert!(check(Ecosystem::Go, "v0.0.0-20191109021931-daa7c04131f5").is_ok());
        for eco in Ecosystem::ALL {
            for junk in ["", "...", "-", "+", "💥", "1..2", "v", "!!", "1!", "+x"] {
                let _ = compare(eco, junk, "1.0");
                let _ = compare(eco, "1.0", junk);
                let _ = compare(eco, junk, junk);
            }
        }
    }
}
