//! Go's version order: module versions by semantic versioning (golang.org/x/mod/semver, build
//! metadata such as `+incompatible` ignored), and `go` directive versions (`1.21`, `1.21.0`,
//! `1.22rc1`) by go/version's language order.

use std::cmp::Ordering;

/// Compares two module versions (`v1.2.3`, `v0.0.0-20210226172049-e18ecbb05110`,
/// `v2.0.0+incompatible`); `None` when either is not semantic.
pub(crate) fn cmp_module(a: &str, b: &str) -> Option<Ordering> {
    let parse = |v: &str| {
        let v = v.strip_prefix('v')?;
        let v = v.split('+').next()?;
        semver::Version::parse(v).ok()
    };
    Some(parse(a)?.cmp(&parse(b)?))
}

/// Compares `go` directive versions: numbers by parts (a missing part is 0), a release
/// candidate (`1.22rc1`) below its release.
pub(crate) fn cmp_go(a: &str, b: &str) -> Ordering {
    fn key(v: &str) -> (Vec<u64>, u8, u64) {
        let (nums, pre) = match v.find(|c: char| c.is_ascii_alphabetic()) {
            Some(i) => (&v[..i], &v[i..]),
            None => (v, ""),
        };
        let mut parts: Vec<u64> = nums.split('.').map(|p| p.parse().unwrap_or(0)).collect();
        parts.resize(3, 0);
        let kind = match pre {
            "" => 2,
            p if p.starts_with("rc") => 1,
            _ => 0,
        };
        let n = pre
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .parse()
            .unwrap_or(0);
        (parts, kind, n)
    }
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders() {
        assert_eq!(cmp_module("v0.17.0", "v0.23.0"), Some(Ordering::Less));
        assert_eq!(
            cmp_module("v0.0.0-20210226172049-e18ecbb05110", "v0.1.0"),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp_module("v2.0.0+incompatible", "v2.0.0"),
            Some(Ordering::Equal)
        );
        assert_eq!(cmp_module("latest", "v1.0.0"), None);
        assert_eq!(cmp_go("1.21", "1.21.0"), Ordering::Equal);
        assert_eq!(cmp_go("1.22rc1", "1.22"), Ordering::Less);
        assert_eq!(cmp_go("1.9", "1.17"), Ordering::Less);
    }
}
