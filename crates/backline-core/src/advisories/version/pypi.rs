//! PEP 440 ordering for PyPI: epoch, release (zero-padded), pre-releases (`a` < `b` < `rc`, with
//! the spellings `alpha`, `beta`, `c`, `pre`, `preview`), post-releases (`.postN`, `-N`, `rev`,
//! `r`), dev-releases (before pre-releases of the same release), and local versions.
//! Spelling is normalised (case, separators, implicit numbers).
//!
//! A version that is not PEP 440 is a *legacy* version (as `packaging` had): it sorts before every
//! PEP 440 version, and legacy versions compare among themselves by setuptools' old key.

use std::cmp::Ordering;

use super::num::{cmp_numbers, cmp_padded, is_number};

/// A parsed PyPI version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PyVersion {
    /// A PEP 440 version.
    Pep440(Pep440),
    /// Anything else, as its comparison key.
    Legacy(String),
}

/// The parts of a PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Pep440 {
    epoch: String,
    release: Vec<String>,
    /// (phase, number): phase `a`, `b` or `r` (for rc).
    pre: Option<(u8, String)>,
    post: Option<String>,
    dev: Option<String>,
    local: Vec<String>,
}

impl PyVersion {
    /// Parses a version; never fails (non-PEP 440 input is [`PyVersion::Legacy`]).
    pub(crate) fn parse(input: &str) -> PyVersion {
        let lower = input.to_ascii_lowercase();
        match parse_pep440(lower.trim()) {
            Some(v) => PyVersion::Pep440(v),
            None => PyVersion::Legacy(legacy_key(&lower)),
        }
    }

    /// Whether the version is PEP 440.
    pub(crate) fn is_pep440(&self) -> bool {
        matches!(self, PyVersion::Pep440(_))
    }

    /// Total order: legacy before PEP 440.
    pub(crate) fn compare(&self, other: &PyVersion) -> Ordering {
        match (self, other) {
            (PyVersion::Legacy(a), PyVersion::Legacy(b)) => a.cmp(b),
            (PyVersion::Legacy(_), PyVersion::Pep440(_)) => Ordering::Less,
            (PyVersion::Pep440(_), PyVersion::Legacy(_)) => Ordering::Greater,
            (PyVersion::Pep440(a), PyVersion::Pep440(b)) => a.compare(b),
        }
    }
}

impl Pep440 {
    fn compare(&self, o: &Pep440) -> Ordering {
        cmp_numbers(&self.epoch, &o.epoch)
            .then_with(|| cmp_padded(&self.release, &o.release))
            .then_with(|| self.pre_key().cmp_with(&o.pre_key()))
            .then_with(|| cmp_opt(&self.post, &o.post, Ordering::Less))
            .then_with(|| cmp_opt(&self.dev, &o.dev, Ordering::Greater))
            .then_with(|| compare_local(&self.local, &o.local))
    }

    /// A dev release of a final version (`1.0.dev0`) sorts before that version's pre-releases.
    fn pre_key(&self) -> PreKey<'_> {
        if self.pre.is_none() && self.post.is_none() && self.dev.is_some() {
            PreKey::DevOnly
        } else {
            match &self.pre {
                Some((phase, n)) => PreKey::Pre(*phase, n),
                None => PreKey::Final,
            }
        }
    }
}

enum PreKey<'a> {
    DevOnly,
    Pre(u8, &'a str),
    Final,
}

impl PreKey<'_> {
    fn rank(&self) -> u8 {
        match self {
            PreKey::DevOnly => 0,
            PreKey::Pre(..) => 1,
            PreKey::Final => 2,
        }
    }

    fn cmp_with(&self, o: &PreKey<'_>) -> Ordering {
        match (self, o) {
            (PreKey::Pre(p, n), PreKey::Pre(q, m)) => p.cmp(q).then_with(|| cmp_numbers(n, m)),
            _ => self.rank().cmp(&o.rank()),
        }
    }
}

/// Compares optional numbers; `missing` is how an absent one compares to a present one.
fn cmp_opt(a: &Option<String>, b: &Option<String>, missing: Ordering) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => missing,
        (Some(_), None) => missing.reverse(),
        (Some(x), Some(y)) => cmp_numbers(x, y),
    }
}

fn compare_local(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        let ord = match (is_number(x), is_number(y)) {
            (true, true) => cmp_numbers(x, y),
            (false, false) => x.cmp(y),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

/// A small cursor over the version text.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn digits(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        self.pos += n;
        Some(&rest[..n])
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.rest().starts_with(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn eat_sep(&mut self) -> bool {
        self.eat("-") || self.eat("_") || self.eat(".")
    }

    /// Tries `f`; on failure restores the position.
    fn attempt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let saved = self.pos;
        let out = f(self);
        if out.is_none() {
            self.pos = saved;
        }
        out
    }
}

fn parse_pep440(s: &str) -> Option<Pep440> {
    let mut c = Cursor { s, pos: 0 };
    c.eat("v");
    let mut v = Pep440 {
        epoch: "0".to_string(),
        ..Default::default()
    };
    if let Some(epoch) = c.attempt(|c| {
        let d = c.digits()?;
        c.eat("!").then_some(d)
    }) {
        v.epoch = epoch.to_string();
    }
    v.release.push(c.digits()?.to_string());
    while let Some(d) = c.attempt(|c| {
        c.eat(".").then_some(())?;
        c.digits()
    }) {
        v.release.push(d.to_string());
    }
    v.pre = c.attempt(|c| {
        c.eat_sep();
        let phase = [
            ("alpha", b'a'),
            ("beta", b'b'),
            ("preview", b'r'),
            ("pre", b'r'),
            ("rc", b'r'),
            ("a", b'a'),
            ("b", b'b'),
            ("c", b'r'),
        ]
        .into_iter()
        .find(|(w, _)| c.eat(w))?
        .1;
        let n = c
            .attempt(|c| {
                c.eat_sep();
                c.digits()
            })
            .unwrap_or("0");
        Some((phase, n.to_string()))
    });
    v.post = c
        .attempt(|c| {
            c.eat("-").then_some(())?;
            c.digits().map(str::to_string)
        })
        .or_else(|| {
            c.attempt(|c| {
                c.eat_sep();
                ["post", "rev", "r"].into_iter().find(|w| c.eat(w))?;
                let n = c
                    .attempt(|c| {
                        c.eat_sep();
                        c.digits()
                    })
                    .unwrap_or("0");
                Some(n.to_string())
            })
        });
    v.dev = c.attempt(|c| {
        c.eat_sep();
        c.eat("dev").then_some(())?;
        let n = c
            .attempt(|c| {
                c.eat_sep();
                c.digits()
            })
            .unwrap_or("0");
        Some(n.to_string())
    });
    if c.eat("+") {
        let local = c.rest();
        let parts: Vec<&str> = local.split(['.', '_', '-']).collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return None;
        }
        v.local = parts.into_iter().map(str::to_string).collect();
        c.pos = s.len();
    }
    (c.pos == s.len()).then_some(v)
}

/// setuptools' legacy key: runs of digits (zero-padded to 8) and of letters, with the old
/// spellings folded, as one string compared lexically.
fn legacy_key(s: &str) -> String {
    let mut raw: Vec<String> = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&ch) = chars.peek() {
        if ch.is_ascii_digit() || ch.is_ascii_lowercase() {
            let digit = ch.is_ascii_digit();
            let mut run = String::new();
            while let Some(&c2) = chars.peek() {
                if (digit && c2.is_ascii_digit()) || (!digit && c2.is_ascii_lowercase()) {
                    run.push(c2);
                    chars.next();
                } else {
                    break;
                }
            }
            raw.push(run);
        } else {
            if ch == '-' {
                raw.push("-".to_string());
            }
            chars.next();
        }
    }
    raw.push("final".to_string());
    let mut parts: Vec<String> = Vec::new();
    for part in raw {
        let part = match part.as_str() {
            "pre" | "preview" | "rc" => "c".to_string(),
            "-" => "final-".to_string(),
            "dev" => "@".to_string(),
            _ => part,
        };
        let part = if part.starts_with(|c: char| c.is_ascii_digit()) {
            format!("{part:0>8}")
        } else {
            format!("*{part}")
        };
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        PyVersion::parse(a).compare(&PyVersion::parse(b))
    }

    #[test]
    fn normalisation() {
        assert_eq!(cmp("1.0.0-ALPHA.1", "1.0.0a1"), Ordering::Equal);
        assert_eq!(cmp("1.0-post2", "1.0.post2"), Ordering::Equal);
        assert_eq!(cmp("1.0-2", "1.0.post2"), Ordering::Equal);
        assert_eq!(cmp("1!0.1", "2.0"), Ordering::Greater);
        assert_eq!(cmp("1.0.dev0", "1.0a0"), Ordering::Less);
        assert_eq!(cmp("1.0+abc.5", "1.0+abc.10"), Ordering::Less);
        assert!(PyVersion::parse("1.0.0").is_pep440());
        assert!(!PyVersion::parse("0.1-bulbasaur").is_pep440());
        assert_eq!(cmp("0.1-bulbasaur", "0.0.1"), Ordering::Less);
    }
}
