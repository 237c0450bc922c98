//! NuGet ordering: semver 2 precedence over up to four numeric parts (`1.0` = `1.0.0.0`,
//! `1.0.01` = `1.0.1`), build metadata ignored, pre-release labels compared case-insensitively.
//! A fifth numeric part and beyond join the pre-release tail, as for semver's fourth.

use super::semver::SemverLike;

/// Parses a NuGet version leniently (never fails).
pub(crate) fn parse(text: &str) -> SemverLike {
    SemverLike::parse(text.trim(), 4).fold_case()
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::parse;

    fn cmp(a: &str, b: &str) -> Ordering {
        parse(a).compare(&parse(b))
    }

    #[test]
    fn four_parts_and_case() {
        assert_eq!(cmp("1.0", "1.0.0.0"), Ordering::Equal);
        assert_eq!(cmp("4.5.0.1", "4.5.0"), Ordering::Greater);
        assert_eq!(cmp("13.0.1-BETA1", "13.0.1-beta1"), Ordering::Equal);
        assert_eq!(cmp("13.0.1-beta1", "13.0.1"), Ordering::Less);
        assert_eq!(cmp("13.0.1+sha.abc", "13.0.1"), Ordering::Equal);
    }
}
