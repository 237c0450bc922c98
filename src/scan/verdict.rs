//! What a scan's result means: the exit code and the warnings, decided from counts alone.
//! Pure.
//!
//! 0 clean, 1 vulnerable, 2 error, 3 nothing checked (no manifest found, or no advisories
//! loaded for any ecosystem that was scanned). An ecosystem scanned without advisories is
//! warned about even when others were checked.

use std::collections::BTreeSet;

use crate::ecosystem::Ecosystem;

/// The facts the verdict is decided from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Manifests that could not be read or parsed.
    pub errors: usize,
    /// Whether a vulnerability (not an informational advisory) was found.
    pub vulnerable: bool,
    /// Manifests read.
    pub manifests: usize,
    /// The ecosystems of the manifests read.
    pub scanned: BTreeSet<Ecosystem>,
    /// The ecosystems the loaded advisories cover.
    pub with_advisories: BTreeSet<Ecosystem>,
}

/// Why nothing was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NothingChecked {
    /// No manifest or lockfile was found.
    NoManifest,
    /// Every scanned ecosystem lacks advisories.
    NoAdvisories,
}

/// A scan's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Checked, nothing vulnerable.
    Clean,
    /// A vulnerability was found.
    Vulnerable,
    /// A manifest could not be read.
    Error,
    /// Nothing could be checked.
    NothingChecked(NothingChecked),
}

impl Verdict {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Clean => 0,
            Verdict::Vulnerable => 1,
            Verdict::Error => 2,
            Verdict::NothingChecked(_) => 3,
        }
    }
}

impl Facts {
    /// The scanned ecosystems no loaded advisory covers.
    pub fn without_advisories(&self) -> Vec<Ecosystem> {
        self.scanned
            .difference(&self.with_advisories)
            .copied()
            .collect()
    }

    /// The verdict: an error wins, then a vulnerability, then nothing checked.
    pub fn verdict(&self) -> Verdict {
        if self.errors > 0 {
            Verdict::Error
        } else if self.vulnerable {
            Verdict::Vulnerable
        } else if self.manifests == 0 {
            Verdict::NothingChecked(NothingChecked::NoManifest)
        } else if self
            .scanned
            .is_subset(&self.without_advisories().into_iter().collect())
        {
            Verdict::NothingChecked(NothingChecked::NoAdvisories)
        } else {
            Verdict::Clean
        }
    }

    /// One line per problem worth a warning: each scanned ecosystem without advisories
    /// (`crates.io: no advisories loaded`), and no manifest found.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .without_advisories()
            .into_iter()
            .map(|e| format!("{e}: no advisories loaded"))
            .collect();
        if self.manifests == 0 && self.errors == 0 {
            out.push("no manifest or lockfile found".to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(scanned: &[Ecosystem], with: &[Ecosystem]) -> Facts {
        Facts {
            manifests: scanned.len(),
            scanned: scanned.iter().copied().collect(),
            with_advisories: with.iter().copied().collect(),
            ..Facts::default()
        }
    }

    #[test]
    fn exit_codes() {
        use Ecosystem::*;
        assert_eq!(facts(&[CratesIo], &[CratesIo]).verdict().exit_code(), 0);
        let vulnerable = Facts {
            vulnerable: true,
            ..facts(&[CratesIo, Npm], &[CratesIo])
        };
        assert_eq!(vulnerable.verdict().exit_code(), 1);
        assert_eq!(vulnerable.warnings(), ["npm: no advisories loaded"]);
        let broken = Facts {
            errors: 1,
            ..facts(&[], &[])
        };
        assert_eq!(broken.verdict().exit_code(), 2);
        assert_eq!(
            facts(&[], &[CratesIo]).verdict(),
            Verdict::NothingChecked(NothingChecked::NoManifest)
        );
        let none = facts(&[CratesIo, PyPI], &[Npm]);
        assert_eq!(
            none.verdict(),
            Verdict::NothingChecked(NothingChecked::NoAdvisories)
        );
        assert_eq!(
            none.warnings(),
            [
                "crates.io: no advisories loaded",
                "PyPI: no advisories loaded"
            ]
        );
        // One ecosystem checked is enough for a clean verdict, with a warning for the other.
        let partly = facts(&[CratesIo, PyPI], &[PyPI]);
        assert_eq!(partly.verdict(), Verdict::Clean);
        assert_eq!(partly.warnings(), ["crates.io: no advisories loaded"]);
    }
}
