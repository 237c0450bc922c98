//! RubyGems ordering, as `Gem::Version` does it: the version is split into segments at dots and
//! at every change between digits and letters (`1.0.a10` is `1`, `0`, `a`, `10`); numeric
//! segments come first, the rest (from the first letter segment on) is the pre-release part;
//! trailing zeros of each part are dropped; segments compare pairwise (numbers numerically,
//! words in ASCII order, a number above a word), the shorter list padded with `0`.

use std::cmp::Ordering;

use super::num::{cmp_numbers, is_number};

/// A parsed gem version: its canonical segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GemVersion {
    segments: Vec<String>,
}

impl GemVersion {
    /// Parses leniently (never fails).
    pub(crate) fn parse(input: &str) -> GemVersion {
        let mut split: Vec<String> = Vec::new();
        let mut current = String::new();
        let mut prev_digit: Option<bool> = None;
        for c in input.trim().chars() {
            if c == '.' {
                split.push(std::mem::take(&mut current));
                prev_digit = None;
                continue;
            }
            let digit = c.is_ascii_digit();
            if prev_digit.is_some_and(|p| p != digit) {
                split.push(std::mem::take(&mut current));
            }
            current.push(c);
            prev_digit = Some(digit);
        }
        split.push(current);
        let mut numbers = Vec::new();
        let mut rest = Vec::new();
        for seg in split {
            if rest.is_empty() && is_number(&seg) {
                numbers.push(seg);
            } else {
                rest.push(seg);
            }
        }
        trim_trailing_zeros(&mut numbers);
        trim_trailing_zeros(&mut rest);
        numbers.extend(rest);
        GemVersion { segments: numbers }
    }

    /// Total order.
    pub(crate) fn compare(&self, other: &GemVersion) -> Ordering {
        let n = self.segments.len().max(other.segments.len());
        for i in 0..n {
            let a = self.segments.get(i).map(String::as_str).unwrap_or("0");
            let b = other.segments.get(i).map(String::as_str).unwrap_or("0");
            let ord = match (is_number(a), is_number(b)) {
                (true, true) => cmp_numbers(a, b),
                (false, false) => a.cmp(b),
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

fn trim_trailing_zeros(segs: &mut Vec<String>) {
    while segs.last().is_some_and(|s| s == "0") {
        segs.pop();
    }
}

/// Whether `s` looks like a gem version: a digit first, then `[0-9A-Za-z.-]`.
pub(crate) fn is_well_formed(s: &str) -> bool {
    let s = s.trim();
    s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prerelease_and_padding() {
        let v = |s| GemVersion::parse(s);
        assert_eq!(v("1.2.0").compare(&v("1.2")), Ordering::Equal);
        assert_eq!(v("1.2.rc1").compare(&v("1.2")), Ordering::Less);
        assert_eq!(v("1.10").compare(&v("1.9")), Ordering::Greater);
    }
}
