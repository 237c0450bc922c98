//! Advisories: importing the reference databases, and matching a 2,000-package list against
//! the RustSec index. Reads `tests/data/` like the tests do.
//!
//! Run: `cargo bench --bench advisories`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};

use backline::advisories::{import_path, Index};
use backline::ecosystem::Ecosystem;

const RUSTSEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/rustsec-advisory-db"
);
const PYPA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/pypa-advisory-database"
);

fn import(c: &mut Criterion) {
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.bench_function("rustsec_advisory_db", |b| {
        b.iter(|| black_box(import_path(Path::new(RUSTSEC)).expect("import")))
    });
    group.bench_function("pypa_advisory_database", |b| {
        b.iter(|| black_box(import_path(Path::new(PYPA)).expect("import")))
    });
    let both: Vec<_> = [RUSTSEC, PYPA]
        .iter()
        .flat_map(|p| import_path(Path::new(p)).expect("import").advisories)
        .collect();
    group.bench_function("index_build_both", |b| {
        b.iter(|| black_box(Index::new(both.clone())))
    });
    group.finish();
}

/// 2,000 packages: every crate RustSec knows (at an old version, so most match and fixes are
/// computed), the rest names it does not know (the common case in a real lockfile).
fn packages(index: &Index) -> Vec<(String, String)> {
    let mut names: Vec<String> = index
        .advisories()
        .iter()
        .flat_map(|a| a.affected.iter().map(|x| x.package.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    let mut list: Vec<(String, String)> = names
        .into_iter()
        .take(2_000)
        .enumerate()
        .map(|(i, n)| (n, format!("0.{}.{}", i % 7, i % 3)))
        .collect();
    let mut i = 0;
    while list.len() < 2_000 {
        list.push((format!("unlisted-crate-{i}"), "1.0.0".to_string()));
        i += 1;
    }
    list
}

fn matching(c: &mut Criterion) {
    let index = Index::new(import_path(Path::new(RUSTSEC)).expect("import").advisories);
    let list = packages(&index);
    let hits: usize = list
        .iter()
        .map(|(n, v)| index.matches(Ecosystem::CratesIo, n, v).len())
        .sum();
    eprintln!("2,000 packages against the RustSec index: {hits} matches");
    c.bench_function("match_2000_packages_rustsec", |b| {
        b.iter(|| {
            let mut n = 0;
            for (name, version) in &list {
                n += index.matches(Ecosystem::CratesIo, name, version).len();
            }
            black_box(n)
        })
    });
}

/// The heavy case: every PyPI package of the PyPA database (django, tensorflow, ... carry
/// hundreds of advisories and long version lists), each at an old and a recent version, on a
/// fresh index each iteration so that the per-package fix lists are computed too.
fn matching_pypa(c: &mut Criterion) {
    let advisories = import_path(Path::new(PYPA)).expect("import").advisories;
    let mut names: Vec<String> = advisories
        .iter()
        .flat_map(|a| a.affected.iter().map(|x| x.package.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    let list: Vec<(String, &str)> = names
        .iter()
        .flat_map(|n| [(n.clone(), "0.1"), (n.clone(), "2.2.0")])
        .collect();
    eprintln!("PyPA: {} lookups over {} packages", list.len(), names.len());
    let mut group = c.benchmark_group("match_pypa");
    group.sample_size(10);
    group.bench_function("all_packages_cold_index", |b| {
        b.iter_batched(
            || Index::new(advisories.clone()),
            |index| {
                let mut n = 0;
                for (name, version) in &list {
                    n += index.matches(Ecosystem::PyPI, name, version).len();
                }
                black_box(n)
            },
            criterion::BatchSize::LargeInput,
        )
    });
    let index = Index::new(advisories.clone());
    group.bench_function("all_packages_warm_index", |b| {
        b.iter(|| {
            let mut n = 0;
            for (name, version) in &list {
                n += index.matches(Ecosystem::PyPI, name, version).len();
            }
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, import, matching, matching_pypa);
criterion_main!(benches);
