//! Comparison of unbounded decimal numbers written as digit strings (versions such as
//! `999999999999999999999999999991` exceed every machine integer).

use std::cmp::Ordering;

/// Whether `s` is a non-empty run of ASCII digits.
pub(crate) fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `s` without leading zeros (`"0"` for zero).
pub(crate) fn trim_zeros(s: &str) -> &str {
    let t = s.trim_start_matches('0');
    if t.is_empty() && !s.is_empty() {
        "0"
    } else {
        t
    }
}

/// Compares two digit strings numerically, whatever their length.
pub(crate) fn cmp_numbers(a: &str, b: &str) -> Ordering {
    let (a, b) = (trim_zeros(a), trim_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Compares two lists of digit strings, the shorter padded with zeros.
pub(crate) fn cmp_padded<S: AsRef<str>>(a: &[S], b: &[S]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).map(AsRef::as_ref).unwrap_or("0");
        let y = b.get(i).map(AsRef::as_ref).unwrap_or("0");
        match cmp_numbers(x, y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_compare_by_value() {
        assert_eq!(cmp_numbers("010", "9"), Ordering::Greater);
        assert_eq!(cmp_numbers("000", "0"), Ordering::Equal);
        assert_eq!(
            cmp_numbers(
                "999999999999999999999999999991",
                "999999999999999999999999999999"
            ),
            Ordering::Less
        );
        assert_eq!(cmp_padded(&["1", "0"], &["1"]), Ordering::Equal);
        assert!(is_number("0012") && !is_number("") && !is_number("1a"));
    }
}
