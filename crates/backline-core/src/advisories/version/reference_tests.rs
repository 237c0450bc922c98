//! Every comparison vector of osv-scalibr's `semantic/testdata` for our eight ecosystems
//! (`tests/data/osv-scalibr-version-vectors/`), one test per file.

use std::cmp::Ordering;

use super::compare;
use crate::ecosystem::Ecosystem;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/osv-scalibr-version-vectors/semantic/testdata/"
);

/// Runs every vector of `file` against each of `ecosystems`; returns the number checked.
fn run(file: &str, ecosystems: &[Ecosystem]) -> usize {
    let path = format!("{DIR}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut failures = Vec::new();
    let mut count = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("# ") || line.starts_with("//") {
            continue;
        }
        let parts: Vec<&str> = line.split(' ').collect();
        let [a, op, b] = parts[..] else {
            panic!("{file}:{}: malformed vector {line:?}", n + 1)
        };
        let want = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{file}:{}: unknown operator {op}", n + 1),
        };
        for &eco in ecosystems {
            count += 1;
            let got = compare(eco, a, b);
            let back = compare(eco, b, a);
            if got != want || back != want.reverse() {
                failures.push(format!(
                    "{file}:{} [{eco}] {a} {op} {b}: got {got:?} / reverse {back:?}",
                    n + 1
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count > 0, "{file} had no vectors");
    count
}

#[test]
fn reference_semver_vectors_for_crates_npm_go() {
    run(
        "semver-versions.txt",
        &[Ecosystem::CratesIo, Ecosystem::Npm, Ecosystem::Go],
    );
}

#[test]
fn reference_pypi_vectors() {
    run("pypi-versions.txt", &[Ecosystem::PyPI]);
    assert!(run("pypi-versions-generated.txt", &[Ecosystem::PyPI]) > 10_000);
}

#[test]
fn reference_rubygems_vectors() {
    run("rubygems-versions.txt", &[Ecosystem::RubyGems]);
    assert!(run("rubygems-versions-generated.txt", &[Ecosystem::RubyGems]) > 4_000);
}

#[test]
fn reference_packagist_vectors() {
    run("packagist-versions.txt", &[Ecosystem::Packagist]);
    assert!(run("packagist-versions-generated.txt", &[Ecosystem::Packagist]) > 10_000);
}

#[test]
fn reference_maven_vectors() {
    run("maven-versions.txt", &[Ecosystem::Maven]);
    assert!(run("maven-versions-generated.txt", &[Ecosystem::Maven]) > 14_000);
}

#[test]
fn reference_nuget_vectors() {
    run("nuget-versions.txt", &[Ecosystem::NuGet]);
}

#[test]
fn reference_vector_files_are_all_used() {
    let mut names: Vec<String> = std::fs::read_dir(DIR)
        .expect("vector folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "maven-versions-generated.txt",
            "maven-versions.txt",
            "nuget-versions.txt",
            "packagist-versions-generated.txt",
            "packagist-versions.txt",
            "pypi-versions-generated.txt",
            "pypi-versions.txt",
            "rubygems-versions-generated.txt",
            "rubygems-versions.txt",
            "semver-versions.txt",
        ]
    );
}
