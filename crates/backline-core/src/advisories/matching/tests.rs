//! Range edge cases: last_affected, limit, introduced 0, several ranges, unsorted events,
//! `versions` only, GIT ranges.

use super::*;
use crate::advisories::model::Package;

fn affected(kind: RangeKind, ranges: &[&[Event]], versions: &[&str]) -> Affected {
    Affected {
        package: Package {
            ecosystem: "npm".to_string(),
            name: "x".to_string(),
        },
        ranges: ranges
            .iter()
            .map(|events| Range {
                kind: kind.clone(),
                events: events.to_vec(),
            })
            .collect(),
        versions: versions.iter().map(|v| v.to_string()).collect(),
    }
}

fn i(v: &str) -> Event {
    Event::Introduced(v.to_string())
}
fn f(v: &str) -> Event {
    Event::Fixed(v.to_string())
}
fn la(v: &str) -> Event {
    Event::LastAffected(v.to_string())
}
fn lim(v: &str) -> Event {
    Event::Limit(v.to_string())
}

fn check(eco: Ecosystem, a: &Affected, yes: &[&str], no: &[&str]) {
    for v in yes {
        assert!(is_affected(eco, a, v), "{v} should be affected by {a:?}");
    }
    for v in no {
        assert!(
            !is_affected(eco, a, v),
            "{v} should not be affected by {a:?}"
        );
    }
}

#[test]
fn introduced_zero_and_fixed() {
    let a = affected(RangeKind::Semver, &[&[i("0"), f("1.2.3")]], &[]);
    check(
        Ecosystem::Npm,
        &a,
        &["0.0.0", "0.1.0", "1.2.2", "1.2.3-rc.1"],
        &["1.2.3", "2.0.0"],
    );
}

#[test]
fn last_affected_is_inclusive() {
    let a = affected(RangeKind::Ecosystem, &[&[i("1.0"), la("1.4")]], &[]);
    check(
        Ecosystem::PyPI,
        &a,
        &["1.0", "1.2", "1.4", "1.4.0"],
        &["0.9", "1.4.1", "1.4.post1", "2.0"],
    );
}

#[test]
fn limit_caps_the_range() {
    let a = affected(RangeKind::Semver, &[&[i("1.0.0"), lim("2.0.0")]], &[]);
    check(
        Ecosystem::CratesIo,
        &a,
        &["1.0.0", "1.9.9"],
        &["0.9.0", "2.0.0", "3.0.0"],
    );
    let star = affected(RangeKind::Semver, &[&[i("1.0.0"), lim("*")]], &[]);
    check(Ecosystem::CratesIo, &star, &["1.0.0", "99.0.0"], &["0.1.0"]);
}

#[test]
fn unsorted_events_and_multiple_introduced() {
    let a = affected(
        RangeKind::Ecosystem,
        &[&[f("2.3.0"), i("2.0.0"), f("1.5.0"), i("1.0.0")]],
        &[],
    );
    check(
        Ecosystem::Npm,
        &a,
        &["1.0.0", "1.4.9", "2.0.0", "2.2.9"],
        &["0.9.0", "1.5.0", "1.9.9", "2.3.0", "3.0.0"],
    );
}

#[test]
fn several_ranges_any_matches() {
    let a = affected(
        RangeKind::Semver,
        &[&[i("0"), f("1.0.0")], &[i("3.0.0"), f("3.1.0")]],
        &[],
    );
    check(
        Ecosystem::Go,
        &a,
        &["v0.5.0", "3.0.5"],
        &["v1.0.0", "2.0.0", "3.1.0"],
    );
}

#[test]
fn versions_list_only() {
    let a = affected(RangeKind::Ecosystem, &[], &["1.0", "1.1"]);
    check(
        Ecosystem::PyPI,
        &a,
        &["1.0", "1.0.0", "1.1"],
        &["1.2", "0.9"],
    );
}

#[test]
fn git_ranges_are_skipped() {
    let a = affected(RangeKind::Git, &[&[i("0"), f("abcdef")]], &[]);
    check(Ecosystem::Go, &a, &[], &["1.0.0", "abcdef"]);
}

#[test]
fn introduced_without_fix_affects_everything_after() {
    let a = affected(RangeKind::Ecosystem, &[&[i("2.0")]], &[]);
    check(
        Ecosystem::Maven,
        &a,
        &["2.0", "2.0.1", "10.0"],
        &["1.9", "2.0-beta-1"],
    );
}

#[test]
fn fixed_versions_are_reported() {
    let a = affected(
        RangeKind::Semver,
        &[&[i("0"), f("1.2.3"), la("0.5.0")]],
        &[],
    );
    let c = CompiledAffected::new(Ecosystem::Npm, &a);
    let fixed: Vec<&str> = c.fixed_versions().map(|(s, _)| s).collect();
    assert_eq!(fixed, ["1.2.3"]);
}

#[test]
fn merge_sort_is_stable_and_total_on_any_comparator() {
    let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
    merge_sort_by(&mut v, |a, b| a.0.cmp(&b.0));
    assert_eq!(v, [(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
    // An inconsistent comparator must not panic.
    let mut n = 0u32;
    let mut w: Vec<u32> = (0..50).collect();
    merge_sort_by(&mut w, |_, _| {
        n += 1;
        if n % 3 == 0 {
            Ordering::Greater
        } else {
            Ordering::Less
        }
    });
    assert_eq!(w.len(), 50);
}

#[test]
fn junk_versions_in_events_never_panic() {
    let junk = [
        "", "*", "0", "💥", "v", "1..2", "-", "+", "!", "dev-main", "1.0.0-", "١٢٣",
    ];
    for eco in Ecosystem::ALL {
        let events: Vec<Event> = junk
            .iter()
            .enumerate()
            .map(|(k, v)| match k % 4 {
                0 => i(v),
                1 => f(v),
                2 => la(v),
                _ => lim(v),
            })
            .collect();
        let a = affected(RangeKind::Ecosystem, &[&events], &junk);
        for v in junk {
            let _ = is_affected(eco, &a, v);
        }
    }
}
