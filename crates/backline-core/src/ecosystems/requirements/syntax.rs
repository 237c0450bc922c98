//! The requirements-file syntax both sides read: names (PEP 508), include and constraint
//! options, comments, and PEP 440 specifier matching. The reader follows includes and reports
//! pins with these; the patcher finds the pin to edit and the files to look in with the same
//! functions, so the two agree on what a line says.

/// How deep includes may nest before further ones are ignored.
pub(crate) const MAX_DEPTH: usize = 16;

/// The length of the project name at the start of `s` (letters, digits, `-`, `_`, `.`).
pub(crate) fn name_len(s: &str) -> usize {
    s.char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map(|(i, _)| i)
        .unwrap_or(s.len())
}

/// The project name at the start of a PEP 508 requirement (`"Django[argon2]>=4 ; ..."` gives
/// `Django`); empty when there is none.
pub(crate) fn pep508_name(requirement: &str) -> &str {
    let s = requirement.trim_start();
    &s[..name_len(s)]
}

/// The specifier part of a PEP 508 requirement without markers (`"Jinja2[i18n] (>=2.10)"`
/// gives `Jinja2` and `>=2.10`): after the name, without extras and parentheses.
pub(crate) fn name_and_specifier(requirement: &str) -> (&str, &str) {
    let name = pep508_name(requirement);
    let rest = requirement[requirement.find(name).map(|i| i + name.len()).unwrap_or(0)..].trim();
    let rest = match rest.find(']') {
        Some(i) if rest.starts_with('[') => rest[i + 1..].trim(),
        _ => rest,
    };
    (
        name,
        rest.trim_start_matches('(').trim_end_matches(')').trim(),
    )
}

/// The value of a short (`-r x`, `-rx`) or long (`--requirement x`, `--requirement=x`) option.
pub(crate) fn option_value<'a>(line: &'a str, short: &str, long: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix(long) {
        if rest.is_empty() || rest.starts_with([' ', '\t', '=']) {
            return Some(rest.trim_start_matches([' ', '\t', '=']).trim());
        }
        return None;
    }
    let rest = line.strip_prefix(short)?;
    if rest.starts_with('-') {
        return None;
    }
    Some(rest.trim_start_matches([' ', '\t', '=']).trim())
}

/// The file an include (`-r`, `--requirement`) or constraint (`-c`, `--constraint`) option
/// line names, and whether it is a constraint file.
pub(crate) fn include_target(line: &str) -> Option<(&str, bool)> {
    if let Some(v) = option_value(line, "-r", "--requirement") {
        return Some((v, false));
    }
    option_value(line, "-c", "--constraint").map(|v| (v, true))
}

/// The line without a trailing `# comment` (a `#` at the start or after whitespace).
pub(crate) fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// The release numbers of a plain PEP 440 version (`2.11.3`); `None` for pre/post/dev/local.
fn release_of(v: &str) -> Option<Vec<u64>> {
    let v = v.trim().trim_start_matches('v');
    let v = v.split_once('!').map(|(_, r)| r).unwrap_or(v);
    v.split('.').map(|p| p.parse().ok()).collect()
}

fn cmp(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Whether `version` satisfies a PEP 440 specifier set; `None` when either is beyond this
/// small reader (pre-releases, local versions, arbitrary equality).
pub(crate) fn pep440_satisfies(spec: &str, version: &str) -> Option<bool> {
    let v = release_of(version)?;
    for clause in spec.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let op_len = clause
            .find(|c: char| !matches!(c, '<' | '>' | '=' | '!' | '~'))
            .unwrap_or(clause.len());
        let (op, rhs) = clause.split_at(op_len);
        let rhs = rhs.trim();
        if let Some(prefix) = rhs.strip_suffix(".*") {
            let p = release_of(prefix)?;
            let m = v.len() >= p.len() && v[..p.len()] == p[..];
            let ok = match op {
                "==" => m,
                "!=" => !m,
                _ => return None,
            };
            if !ok {
                return Some(false);
            }
            continue;
        }
        let r = release_of(rhs)?;
        let o = cmp(&v, &r);
        let ok = match op {
            "==" => o.is_eq(),
            "!=" => o.is_ne(),
            ">=" => o.is_ge(),
            "<=" => o.is_le(),
            ">" => o.is_gt(),
            "<" => o.is_lt(),
            "~=" => {
                if r.len() < 2 {
                    return None;
                }
                let p = &r[..r.len() - 1];
                o.is_ge() && v.len() >= p.len() && v[..p.len()] == *p
            }
            _ => return None,
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_specifiers_and_options() {
        assert_eq!(
            pep508_name("Django[argon2]>=4 ; python_version > '3'"),
            "Django"
        );
        assert_eq!(
            name_and_specifier("Jinja2[i18n] (>=2.10,<3)"),
            ("Jinja2", ">=2.10,<3")
        );
        assert_eq!(include_target("-r base.txt"), Some(("base.txt", false)));
        assert_eq!(
            include_target("--requirement=base.txt"),
            Some(("base.txt", false))
        );
        assert_eq!(include_target("-rbase.txt"), Some(("base.txt", false)));
        assert_eq!(include_target("-c pins.txt"), Some(("pins.txt", true)));
        assert_eq!(include_target("--require-hashes"), None);
        assert_eq!(strip_comment("-r base.txt # shared"), "-r base.txt ");
    }

    #[test]
    fn pep440_specifiers() {
        assert_eq!(pep440_satisfies(">=2.10,<3", "2.11.3"), Some(true));
        assert_eq!(pep440_satisfies("~=2.10", "3.0"), Some(false));
        assert_eq!(pep440_satisfies("==2.*", "2.11"), Some(true));
        assert_eq!(pep440_satisfies(">=1", "1.0rc1"), None);
    }
}
