//! Packagist ordering, as PHP's `version_compare` (which composer builds on): a leading `v` is
//! dropped, `-`, `_` and `+` become dots, and a dot is put between digits and letters; then parts
//! compare pairwise: numbers numerically, words by rank (`dev` < `alpha`/`a` < `beta`/`b` <
//! `RC`/`rc` < `#` < `pl`/`p`, anything else ranking as `dev`), a number ranking as `#`. When one
//! version has more parts, a following number makes it greater, a following word compares with `#`.

use std::cmp::Ordering;

use super::num::{cmp_numbers, is_number};

/// A parsed Packagist version: its canonical parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackagistVersion {
    parts: Vec<String>,
}

impl PackagistVersion {
    /// Parses leniently (never fails).
    pub(crate) fn parse(input: &str) -> PackagistVersion {
        let s = input
            .strip_prefix('v')
            .or_else(|| input.strip_prefix('V'))
            .unwrap_or(input);
        let mut out = String::new();
        let mut prev: Option<char> = None;
        for c in s.chars() {
            let c = if matches!(c, '-' | '_' | '+') { '.' } else { c };
            if let Some(p) = prev {
                if p != '.' && c != '.' && p.is_ascii_digit() != c.is_ascii_digit() {
                    out.push('.');
                }
            }
            out.push(c);
            prev = Some(c);
        }
        PackagistVersion {
            parts: out.split('.').map(str::to_string).collect(),
        }
    }

    /// Total order.
    pub(crate) fn compare(&self, other: &PackagistVersion) -> Ordering {
        compare_parts(&self.parts, &other.parts)
    }
}

fn rank(word: &str) -> u8 {
    if word.starts_with("RC") {
        return 3;
    }
    ["dev", "a", "b", "rc", "#", "p"]
        .iter()
        .position(|w| word.starts_with(w))
        .map(|p| p as u8)
        .unwrap_or(0)
}

fn compare_parts<S: AsRef<str>>(a: &[S], b: &[S]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        let (x, y) = (x.as_ref(), y.as_ref());
        let ord = match (is_number(x), is_number(y)) {
            (true, true) => cmp_numbers(x, y),
            (false, false) => rank(x).cmp(&rank(y)),
            (true, false) => rank("#").cmp(&rank(y)),
            (false, true) => rank(x).cmp(&rank("#")),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    match a.len().cmp(&b.len()) {
        Ordering::Greater => {
            if is_number(a[b.len()].as_ref()) {
                Ordering::Greater
            } else {
                compare_tail(&a[b.len()..], false)
            }
        }
        Ordering::Less => {
            if is_number(b[a.len()].as_ref()) {
                Ordering::Less
            } else {
                compare_tail(&b[a.len()..], true)
            }
        }
        Ordering::Equal => Ordering::Equal,
    }
}

/// Compares the extra parts of the longer version with a lone `#` (`reversed`: `#` first).
fn compare_tail<S: AsRef<str>>(extra: &[S], reversed: bool) -> Ordering {
    let extra: Vec<&str> = extra.iter().map(AsRef::as_ref).collect();
    if reversed {
        compare_parts(&["#"], &extra)
    } else {
        compare_parts(&extra, &["#"])
    }
}

/// Whether `s` looks like a composer version: `dev-<branch>`, or an optional `v` then a digit.
pub(crate) fn is_well_formed(s: &str) -> bool {
    if s.starts_with("dev-") {
        return s.len() > 4;
    }
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composer_stability_order() {
        let v = |s| PackagistVersion::parse(s);
        assert_eq!(v("1.0.0-beta2").compare(&v("1.0.0-RC1")), Ordering::Less);
        assert_eq!(v("1.0.0-RC1").compare(&v("1.0.0")), Ordering::Less);
        assert_eq!(v("1.0.0").compare(&v("1.0.0-p1")), Ordering::Less);
    }
}
