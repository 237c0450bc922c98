//! Composer version constraints (composer/semver's `VersionParser::parseConstraints`): `||`
//! (or `|`) between alternatives, `,` or spaces between conditions that must all hold; `^`,
//! `~`, wildcards (`1.2.*`), hyphen ranges (`1.0 - 2.0`), comparison operators and exact
//! versions; a leading `v` ignored. Stability flags and dev versions are beyond this reader
//! (`None`).

use std::cmp::Ordering;

/// The numeric parts of a stable version (`v1.2` → [1, 2, 0, 0]); `None` otherwise.
fn parts(v: &str) -> Option<[u64; 4]> {
    let v = v.trim().trim_start_matches(['v', 'V']);
    let mut out = [0u64; 4];
    let segs: Vec<&str> = v.split('.').collect();
    if segs.is_empty() || segs.len() > 4 {
        return None;
    }
    for (i, s) in segs.iter().enumerate() {
        out[i] = s.parse().ok()?;
    }
    Some(out)
}

fn count(v: &str) -> usize {
    v.trim().trim_start_matches(['v', 'V']).split('.').count()
}

/// Whether `version` satisfies `constraint`; `None` when either cannot be read.
pub(crate) fn satisfies(constraint: &str, version: &str) -> Option<bool> {
    let v = parts(version)?;
    let mut any = false;
    for alt in constraint.split("||").flat_map(|a| a.split('|')) {
        let alt = alt.trim();
        if alt.is_empty() {
            return None;
        }
        if let Some((lo, hi)) = alt.split_once(" - ") {
            let (lo, hi_p) = (parts(lo)?, parts(hi)?);
            // A partial upper bound is a wildcard (`- 2.1` means `< 2.2`).
            let n = count(hi);
            let ok = v >= lo
                && if n < 4 {
                    let mut up = hi_p;
                    up[n - 1] += 1;
                    up[n..].iter_mut().for_each(|x| *x = 0);
                    v < up
                } else {
                    v <= hi_p
                };
            any |= ok;
            continue;
        }
        let mut all = true;
        for c in alt
            .split([',', ' '])
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            all &= one(c, v)?;
        }
        any |= all;
    }
    Some(any)
}

/// One condition.
fn one(c: &str, v: [u64; 4]) -> Option<bool> {
    if c == "*" {
        return Some(true);
    }
    if c.contains('@') || c.starts_with("dev-") {
        return None;
    }
    if let Some(rest) = c.strip_prefix('^') {
        let lo = parts(rest)?;
        let n = count(rest);
        // The first non-zero part (of those written) may not change.
        let i = (0..n).find(|&i| lo[i] != 0).unwrap_or(n.saturating_sub(1));
        let mut up = [0u64; 4];
        up[..i].copy_from_slice(&lo[..i]);
        up[i] = lo[i] + 1;
        return Some(v >= lo && v < up);
    }
    if let Some(rest) = c.strip_prefix('~') {
        let lo = parts(rest)?;
        let n = count(rest);
        let keep = if n == 1 { 1 } else { n - 1 };
        let mut up = [0u64; 4];
        up[..keep].copy_from_slice(&lo[..keep]);
        up[keep - 1] += 1;
        return Some(v >= lo && v < up);
    }
    if let Some(prefix) = c.strip_suffix(".*") {
        let p = parts(prefix)?;
        let n = count(prefix);
        return Some(v[..n] == p[..n]);
    }
    let op_len = c
        .find(|ch: char| !matches!(ch, '<' | '>' | '=' | '!'))
        .unwrap_or(c.len());
    let (op, rhs) = c.split_at(op_len);
    let o = v.cmp(&parts(rhs)?);
    Some(match op {
        "" | "=" | "==" => o == Ordering::Equal,
        "!=" | "<>" => o != Ordering::Equal,
        ">" => o == Ordering::Greater,
        ">=" => o != Ordering::Less,
        "<" => o == Ordering::Less,
        "<=" => o != Ordering::Greater,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    #[test]
    fn composer_semver_forms() {
        assert_eq!(satisfies("^2.0", "2.1.0"), Some(true));
        assert_eq!(satisfies("^2.0.1", "2.0.0"), Some(false));
        assert_eq!(satisfies("^0.3", "0.4.0"), Some(false));
        assert_eq!(satisfies("^0.3", "0.3.9"), Some(true));
        assert_eq!(satisfies("~1.2", "1.9"), Some(true));
        assert_eq!(satisfies("~1.2.3", "1.3.0"), Some(false));
        assert_eq!(satisfies("1.0.*", "1.0.7"), Some(true));
        assert_eq!(satisfies(">=1.0 <1.1 || >=1.2", "1.1.5"), Some(false));
        assert_eq!(satisfies(">=1.0,<1.1 | ^1.2", "1.2.5"), Some(true));
        assert_eq!(satisfies("1.0 - 2.1", "2.1.9"), Some(true));
        assert_eq!(satisfies("1.0 - 2.1", "2.2"), Some(false));
        assert_eq!(satisfies("v1.0.0", "1.0.0"), Some(true));
        assert_eq!(satisfies("1.0.0", "v1.0.1"), Some(false));
        assert_eq!(satisfies("dev-main", "1.0"), None);
    }
}
