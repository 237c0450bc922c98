//! Hand-written OSV records of real advisories (ids and ranges as published), matched through
//! the index, with fix versions.

use super::*;
use crate::advisories::osv::{parse_json, Parsed};

fn osv(id: &str, ecosystem: &str, name: &str, ranges: &[&[(&str, &str)]]) -> Advisory {
    let ranges: Vec<serde_json::Value> = ranges
        .iter()
        .map(|events| {
            let events: Vec<serde_json::Value> = events
                .iter()
                .map(|(k, v)| serde_json::json!({ *k: *v }))
                .collect();
            serde_json::json!({"type": "ECOSYSTEM", "events": events})
        })
        .collect();
    let record = serde_json::json!({
        "id": id,
        "affected": [{"package": {"ecosystem": ecosystem, "name": name}, "ranges": ranges}],
    });
    match parse_json(record.to_string().as_bytes()) {
        Ok(Parsed::Advisory(a)) => *a,
        other => panic!("{other:?}"),
    }
}

fn real_world() -> Index {
    Index::new([
        // lodash: prototype pollution (CVE-2019-10744) and command injection (CVE-2021-23337).
        osv(
            "GHSA-jf85-cpcp-j695",
            "npm",
            "lodash",
            &[&[("introduced", "0"), ("fixed", "4.17.12")]],
        ),
        osv(
            "GHSA-35jh-r3h4-6jhm",
            "npm",
            "lodash",
            &[&[("introduced", "0"), ("fixed", "4.17.21")]],
        ),
        // minimist prototype pollution (CVE-2021-44906), two ranges.
        osv(
            "GHSA-xvch-5gv4-984h",
            "npm",
            "minimist",
            &[
                &[("introduced", "0"), ("fixed", "0.2.4")],
                &[("introduced", "1.0.0"), ("fixed", "1.2.6")],
            ],
        ),
        // Log4Shell (CVE-2021-44228), three ranges.
        osv(
            "GHSA-jfh8-c2jp-5v3q",
            "Maven",
            "org.apache.logging.log4j:log4j-core",
            &[
                &[("introduced", "2.0-beta9"), ("fixed", "2.3.1")],
                &[("introduced", "2.4"), ("fixed", "2.12.2")],
                &[("introduced", "2.13.0"), ("fixed", "2.15.0")],
            ],
        ),
        // golang.org/x/text: infinite loop in UTF-16 decoding (CVE-2020-14040).
        osv(
            "GO-2020-0015",
            "Go",
            "golang.org/x/text",
            &[&[("introduced", "0"), ("fixed", "0.3.3")]],
        ),
        // golang.org/x/text: language.Parse out-of-range panic (CVE-2021-38561).
        osv(
            "GO-2021-0113",
            "Go",
            "golang.org/x/text",
            &[&[("introduced", "0"), ("fixed", "0.3.7")]],
        ),
        // nokogiri: ReDoS in the CSS parser (CVE-2022-24836).
        osv(
            "GHSA-crjr-9rc5-ghw8",
            "RubyGems",
            "nokogiri",
            &[&[("introduced", "0"), ("fixed", "1.13.4")]],
        ),
        // guzzle: cookie domain check (CVE-2022-29248), two ranges.
        osv(
            "GHSA-cwmx-hcrq-mhc3",
            "Packagist",
            "guzzlehttp/guzzle",
            &[
                &[("introduced", "0"), ("fixed", "6.5.6")],
                &[("introduced", "7.0.0"), ("fixed", "7.4.3")],
            ],
        ),
        // Newtonsoft.Json: deep nesting DoS (CVE-2024-21907).
        osv(
            "GHSA-5crp-9r3c-p9vr",
            "NuGet",
            "Newtonsoft.Json",
            &[&[("introduced", "0"), ("fixed", "13.0.1")]],
        ),
        // A record with only a last_affected bound (no fix can be named).
        osv(
            "TEST-LAST-AFFECTED",
            "npm",
            "left-pad-ish",
            &[&[("introduced", "0"), ("last_affected", "1.3.0")]],
        ),
    ])
}

fn ids(ms: &[Match]) -> Vec<&str> {
    ms.iter().map(|m| m.advisory.id.as_str()).collect()
}

#[test]
fn npm_matches_and_the_fix_clears_every_advisory() {
    let index = real_world();
    let ms = index.matches(Ecosystem::Npm, "lodash", "4.17.11");
    assert_eq!(ids(&ms), ["GHSA-jf85-cpcp-j695", "GHSA-35jh-r3h4-6jhm"]);
    assert!(ms.iter().all(|m| m.fix.as_deref() == Some("4.17.21")));
    let ms = index.matches(Ecosystem::Npm, "lodash", "4.17.15");
    assert_eq!(ids(&ms), ["GHSA-35jh-r3h4-6jhm"]);
    assert!(index
        .matches(Ecosystem::Npm, "lodash", "4.17.21")
        .is_empty());
    assert_eq!(
        index.matches(Ecosystem::Npm, "minimist", "1.2.5")[0]
            .fix
            .as_deref(),
        Some("1.2.6")
    );
    assert_eq!(
        index.matches(Ecosystem::Npm, "minimist", "0.0.8")[0]
            .fix
            .as_deref(),
        Some("0.2.4")
    );
    assert!(index
        .matches(Ecosystem::Npm, "minimist", "0.2.4")
        .is_empty());
    assert!(index
        .matches(Ecosystem::Npm, "minimist", "1.2.6")
        .is_empty());
}

#[test]
fn maven_log4shell() {
    let index = real_world();
    let name = "org.apache.logging.log4j:log4j-core";
    for (v, fix) in [
        ("2.14.1", "2.15.0"),
        ("2.0-beta9", "2.3.1"),
        ("2.0", "2.3.1"),
        ("2.11.0", "2.12.2"),
    ] {
        let ms = index.matches(Ecosystem::Maven, name, v);
        assert_eq!(ids(&ms), ["GHSA-jfh8-c2jp-5v3q"], "{v}");
        assert_eq!(ms[0].fix.as_deref(), Some(fix), "{v}");
    }
    for v in [
        "2.0-beta8",
        "2.0-alpha1",
        "2.3.1",
        "2.12.2",
        "2.15.0",
        "2.17.1",
    ] {
        assert!(index.matches(Ecosystem::Maven, name, v).is_empty(), "{v}");
    }
}

#[test]
fn go_rubygems_packagist_nuget() {
    let index = real_world();
    let ms = index.matches(Ecosystem::Go, "golang.org/x/text", "v0.3.2");
    assert_eq!(ids(&ms), ["GO-2020-0015", "GO-2021-0113"]);
    assert_eq!(ms[0].fix.as_deref(), Some("0.3.7"));
    let ms = index.matches(Ecosystem::Go, "golang.org/x/text", "v0.3.5");
    assert_eq!(ids(&ms), ["GO-2021-0113"]);
    assert!(index
        .matches(Ecosystem::Go, "golang.org/x/text", "v0.3.7")
        .is_empty());
    assert!(
        index
            .matches(
                Ecosystem::Go,
                "golang.org/x/text",
                "v0.0.0-20170915032832-14c0d48ead0c"
            )
            .len()
            == 2
    );
    assert_eq!(
        ids(&index.matches(Ecosystem::RubyGems, "nokogiri", "1.13.3")),
        ["GHSA-crjr-9rc5-ghw8"]
    );
    assert!(index
        .matches(Ecosystem::RubyGems, "nokogiri", "1.13.4")
        .is_empty());
    assert!(
        index
            .matches(Ecosystem::RubyGems, "nokogiri", "1.13.4.rc1")
            .len()
            == 1
    );
    let guzzle = index.matches(Ecosystem::Packagist, "GuzzleHttp/Guzzle", "7.4.2");
    assert_eq!(guzzle[0].fix.as_deref(), Some("7.4.3"));
    assert!(index
        .matches(Ecosystem::Packagist, "guzzlehttp/guzzle", "6.5.6")
        .is_empty());
    assert!(index
        .matches(Ecosystem::Packagist, "guzzlehttp/guzzle", "v7.4.3")
        .is_empty());
    let nj = index.matches(Ecosystem::NuGet, "newtonsoft.json", "12.0.3");
    assert_eq!(nj[0].fix.as_deref(), Some("13.0.1"));
    assert!(index
        .matches(Ecosystem::NuGet, "Newtonsoft.Json", "13.0.1")
        .is_empty());
}

#[test]
fn no_fix_when_only_last_affected_is_known() {
    let index = real_world();
    let ms = index.matches(Ecosystem::Npm, "left-pad-ish", "1.0.0");
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].fix, None);
    assert!(index
        .matches(Ecosystem::Npm, "left-pad-ish", "1.3.1")
        .is_empty());
}

#[test]
fn stats_and_duplicates() {
    let mut list: Vec<Advisory> = real_world()
        .advisories()
        .iter()
        .map(|a| (**a).clone())
        .collect();
    list.push(list[0].clone());
    let index = Index::new(list);
    let stats = index.stats();
    assert_eq!(stats.advisories, 10);
    assert_eq!(stats.by_ecosystem["npm"][&AdvisoryKind::Vulnerability], 4);
    assert_eq!(stats.by_ecosystem["Maven"][&AdvisoryKind::Vulnerability], 1);
    assert_eq!(stats.packages, 8);
    assert!(index
        .matches(Ecosystem::CratesIo, "lodash", "1.0.0")
        .is_empty());
}

#[test]
fn fix_is_computed_per_kind() {
    let mut unmaintained = osv(
        "RUSTSEC-TEST-1",
        "crates.io",
        "foo",
        &[&[("introduced", "0")]],
    );
    unmaintained.kind = AdvisoryKind::Unmaintained;
    let vuln = osv(
        "RUSTSEC-TEST-2",
        "crates.io",
        "foo",
        &[&[("introduced", "0"), ("fixed", "1.0.0")]],
    );
    let index = Index::new([unmaintained, vuln]);
    let ms = index.matches(Ecosystem::CratesIo, "Foo", "0.9.0");
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[0].kind, AdvisoryKind::Unmaintained);
    assert_eq!(ms[0].fix, None);
    assert_eq!(ms[1].kind, AdvisoryKind::Vulnerability);
    assert_eq!(ms[1].fix.as_deref(), Some("1.0.0"));
}

#[test]
fn the_index_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Index>();
    shared::<Match>();
}

#[test]
fn dependencies_from_manifests_match_when_pinned() {
    let index = real_world();
    let mut dep = crate::deps::Dependency {
        ecosystem: Ecosystem::PyPI,
        name: "x".to_string(),
        version: None,
        direct: true,
        parent: None,
        dev: false,
        source: crate::deps::Source::Registry,
    };
    assert!(index.matches_dependency(&dep).is_empty());
    dep.ecosystem = Ecosystem::Npm;
    dep.name = "lodash".to_string();
    assert!(index.matches_dependency(&dep).is_empty());
    dep.version = Some("4.17.20".to_string());
    assert_eq!(
        ids(&index.matches_dependency(&dep)),
        ["GHSA-35jh-r3h4-6jhm"]
    );
    // The same name and version from a git checkout is not the registry's package.
    dep.source = crate::deps::Source::Git;
    assert!(index.matches_dependency(&dep).is_empty());
}

#[test]
fn each_advisory_has_its_own_fix_and_the_package_one_fixes_all() {
    let index = real_world();
    let got: Vec<(String, Option<String>, Option<String>)> = index
        .matches(Ecosystem::Npm, "lodash", "4.17.11")
        .into_iter()
        .map(|m| (m.advisory.id.clone(), m.advisory_fix, m.fix))
        .collect();
    assert_eq!(
        got,
        [
            (
                "GHSA-jf85-cpcp-j695".to_string(),
                Some("4.17.12".to_string()),
                Some("4.17.21".to_string())
            ),
            (
                "GHSA-35jh-r3h4-6jhm".to_string(),
                Some("4.17.21".to_string()),
                Some("4.17.21".to_string())
            ),
        ]
    );
    // Two ranges: the advisory's own fix is the one above the installed version.
    let m = &index.matches(Ecosystem::Npm, "minimist", "1.2.0")[0];
    assert_eq!(m.advisory_fix.as_deref(), Some("1.2.6"));
}
