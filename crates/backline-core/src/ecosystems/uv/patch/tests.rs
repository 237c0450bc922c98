//! uv.lock patches checked byte for byte against what `uv lock` wrote
//! (tests/data/lockfile-proofs/README.md says how each file was made).

use super::uv_time;
use crate::registry::parse_pypi_release;
use crate::remediation::patch::{patch, PatchError, PatchRequest, RegistryFacts};

macro_rules! data {
    ($p:literal) => {
        include_str!(concat!("../../../../../../tests/data/lockfile-proofs/", $p))
    };
}

const RANGE_BEFORE: &str = data!("uv/range-before/uv.lock");
const RANGE_AFTER: &str = data!("uv/range-after/uv.lock");
const RANGE_PYPROJECT: &str = data!("uv/range-before/pyproject.toml");
const PIN_BEFORE: &str = data!("uv/pin-before/uv.lock");
const PIN_AFTER: &str = data!("uv/pin-after/uv.lock");
const PIN_PYPROJECT_BEFORE: &str = data!("uv/pin-before/pyproject.toml");
const PIN_PYPROJECT_AFTER: &str = data!("uv/pin-after/pyproject.toml");
const IDNA_37: &str = data!("pypi/idna-3.7.json");

fn idna_facts() -> RegistryFacts {
    let doc: serde_json::Value = serde_json::from_str(IDNA_37).unwrap();
    RegistryFacts {
        pypi_release: parse_pypi_release(&doc),
        ..Default::default()
    }
}

fn run_with(
    pyproject: &str,
    lock: &str,
    facts: &RegistryFacts,
) -> Result<Vec<(String, String)>, PatchError> {
    let (pyproject, lock) = (pyproject.to_string(), lock.to_string());
    let files = move |p: &str| match p {
        "svc/pyproject.toml" => Some(pyproject.clone().into_bytes()),
        "svc/uv.lock" => Some(lock.clone().into_bytes()),
        _ => None,
    };
    let req = PatchRequest {
        manifest_path: "svc/uv.lock",
        package: "idna",
        from: "3.6",
        to: "3.7",
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

fn run(pyproject: &str, lock: &str) -> Result<Vec<(String, String)>, PatchError> {
    run_with(pyproject, lock, &idna_facts())
}

#[test]
fn a_range_that_admits_the_fix_changes_the_lock_as_uv_lock_does() {
    let out = run(RANGE_PYPROJECT, RANGE_BEFORE).unwrap();
    assert_eq!(
        out,
        vec![("svc/uv.lock".to_string(), RANGE_AFTER.to_string())]
    );
    let deps = crate::deps::parse("uv.lock", out[0].1.as_bytes(), &|_| None).unwrap();
    assert!(deps
        .iter()
        .any(|d| d.name == "idna" && d.version.as_deref() == Some("3.7")));
}

#[test]
fn an_exact_pin_moves_in_pyproject_and_requires_dist_as_uv_lock_does() {
    let out = run(PIN_PYPROJECT_BEFORE, PIN_BEFORE).unwrap();
    assert_eq!(
        out,
        vec![
            ("svc/uv.lock".to_string(), PIN_AFTER.to_string()),
            (
                "svc/pyproject.toml".to_string(),
                PIN_PYPROJECT_AFTER.to_string()
            ),
        ]
    );
}

#[test]
fn upload_times_are_cut_to_milliseconds() {
    assert_eq!(
        uv_time("2024-04-11T03:34:41.447563Z").as_deref(),
        Some("2024-04-11T03:34:41.447Z")
    );
    assert_eq!(
        uv_time("2026-10-22T00:02:38.000000Z").as_deref(),
        Some("2026-10-22T00:02:38Z")
    );
    assert_eq!(
        uv_time("2026-10-22T00:02:38Z").as_deref(),
        Some("2026-10-22T00:02:38Z")
    );
    assert_eq!(
        uv_time("2024-04-11T03:34:41.100Z").as_deref(),
        Some("2024-04-11T03:34:41.1Z")
    );
    assert_eq!(uv_time("yesterday"), None);
}

#[test]
fn other_requirements_than_the_lock_records_are_refused() {
    let mut facts = idna_facts();
    if let Some(r) = facts.pypi_release.as_mut() {
        r.requires_dist = vec!["certifi>=2024".into(), "pytest; extra == 'test'".into()];
    }
    let e = run_with(RANGE_PYPROJECT, RANGE_BEFORE, &facts).unwrap_err();
    assert!(
        e.reason()
            .contains("requires [certifi] where the lock has []"),
        "{e}"
    );
}

#[test]
fn a_project_range_that_excludes_the_fix_is_refused() {
    let lock = PIN_BEFORE.replace("specifier = \"==3.6\"", "specifier = \"<3.7\"");
    let e = run(PIN_PYPROJECT_BEFORE, &lock).unwrap_err();
    assert!(e.reason().contains("requires idna `<3.7`"), "{e}");
}

#[test]
fn references_that_name_the_version_move_too() {
    let lock = RANGE_BEFORE.replace(
        "    { name = \"idna\" },\n",
        "    { name = \"idna\", version = \"3.6\", source = { registry = \"https://pypi.org/simple\" } },\n",
    );
    let out = run(RANGE_PYPROJECT, &lock).unwrap();
    assert!(out[0]
        .1
        .contains("{ name = \"idna\", version = \"3.7\", source"));
    assert!(!out[0].1.contains("version = \"3.6\""));
}

#[test]
fn damaged_input_never_panics() {
    crate::remediation::patch::assert_no_panic(
        "uv.lock",
        RANGE_BEFORE,
        "idna",
        "3.6",
        "3.7",
        &idna_facts(),
    );
}
