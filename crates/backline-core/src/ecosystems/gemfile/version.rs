//! RubyGems versions and requirements, as `Gem::Version` and `Gem::Requirement` compare them
//! (rubygems/lib/rubygems/version.rb, requirement.rb), and the requirement text Bundler writes
//! into a `Gemfile.lock` (bundler/lib/bundler/rubygems_ext.rb, `Gem::Dependency#to_lock`).

use std::cmp::Ordering;

/// One segment of a version: numbers compare as numbers, letters mark a pre-release.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Num(u64),
    Str(String),
}

/// The segments of a version (`1.0.a2` → 1, 0, "a", 2); `None` when it is not one.
fn segments(v: &str) -> Option<Vec<Segment>> {
    let v = v.trim();
    if v.is_empty()
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
    {
        return None;
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<Segment>| -> Option<()> {
        if !cur.is_empty() {
            out.push(if cur.bytes().all(|b| b.is_ascii_digit()) {
                Segment::Num(cur.parse().ok()?)
            } else {
                Segment::Str(cur.to_ascii_lowercase())
            });
            cur.clear();
        }
        Some(())
    };
    for c in v.chars() {
        let digit = c.is_ascii_digit();
        match cur.chars().last() {
            _ if c == '.' || c == '-' => flush(&mut cur, &mut out)?,
            Some(last) if last.is_ascii_digit() != digit => {
                flush(&mut cur, &mut out)?;
                cur.push(c)
            }
            _ => cur.push(c),
        }
    }
    flush(&mut cur, &mut out)?;
    (!out.is_empty()).then_some(out)
}

/// `Gem::Version#<=>`; `None` when either is not a version.
pub(crate) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (segments(a)?, segments(b)?);
    let zero = Segment::Num(0);
    for i in 0..a.len().max(b.len()) {
        let (l, r) = (a.get(i).unwrap_or(&zero), b.get(i).unwrap_or(&zero));
        let o = match (l, r) {
            (Segment::Num(x), Segment::Num(y)) => x.cmp(y),
            (Segment::Str(x), Segment::Str(y)) => x.cmp(y),
            (Segment::Str(_), Segment::Num(_)) => Ordering::Less,
            (Segment::Num(_), Segment::Str(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return Some(o);
        }
    }
    Some(Ordering::Equal)
}

/// `Gem::Version#bump`: pre-release segments dropped, then the last segment (when there are
/// several), then the new last one incremented (`1.4.2` → `1.5`, `2` → `3`).
fn bump(v: &str) -> Option<String> {
    let mut segs: Vec<u64> = segments(v)?
        .into_iter()
        .take_while(|s| matches!(s, Segment::Num(_)))
        .map(|s| match s {
            Segment::Num(n) => n,
            Segment::Str(_) => 0,
        })
        .collect();
    if segs.len() > 1 {
        segs.pop();
    }
    *segs.last_mut()? += 1;
    Some(
        segs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// The (operator, version) pairs of a requirement (`~> 1.0, >= 1.0.2`); a bare version is `=`.
pub(crate) fn parse_requirement(req: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in req.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let op_len = part
            .find(|c: char| !matches!(c, '<' | '>' | '=' | '!' | '~'))
            .unwrap_or(part.len());
        let (op, v) = part.split_at(op_len);
        let op = if op.is_empty() { "=" } else { op };
        if !matches!(op, "=" | "!=" | ">" | "<" | ">=" | "<=" | "~>") {
            return None;
        }
        let v = v.trim();
        segments(v)?;
        out.push((op.to_string(), v.to_string()));
    }
    Some(out)
}

/// Whether `version` satisfies the requirement; `None` when either cannot be read.
pub(crate) fn satisfies(req: &str, version: &str) -> Option<bool> {
    for (op, v) in parse_requirement(req)? {
        let o = compare(version, &v)?;
        let ok = match op.as_str() {
            "=" => o.is_eq(),
            "!=" => o.is_ne(),
            ">" => o.is_gt(),
            "<" => o.is_lt(),
            ">=" => o.is_ge(),
            "<=" => o.is_le(),
            _ => o.is_ge() && compare(version, &bump(&v)?)?.is_lt(),
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

/// The requirement as Bundler locks it: each `op version`, sorted then reversed, joined by
/// `, `; `None` for no requirement (`>= 0`), written without parentheses.
pub(crate) fn to_lock(req: &str) -> Option<Option<String>> {
    let mut parts: Vec<String> = parse_requirement(req)?
        .into_iter()
        .map(|(op, v)| format!("{op} {v}"))
        .collect();
    if parts.is_empty() || parts == [">= 0"] {
        return Some(None);
    }
    parts.sort();
    parts.reverse();
    Some(Some(parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_rubygems_does() {
        assert_eq!(compare("1.0", "1"), Some(Ordering::Equal));
        assert_eq!(compare("1.0.a", "1.0"), Some(Ordering::Less));
        assert_eq!(compare("3.0.9.1", "3.0.10"), Some(Ordering::Less));
        assert_eq!(compare("1.16.2", "1.9"), Some(Ordering::Greater));
        assert_eq!(compare("1.0.0.rc1", "1.0.0.beta2"), Some(Ordering::Greater));
        assert_eq!(compare("x y", "1"), None);
    }

    #[test]
    fn requirements() {
        assert_eq!(satisfies("~> 1.4", "1.9.0"), Some(true));
        assert_eq!(satisfies("~> 1.4", "2.0"), Some(false));
        assert_eq!(satisfies("~> 1.4.2", "1.4.9"), Some(true));
        assert_eq!(satisfies("~> 1.4.2", "1.5.0"), Some(false));
        assert_eq!(satisfies("~> 2", "2.9"), Some(true));
        assert_eq!(satisfies("~> 1.0, >= 1.0.2", "1.0.1"), Some(false));
        assert_eq!(satisfies(">= 2, < 4", "3.0.9.1"), Some(true));
        assert_eq!(satisfies("!= 3.0.0", "3.0.0"), Some(false));
        assert_eq!(satisfies("3.0.0", "3.0"), Some(true));
        assert_eq!(satisfies("=< 1", "1"), None);
        assert_eq!(bump("1.4.2.rc1").as_deref(), Some("1.5"));
    }

    #[test]
    fn lock_text_is_bundlers() {
        assert_eq!(
            to_lock(">= 1.0.2, ~> 1.0"),
            Some(Some("~> 1.0, >= 1.0.2".into()))
        );
        assert_eq!(to_lock(">= 0"), Some(None));
        assert_eq!(to_lock("< 3, >= 1.2"), Some(Some(">= 1.2, < 3".into())));
    }
}
