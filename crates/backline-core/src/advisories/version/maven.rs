//! Maven ordering, after `ComparableVersion`: the version splits into tokens at `.` and `-` and
//! at changes between digits and letters (such a change counts as a `-`); each token keeps the
//! separator before it. Case is ignored; `cr` is `rc`; `ga`, `final` and `release` are empty;
//! `a1`, `b1`, `m1` mean alpha, beta, milestone. Trailing null tokens (`0`, empty) are trimmed
//! before each hyphen. Tokens compare pairwise, the shorter version padded with nulls:
//! qualifiers `alpha` < `beta` < `milestone` < `rc` < `snapshot` < (release) < `sp` < others
//! (alphabetically) < numbers; and by separator `.qualifier` < `-qualifier` < `-number` < `.number`.

use std::cmp::Ordering;

use super::num::{cmp_numbers, is_number, trim_zeros};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    /// `'.'`, `'-'`, or `' '` for the first token.
    prefix: char,
    value: String,
    null: bool,
}

impl Token {
    fn same(&self, o: &Token) -> bool {
        self.prefix == o.prefix && self.value == o.value
    }

    fn order_of_kind(&self) -> u8 {
        match (is_number(&self.value), self.prefix) {
            (true, '-') => 2,
            (true, _) => 3,
            (false, '-') => 1,
            (false, _) => 0,
        }
    }

    fn less_than(&self, o: &Token) -> bool {
        if self.prefix != o.prefix {
            return self.order_of_kind() < o.order_of_kind();
        }
        let (vn, wn) = (is_number(&self.value), is_number(&o.value));
        if vn && wn {
            return cmp_numbers(&self.value, &o.value) == Ordering::Less;
        }
        if vn && !self.null {
            return false;
        }
        if wn && !o.null {
            return true;
        }
        let (l, r) = (keyword_rank(&self.value), keyword_rank(&o.value));
        if l == KEYWORDS.len() && r == KEYWORDS.len() {
            return self.value < o.value;
        }
        l < r
    }

    /// The null token padding the other version where this one has `self`.
    fn null_for(other: &Token) -> Token {
        if other.prefix == '-' {
            Token {
                prefix: '-',
                value: String::new(),
                null: true,
            }
        } else {
            let value = if other.value == "sp" { "" } else { "0" };
            Token {
                prefix: '.',
                value: value.to_string(),
                null: true,
            }
        }
    }
}

const KEYWORDS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn keyword_rank(v: &str) -> usize {
    KEYWORDS
        .iter()
        .position(|k| *k == v)
        .unwrap_or(KEYWORDS.len())
}

/// A parsed Maven version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MavenVersion {
    tokens: Vec<Token>,
}

impl MavenVersion {
    /// Parses leniently (never fails).
    pub(crate) fn parse(input: &str) -> MavenVersion {
        let mut tokens = Vec::new();
        let mut prefix = ' ';
        let mut raw = String::new();
        let flush = |raw: &str, prefix: char, tokens: &mut Vec<Token>| {
            split_transitions(raw, prefix, tokens);
        };
        for c in input.chars() {
            if c == '.' || c == '-' {
                flush(&raw, prefix, &mut tokens);
                raw.clear();
                prefix = c;
            } else {
                raw.push(c);
            }
        }
        flush(&raw, prefix, &mut tokens);
        // Trim trailing nulls, then again before each remaining hyphen, from the end.
        let mut i = tokens.len() as isize - 1;
        while i > 0 {
            let idx = i as usize;
            if tokens[idx].value == "0" || tokens[idx].value.is_empty() {
                tokens.remove(idx);
                i -= 1;
                continue;
            }
            while i >= 0 && tokens[i as usize].prefix != '-' {
                i -= 1;
            }
            i -= 1;
        }
        MavenVersion { tokens }
    }

    /// Total order.
    pub(crate) fn compare(&self, other: &MavenVersion) -> Ordering {
        let (a, b) = (&self.tokens, &other.tokens);
        if a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.same(y)) {
            return Ordering::Equal;
        }
        for i in 0..a.len().max(b.len()) {
            let (null_left, null_right);
            let left = match a.get(i) {
                Some(t) => t,
                None => {
                    null_left = Token::null_for(&b[i]);
                    &null_left
                }
            };
            let right = match b.get(i) {
                Some(t) => t,
                None => {
                    null_right = Token::null_for(&a[i]);
                    &null_right
                }
            };
            if left.same(right) {
                continue;
            }
            return if left.less_than(right) {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        Ordering::Greater
    }
}

/// Splits one dot/hyphen-delimited piece at digit/letter changes and normalises each part.
fn split_transitions(raw: &str, first_prefix: char, tokens: &mut Vec<Token>) {
    let chars: Vec<char> = raw.chars().collect();
    let mut start = 0;
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    for i in 1..chars.len() {
        if chars[i].is_ascii_digit() != chars[i - 1].is_ascii_digit() {
            pieces.push((start, i));
            start = i;
        }
    }
    pieces.push((start, chars.len()));
    let count = pieces.len();
    for (j, (s, e)) in pieces.into_iter().enumerate() {
        let prefix = if j > 0 { '-' } else { first_prefix };
        let mut value: String = chars[s..e].iter().collect::<String>().to_lowercase();
        if value.is_empty() {
            value = "0".to_string();
        }
        match value.as_str() {
            "cr" => value = "rc".to_string(),
            "ga" | "final" | "release" => value.clear(),
            _ => {}
        }
        if j + 1 < count {
            match value.as_str() {
                "a" => value = "alpha".to_string(),
                "b" => value = "beta".to_string(),
                "m" => value = "milestone".to_string(),
                _ => {}
            }
        }
        if is_number(&value) {
            value = trim_zeros(&value).to_string();
        }
        tokens.push(Token {
            prefix,
            value,
            null: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers() {
        let v = |s| MavenVersion::parse(s);
        assert_eq!(v("1.0-SNAPSHOT").compare(&v("1.0")), Ordering::Less);
        assert_eq!(v("1.0.RELEASE").compare(&v("1.0")), Ordering::Equal);
        assert_eq!(v("2.12.7.1").compare(&v("2.12.7")), Ordering::Greater);
        assert_eq!(v("1.0-sp1").compare(&v("1.0")), Ordering::Greater);
    }
}
