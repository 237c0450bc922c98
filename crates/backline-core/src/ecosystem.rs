//! Package ecosystems backline understands, named as OSV names them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A package ecosystem. The serde and display form is OSV's ecosystem name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ecosystem {
    /// Rust crates (Cargo.lock).
    #[serde(rename = "crates.io")]
    CratesIo,
    /// npm packages (package-lock.json, yarn.lock, pnpm-lock.yaml).
    #[serde(rename = "npm")]
    Npm,
    /// Python packages (requirements, poetry.lock, Pipfile.lock, uv.lock).
    #[serde(rename = "PyPI")]
    PyPI,
    /// Go modules (go.mod).
    #[serde(rename = "Go")]
    Go,
    /// Ruby gems (Gemfile.lock).
    #[serde(rename = "RubyGems")]
    RubyGems,
    /// PHP packages (composer.lock).
    #[serde(rename = "Packagist")]
    Packagist,
    /// Java packages (pom.xml).
    #[serde(rename = "Maven")]
    Maven,
    /// .NET packages (packages.lock.json).
    #[serde(rename = "NuGet")]
    NuGet,
}

impl Ecosystem {
    /// Every ecosystem, in DESIGN.md's priority order.
    pub const ALL: [Ecosystem; 8] = [
        Ecosystem::CratesIo,
        Ecosystem::Npm,
        Ecosystem::PyPI,
        Ecosystem::Go,
        Ecosystem::RubyGems,
        Ecosystem::Packagist,
        Ecosystem::Maven,
        Ecosystem::NuGet,
    ];

    /// OSV's name for the ecosystem (`"crates.io"`, `"PyPI"`, ...).
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Maven => "Maven",
            Ecosystem::NuGet => "NuGet",
        }
    }

    /// Parses an OSV ecosystem name; a suffix such as `"Debian:12"` or `"npm:foo"` is ignored.
    pub fn from_osv(name: &str) -> Option<Ecosystem> {
        let base = name.split(':').next().unwrap_or(name);
        Ecosystem::ALL.into_iter().find(|e| e.osv_name() == base)
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_names_round_trip() {
        for e in Ecosystem::ALL {
            assert_eq!(Ecosystem::from_osv(e.osv_name()), Some(e));
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.osv_name()));
        }
        assert_eq!(Ecosystem::from_osv("PyPI:suffix"), Some(Ecosystem::PyPI));
        assert_eq!(Ecosystem::from_osv("Debian:12"), None);
    }
}
