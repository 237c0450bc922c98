//! NuGet's version rules the patcher needs: normalization, version ranges, and which
//! dependency group of a package applies to a target framework.
//!
//! Sources: NuGet.Client `src/NuGet.Core/NuGet.Versioning/` (`NuGetVersion.ToNormalizedString`,
//! `VersionRange.Parse`, `VersionRangeFormatter` "legacy short" form used by
//! `JsonUtility.WritePackageDependencyWithLegacyString`) and the docs page
//! <https://learn.microsoft.com/nuget/concepts/package-versioning> ("Normalized version
//! numbers", "Version ranges").

use std::cmp::Ordering;

use crate::advisories::version::compare;
use crate::ecosystem::Ecosystem;

/// Orders two NuGet versions.
pub fn cmp(a: &str, b: &str) -> Ordering {
    compare(Ecosystem::NuGet, a, b)
}

/// NuGet's normalized form of a version: at least three numeric parts, a fourth only when it
/// is not zero, leading zeros dropped, build metadata stripped (`1.0` → `1.0.0`, `1.01.1` →
/// `1.1.1`, `1.0.0.0` → `1.0.0`, `1.0.0+abc` → `1.0.0`). `None` when it is not a version.
pub fn normalize(version: &str) -> Option<String> {
    let v = version.trim();
    let v = v.split_once('+').map_or(v, |(a, _)| a);
    let (nums, label) = match v.split_once('-') {
        Some((n, l)) => (n, Some(l)),
        None => (v, None),
    };
    let parts: Vec<&str> = nums.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut n: Vec<u64> = Vec::with_capacity(4);
    for p in parts {
        if p.is_empty() || p.len() > 19 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n.push(p.parse().ok()?);
    }
    while n.len() < 3 {
        n.push(0);
    }
    let mut out = format!("{}.{}.{}", n[0], n[1], n[2]);
    if n.len() == 4 && n[3] != 0 {
        out.push_str(&format!(".{}", n[3]));
    }
    if let Some(l) = label {
        if l.is_empty()
            || !l
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return None;
        }
        out.push('-');
        out.push_str(l);
    }
    Some(out)
}

/// One bound of a range: the version and whether it is included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The version as written.
    pub version: String,
    /// `[`/`]` (true) or `(`/`)` (false).
    pub inclusive: bool,
}

/// A NuGet version range (`1.0` is `>= 1.0`, `[1.0]` exactly, `[1.0, 2.0)`, `(, 2.0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The lower bound, if any.
    pub min: Option<Bound>,
    /// The upper bound, if any.
    pub max: Option<Bound>,
}

impl Range {
    /// Parses a range; `None` for floating ranges (`1.*`) and malformed text.
    pub fn parse(text: &str) -> Option<Range> {
        let t = text.trim();
        if t.is_empty() || t.contains('*') {
            return None;
        }
        let (first, last) = (t.as_bytes()[0], t.as_bytes()[t.len() - 1]);
        if !matches!(first, b'[' | b'(') {
            normalize(t)?;
            return Some(Range {
                min: Some(Bound {
                    version: t.to_string(),
                    inclusive: true,
                }),
                max: None,
            });
        }
        if t.len() < 3 || !matches!(last, b']' | b')') {
            return None;
        }
        let inner = &t[1..t.len() - 1];
        let bound = |s: &str, inclusive: bool| -> Option<Option<Bound>> {
            let s = s.trim();
            if s.is_empty() {
                return Some(None);
            }
            normalize(s)?;
            Some(Some(Bound {
                version: s.to_string(),
                inclusive,
            }))
        };
        match inner.split_once(',') {
            None => {
                // `[1.0]`: exactly.
                if first != b'[' || last != b']' {
                    return None;
                }
                let b = bound(inner, true)??;
                Some(Range {
                    min: Some(b.clone()),
                    max: Some(b),
                })
            }
            Some((lo, hi)) => {
                let range = Range {
                    min: bound(lo, first == b'[')?,
                    max: bound(hi, last == b']')?,
                };
                (range.min.is_some() || range.max.is_some()).then_some(range)
            }
        }
    }

    /// Whether `version` is inside the range.
    pub fn admits(&self, version: &str) -> bool {
        let above = self
            .min
            .as_ref()
            .is_none_or(|b| match cmp(version, &b.version) {
                Ordering::Greater => true,
                Ordering::Equal => b.inclusive,
                Ordering::Less => false,
            });
        let below = self
            .max
            .as_ref()
            .is_none_or(|b| match cmp(version, &b.version) {
                Ordering::Less => true,
                Ordering::Equal => b.inclusive,
                Ordering::Greater => false,
            });
        above && below
    }

    /// The form `packages.lock.json` writes in a package's `dependencies`
    /// (`VersionRange.ToLegacyShortString`): the bare minimum for `[min, )`, the normalized
    /// range otherwise.
    pub fn legacy_short(&self) -> String {
        match (&self.min, &self.max) {
            (Some(b), None) if b.inclusive => norm(&b.version),
            _ => self.normalized(),
        }
    }

    /// `VersionRange.ToNormalizedString`: `[1.0.0, )`, `[1.0.0, 2.0.0)`, `[1.0.0]`.
    pub fn normalized(&self) -> String {
        if let (Some(a), Some(b)) = (&self.min, &self.max) {
            if a.inclusive && b.inclusive && cmp(&a.version, &b.version) == Ordering::Equal {
                return format!("[{}]", norm(&a.version));
            }
        }
        let open = match &self.min {
            Some(b) if b.inclusive => '[',
            _ => '(',
        };
        let close = match &self.max {
            Some(b) if b.inclusive => ']',
            _ => ')',
        };
        let lo = self
            .min
            .as_ref()
            .map(|b| norm(&b.version))
            .unwrap_or_default();
        let hi = self
            .max
            .as_ref()
            .map(|b| norm(&b.version))
            .unwrap_or_default();
        format!("{open}{lo}, {hi}{close}")
    }
}

fn norm(v: &str) -> String {
    normalize(v).unwrap_or_else(|| v.to_string())
}

/// A target framework family, as far as choosing a dependency group needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    /// .NET Core / .NET 5+ (`netcoreapp3.1`, `net8.0`).
    Core,
    /// .NET Standard.
    Standard,
    /// .NET Framework (`net48`, `.NETFramework4.7.2`).
    Framework,
}

/// A framework: family and version as numbers (`net8.0` → Core 8.0, `net472` → Framework 4.7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Framework {
    family: Family,
    version: Vec<u32>,
}

/// Parses a target framework moniker or full name: `net8.0`, `net8.0-windows7.0`,
/// `net8.0/linux-x64` (a lock section with a runtime), `netstandard2.0`, `.NETStandard2.0`,
/// `netcoreapp3.1`, `.NETCoreApp,Version=v3.1`, `net472`, `.NETFramework4.7.2`,
/// `.NETFramework,Version=v4.7.2`.
fn parse_framework(text: &str) -> Option<Framework> {
    let t = text.split('/').next()?.trim().to_ascii_lowercase();
    let t = t.split('-').next()?.replace(",version=v", "");
    let (family, rest, dotted) = if let Some(r) = t.strip_prefix(".netstandard") {
        (Family::Standard, r, true)
    } else if let Some(r) = t.strip_prefix("netstandard") {
        (Family::Standard, r, true)
    } else if let Some(r) = t.strip_prefix(".netcoreapp") {
        (Family::Core, r, true)
    } else if let Some(r) = t.strip_prefix("netcoreapp") {
        (Family::Core, r, true)
    } else if let Some(r) = t.strip_prefix(".netframework") {
        (Family::Framework, r, true)
    } else if let Some(r) = t.strip_prefix("net") {
        // `net5.0`+ is .NET (Core); `net472` (no dot) is .NET Framework.
        if r.contains('.') {
            (Family::Core, r, true)
        } else {
            (Family::Framework, r, false)
        }
    } else {
        return None;
    };
    let version: Vec<u32> = if dotted {
        rest.split('.')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?
    } else {
        rest.chars()
            .map(|c| c.to_digit(10))
            .collect::<Option<_>>()?
    };
    if version.is_empty() {
        return None;
    }
    let family = match family {
        Family::Core if version.first().is_some_and(|m| *m < 5) && !t.contains("core") => {
            Family::Framework
        }
        f => f,
    };
    Some(Framework { family, version })
}

/// The index of the dependency group that applies to the lock section `section` (NuGet's
/// `NuGetFrameworkUtility.GetNearest`, reduced to the families packages use): the same
/// family's highest group not above the section's version; .NET and .NET Framework fall back
/// to .NET Standard (.NET Framework from 4.6.1, standard up to 2.0); then a group without a
/// framework. `None`: no group applies (the package brings no dependencies there).
pub fn nearest_group(section: &str, groups: &[Option<&str>]) -> Option<usize> {
    let target = parse_framework(section);
    let mut best: Option<(usize, u8, Vec<u32>)> = None;
    let mut any = None;
    for (i, g) in groups.iter().enumerate() {
        let Some(g) = g.filter(|g| !g.trim().is_empty() && !g.eq_ignore_ascii_case("any")) else {
            any.get_or_insert(i);
            continue;
        };
        let (Some(t), Some(f)) = (&target, parse_framework(g)) else {
            continue;
        };
        let rank = match (t.family, f.family) {
            (a, b) if a == b && f.version <= t.version => 2,
            (Family::Core, Family::Standard) => 1,
            (Family::Framework, Family::Standard)
                if t.version >= vec![4, 6, 1] && f.version <= vec![2, 0] =>
            {
                1
            }
            _ => continue,
        };
        let better = match &best {
            None => true,
            Some((_, r, v)) => rank > *r || (rank == *r && f.version > *v),
        };
        if better {
            best = Some((i, rank, f.version));
        }
    }
    best.map(|(i, _, _)| i).or(any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_follows_nuget() {
        assert_eq!(normalize("1.0").as_deref(), Some("1.0.0"));
        assert_eq!(normalize("1.01.1").as_deref(), Some("1.1.1"));
        assert_eq!(normalize("1.0.0.0").as_deref(), Some("1.0.0"));
        assert_eq!(normalize("1.0.0.4").as_deref(), Some("1.0.0.4"));
        assert_eq!(normalize("1.0.0+sha.1").as_deref(), Some("1.0.0"));
        assert_eq!(normalize("2.1-beta.3").as_deref(), Some("2.1.0-beta.3"));
        assert_eq!(normalize("x.1"), None);
        assert_eq!(normalize("1.2.3.4.5"), None);
    }

    #[test]
    fn ranges_admit_as_nuget_says() {
        let r = Range::parse("1.0").unwrap();
        assert!(r.admits("1.0.0") && r.admits("5.0.0") && !r.admits("0.9.9"));
        let r = Range::parse("[1.0, 2.0)").unwrap();
        assert!(r.admits("1.5.0") && !r.admits("2.0.0") && r.admits("1.0"));
        let r = Range::parse("(1.0,)").unwrap();
        assert!(!r.admits("1.0.0") && r.admits("1.0.1"));
        let r = Range::parse("[1.2.3]").unwrap();
        assert!(r.admits("1.2.3") && !r.admits("1.2.4"));
        let r = Range::parse("(, 2.0]").unwrap();
        assert!(r.admits("2.0") && !r.admits("2.0.1"));
        assert!(Range::parse("1.*").is_none());
        assert!(Range::parse("[1.0").is_none());
        assert!(Range::parse("(1.0)").is_none());
        assert_eq!(Range::parse("4.3").unwrap().legacy_short(), "4.3.0");
        assert_eq!(Range::parse("[4.3, )").unwrap().legacy_short(), "4.3.0");
        assert_eq!(
            Range::parse("[1.0,2)").unwrap().legacy_short(),
            "[1.0.0, 2.0.0)"
        );
        assert_eq!(Range::parse("13.0.3").unwrap().normalized(), "[13.0.3, )");
        assert_eq!(Range::parse("[2.0]").unwrap().normalized(), "[2.0.0]");
    }

    #[test]
    fn nearest_dependency_group() {
        let groups = [
            Some(".NETFramework4.5"),
            Some(".NETStandard2.0"),
            Some("net6.0"),
            Some(".NETStandard1.3"),
        ];
        assert_eq!(nearest_group("net8.0", &groups), Some(2));
        assert_eq!(nearest_group("net8.0/linux-x64", &groups), Some(2));
        assert_eq!(nearest_group("net8.0-windows7.0", &groups), Some(2));
        assert_eq!(nearest_group("netcoreapp3.1", &groups), Some(1));
        assert_eq!(nearest_group("netstandard2.1", &groups), Some(1));
        assert_eq!(nearest_group("net48", &groups), Some(0));
        assert_eq!(
            nearest_group(".NETFramework,Version=v4.7.2", &groups),
            Some(0)
        );
        assert_eq!(nearest_group("net40", &groups), None);
        assert_eq!(nearest_group("net8.0", &[None]), Some(0));
        assert_eq!(nearest_group("net8.0", &[]), None);
    }
}
