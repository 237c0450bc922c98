//! npm version ranges, translated to `semver::VersionReq` (whose comparators mean what npm's
//! do once a bare version becomes `=`): `^`, `~`, `x`/`*` wildcards, hyphen ranges,
//! space-separated comparator sets and `||` alternatives.

use semver::{Version, VersionReq};

/// Whether `version` satisfies the npm `range`; `None` when either cannot be read (a URL, a
/// `file:` or `npm:` alias range, a tag other than `latest`).
pub(crate) fn satisfies(range: &str, version: &str) -> Option<bool> {
    let v = Version::parse(version.trim().trim_start_matches('v')).ok()?;
    let mut any = false;
    for alt in range.split("||") {
        let req = translate(alt)?;
        any |= req.matches(&v);
    }
    Some(any)
}

fn translate(alt: &str) -> Option<VersionReq> {
    let alt = alt.trim();
    if alt.is_empty() || alt == "*" || alt == "latest" || alt.eq_ignore_ascii_case("x") {
        return Some(VersionReq::STAR);
    }
    if alt.contains(':') || alt.contains('/') {
        return None;
    }
    let mut comparators: Vec<String> = Vec::new();
    if let Some((lo, hi)) = alt.split_once(" - ") {
        comparators.push(format!(">={}", lo.trim().trim_start_matches('v')));
        comparators.push(format!("<={}", hi.trim().trim_start_matches('v')));
    } else {
        let mut pending_op = String::new();
        for tok in alt.split_whitespace() {
            if tok
                .chars()
                .all(|c| matches!(c, '<' | '>' | '=' | '^' | '~'))
            {
                pending_op.push_str(tok);
                continue;
            }
            let tok = format!("{pending_op}{tok}");
            pending_op.clear();
            let op_len = tok
                .find(|c: char| !matches!(c, '<' | '>' | '=' | '^' | '~'))
                .unwrap_or(tok.len());
            let (op, ver) = tok.split_at(op_len);
            let ver = ver.trim_start_matches('v');
            let op = match op {
                "" | "=" => "=",
                "~>" => "~",
                o => o,
            };
            if ver.is_empty() || ver == "*" || ver.eq_ignore_ascii_case("x") {
                continue;
            }
            comparators.push(format!("{op}{ver}"));
        }
        if !pending_op.is_empty() {
            return None;
        }
    }
    if comparators.is_empty() {
        return Some(VersionReq::STAR);
    }
    VersionReq::parse(&comparators.join(", ")).ok()
}

/// A range that admits `to` in the style of `old`: `^to` for `^`, `~to` for `~`, `to` for an
/// exact version; `None` for anything else.
pub(crate) fn bumped(old: &str, to: &str) -> Option<String> {
    let t = old.trim();
    let (op, rest) = match t.chars().next()? {
        '^' | '~' => (&t[..1], &t[1..]),
        '=' => ("", &t[1..]),
        _ => ("", t),
    };
    let rest = rest.trim().trim_start_matches('v');
    (Version::parse(rest).is_ok()
        || (!op.is_empty() && !rest.contains(['x', 'X', '*', ' ', '<', '>', '|'])))
    .then(|| format!("{op}{to}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_semantics() {
        let yes = |r: &str, v: &str| assert_eq!(satisfies(r, v), Some(true), "{r} {v}");
        let no = |r: &str, v: &str| assert_eq!(satisfies(r, v), Some(false), "{r} {v}");
        yes("^4.17.20", "4.17.21");
        no("^4.17.20", "5.0.0");
        yes("~1.2.3", "1.2.9");
        no("~1.2.3", "1.3.0");
        yes("1.2.x", "1.2.7");
        no("1.2", "1.3.0");
        yes("1.2", "1.2.5");
        no("4.17.20", "4.17.21");
        yes(">=1.0.0 <2", "1.5.0");
        yes(">= 1.0.0", "1.5.0");
        yes("1.0.0 - 1.2", "1.2.9");
        no("1.0.0 - 1.2", "1.3.0");
        yes("^1 || ^2", "2.1.0");
        yes("*", "9.0.0");
        yes("", "1.0.0");
        no("^0.0.3", "0.0.4");
        assert_eq!(satisfies("git+https://x/y.git", "1.0.0"), None);
        assert_eq!(satisfies("npm:other@^1", "1.0.0"), None);
        assert_eq!(bumped("^4.17.20", "4.17.21").as_deref(), Some("^4.17.21"));
        assert_eq!(bumped("4.17.20", "4.17.21").as_deref(), Some("4.17.21"));
        assert_eq!(bumped("~4.17", "5.0.0").as_deref(), Some("~5.0.0"));
        assert_eq!(bumped(">=1 <4.17.21", "4.17.21"), None);
    }
}
