//! composer.lock patches checked byte for byte against what `composer update` wrote
//! (tests/data/lockfile-proofs/README.md says how the files were made).

use super::content_hash;
use crate::registry::ordered_json::Json;
use crate::registry::parse_p2;
use crate::remediation::patch::{patch, PatchError, PatchRequest, RegistryFacts};

macro_rules! data {
    ($p:literal) => {
        include_str!(concat!("../../../../../../tests/data/lockfile-proofs/", $p))
    };
}

const PIN_JSON_BEFORE: &str = data!("composer/pin-before/composer.json");
const PIN_LOCK_BEFORE: &str = data!("composer/pin-before/composer.lock");
const PIN_JSON_AFTER: &str = data!("composer/pin-after/composer.json");
const PIN_LOCK_AFTER: &str = data!("composer/pin-after/composer.lock");
const RANGE_JSON: &str = data!("composer/range-before/composer.json");
const RANGE_LOCK_BEFORE: &str = data!("composer/range-before/composer.lock");
const RANGE_LOCK_AFTER: &str = data!("composer/range-after/composer.lock");
const P2: &str = data!("packagist/p2/acme/vuln-lib.json");

fn facts() -> RegistryFacts {
    let doc = Json::parse(P2).unwrap();
    RegistryFacts {
        packagist_release: parse_p2("acme/vuln-lib", &doc)
            .into_iter()
            .find(|r| r.is_version("1.0.1")),
        ..Default::default()
    }
}

fn run_with(
    json: Option<&str>,
    lock: &str,
    facts: &RegistryFacts,
) -> Result<Vec<(String, String)>, PatchError> {
    let (json, lock) = (json.map(str::to_string), lock.to_string());
    let files = move |p: &str| match p {
        "php/composer.json" => json.clone().map(String::into_bytes),
        "php/composer.lock" => Some(lock.clone().into_bytes()),
        _ => None,
    };
    let req = PatchRequest {
        manifest_path: "php/composer.lock",
        package: "acme/vuln-lib",
        from: "v1.0.0",
        to: "1.0.1",
        direct: true,
        files: &files,
        facts,
    };
    patch(&req).map(|cs| {
        cs.into_iter()
            .map(|c| (c.path, String::from_utf8(c.content).unwrap()))
            .collect()
    })
}

fn run(json: Option<&str>, lock: &str) -> Result<Vec<(String, String)>, PatchError> {
    run_with(json, lock, &facts())
}

#[test]
fn composer_hashes_its_manifests_as_we_do() {
    for (json, lock) in [
        (PIN_JSON_BEFORE, PIN_LOCK_BEFORE),
        (PIN_JSON_AFTER, PIN_LOCK_AFTER),
        (RANGE_JSON, RANGE_LOCK_BEFORE),
    ] {
        let doc: serde_json::Value = serde_json::from_str(lock).unwrap();
        assert_eq!(
            content_hash("composer.json", json).unwrap(),
            doc["content-hash"].as_str().unwrap()
        );
    }
}

#[test]
fn a_range_that_admits_the_fix_changes_the_entry_as_composer_update_does() {
    let out = run(Some(RANGE_JSON), RANGE_LOCK_BEFORE).unwrap();
    assert_eq!(
        out,
        vec![(
            "php/composer.lock".to_string(),
            RANGE_LOCK_AFTER.to_string()
        )]
    );
    let deps = crate::deps::parse("composer.lock", out[0].1.as_bytes(), &|_| None).unwrap();
    assert!(deps
        .iter()
        .any(|d| d.name == "acme/vuln-lib" && d.version.as_deref() == Some("v1.0.1")));
}

#[test]
fn an_exact_pin_moves_in_composer_json_with_the_content_hash() {
    let out = run(Some(PIN_JSON_BEFORE), PIN_LOCK_BEFORE).unwrap();
    assert_eq!(
        out,
        vec![
            ("php/composer.lock".to_string(), PIN_LOCK_AFTER.to_string()),
            ("php/composer.json".to_string(), PIN_JSON_AFTER.to_string()),
        ]
    );
}

#[test]
fn a_parent_that_excludes_the_fix_is_named_and_composer_has_no_override() {
    let lock = RANGE_LOCK_BEFORE.replace(
        "\"acme/helper\": \"^2.0\",",
        "\"acme/helper\": \"^2.0\",\n                \"acme/vuln-lib\": \"<1.0.1\",",
    );
    // The line above went into vuln-lib's own entry; move it to helper's requires instead.
    let lock = lock.replacen(
        "            \"type\": \"library\",\n            \"autoload\": {\n                \"psr-4\": {\n                    \"Acme\\\\Helper\\\\\"",
        "            \"require\": {\n                \"acme/vuln-lib\": \"1.0.0\"\n            },\n            \"type\": \"library\",\n            \"autoload\": {\n                \"psr-4\": {\n                    \"Acme\\\\Helper\\\\\"",
        1,
    );
    match run(Some(RANGE_JSON), &lock).unwrap_err() {
        PatchError::ParentExcludes { parent, .. } => assert_eq!(parent, "acme/helper"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn refusals_say_why() {
    let json = RANGE_JSON.replace("\"^1.0\"", "\"<1.0.1\"");
    let e = run(Some(&json), RANGE_LOCK_BEFORE).unwrap_err();
    assert!(
        e.reason().contains("requires acme/vuln-lib `<1.0.1`"),
        "{e}"
    );
    let lock = RANGE_LOCK_BEFORE.replace("\"version\": \"2.1.0\"", "\"version\": \"2.0.0\"");
    let e = run(Some(RANGE_JSON), &lock).unwrap_err();
    assert!(
        e.reason()
            .contains("needs acme/helper `^2.0.1`, the lockfile has 2.0.0"),
        "{e}"
    );
    let e = run_with(
        Some(RANGE_JSON),
        RANGE_LOCK_BEFORE,
        &RegistryFacts::default(),
    )
    .unwrap_err();
    assert!(e.reason().contains("was not fetched"), "{e}");
}

#[test]
fn damaged_input_never_panics() {
    crate::remediation::patch::assert_no_panic(
        "composer.lock",
        RANGE_LOCK_BEFORE,
        "acme/vuln-lib",
        "v1.0.0",
        "1.0.1",
        &facts(),
    );
}
