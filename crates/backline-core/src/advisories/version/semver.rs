//! Semver-like ordering for crates.io, npm and Go (and NuGet's four-part variant).
//!
//! A version is a leading optional `v`, numeric components separated by dots, then a
//! pre-release / build tail beginning at the first character that is neither a digit nor a dot.
//! Components past `max_components` join the tail. Build metadata (`+...`, which covers Go's
//! `+incompatible`) is ignored; a version with a pre-release sorts before the same version
//! without one; pre-release identifiers compare as semver 2 says (numbers numerically, below
//! words; words in ASCII order; a longer list wins a tie). Go pseudo-versions
//! (`v0.0.0-20191109021931-daa7c04131f5`) are pre-releases and so order by their timestamp.

use std::cmp::Ordering;

use super::num::{cmp_numbers, cmp_padded, is_number};

/// A parsed semver-like version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SemverLike {
    components: Vec<String>,
    tail: String,
}

impl SemverLike {
    /// Parses leniently (never fails); `max_components` is 3 for semver, 4 for NuGet.
    pub(crate) fn parse(input: &str, max_components: usize) -> SemverLike {
        let s = input.strip_prefix('v').unwrap_or(input);
        let mut components = Vec::new();
        let mut current = String::new();
        let mut tail = String::new();
        let mut in_tail = false;
        for c in s.chars() {
            if in_tail {
                tail.push(c);
            } else if c.is_ascii_digit() {
                current.push(c);
            } else {
                if !current.is_empty() {
                    components.push(std::mem::take(&mut current));
                }
                if c != '.' {
                    in_tail = true;
                    tail.push(c);
                }
            }
        }
        if !in_tail && !current.is_empty() {
            components.push(current);
        }
        if components.len() > max_components {
            for extra in components.split_off(max_components) {
                tail.push('.');
                tail.push_str(super::num::trim_zeros(&extra));
            }
        }
        SemverLike { components, tail }
    }

    /// Lower-cases the tail once, for case-insensitive comparison (NuGet).
    pub(crate) fn fold_case(mut self) -> SemverLike {
        self.tail.make_ascii_lowercase();
        self
    }

    /// Compares two versions (NuGet's are case-folded at parse time, see [`Self::fold_case`]).
    pub(crate) fn compare(&self, other: &SemverLike) -> Ordering {
        cmp_padded(&self.components, &other.components)
            .then_with(|| compare_prerelease(&self.tail, &other.tail))
    }
}

/// Compares two tails (pre-release plus build metadata) as semver 2 precedence does.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let strip = |s: &str| -> String {
        let before_build = s.split('+').next().unwrap_or("");
        before_build
            .strip_prefix('-')
            .unwrap_or(before_build)
            .to_string()
    };
    let (a, b) = (strip(a), strip(b));
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        let (x, y) = match (xs.next(), ys.next()) {
            (Some(x), Some(y)) => (x, y),
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
        };
        let ord = match (is_number(x), is_number(y)) {
            (true, true) => cmp_numbers(x, y),
            (false, false) => x.cmp(y),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

/// Whether `s` is well formed: optional `v`, a digit first, then only `[0-9A-Za-z.+-]`.
pub(crate) fn is_well_formed(s: &str) -> bool {
    let s = s.strip_prefix('v').unwrap_or(s);
    s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        SemverLike::parse(a, 3).compare(&SemverLike::parse(b, 3))
    }

    #[test]
    fn go_forms() {
        assert_eq!(cmp("v1.2.3+incompatible", "1.2.3"), Ordering::Equal);
        assert_eq!(
            cmp(
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.0.0-20200101000000-aaaaaaaaaaaa"
            ),
            Ordering::Less
        );
        assert_eq!(
            cmp("v0.0.0-20191109021931-daa7c04131f5", "v0.0.1"),
            Ordering::Less
        );
        assert_eq!(cmp("1.2", "1.2.0"), Ordering::Equal);
    }
}
