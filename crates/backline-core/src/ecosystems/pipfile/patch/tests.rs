//! Pipfile.lock patches checked byte for byte against what pipenv wrote
//! (tests/data/lockfile-proofs/README.md says how each file was made).

use super::pipfile_hash;
use crate::registry::parse_pypi_release;
use crate::remediation::patch::{patch, PatchError, PatchRequest, RegistryFacts};

const BEFORE_PIPFILE: &str =
    include_str!("../../../../../../tests/data/lockfile-proofs/pipenv/before/Pipfile");
const BEFORE_LOCK: &str =
    include_str!("../../../../../../tests/data/lockfile-proofs/pipenv/before/Pipfile.lock");
const AFTER_PIPFILE: &str =
    include_str!("../../../../../../tests/data/lockfile-proofs/pipenv/after/Pipfile");
const AFTER_LOCK: &str =
    include_str!("../../../../../../tests/data/lockfile-proofs/pipenv/after/Pipfile.lock");
const IDNA_37: &str =
    include_str!("../../../../../../tests/data/lockfile-proofs/pypi/idna-3.7.json");

fn idna_facts() -> RegistryFacts {
    let doc: serde_json::Value = serde_json::from_str(IDNA_37).unwrap();
    RegistryFacts {
        pypi_release: parse_pypi_release(&doc),
        ..Default::default()
    }
}

fn run(pipfile: Option<&str>, lock: &str, to: &str) -> Result<Vec<(String, String)>, PatchError> {
    let (pipfile, lock) = (pipfile.map(str::to_string), lock.to_string());
    let files = move |p: &str| match p {
        "app/Pipfile" => pipfile.clone().map(String::into_bytes),
        "app/Pipfile.lock" => Some(lock.clone().into_bytes()),
        _ => None,
    };
    let facts = idna_facts();
    let req = PatchRequest {
        manifest_path: "app/Pipfile.lock",
        package: "idna",
        from: "3.6",
        to,
        direct: true,
        files: &files,
        facts: &facts,
    };
    patch(&req).map(|cs| {
        cs.into_iter()
            .map(|c| (c.path, String::from_utf8(c.content).unwrap()))
            .collect()
    })
}

#[test]
fn pipenv_hashes_its_pipfiles_as_we_do() {
    for (pipfile, lock) in [(BEFORE_PIPFILE, BEFORE_LOCK), (AFTER_PIPFILE, AFTER_LOCK)] {
        let doc: serde_json::Value = serde_json::from_str(lock).unwrap();
        assert_eq!(
            pipfile_hash("Pipfile", pipfile).unwrap(),
            doc["_meta"]["hash"]["sha256"].as_str().unwrap()
        );
    }
    // Without [[source]], plette adds PyPI's before hashing.
    let bare = "[packages]\nidna = \"*\"\n";
    let with = "[[source]]\nname = \"pypi\"\nurl = \"https://pypi.org/simple\"\nverify_ssl = true\n\n[packages]\nidna = \"*\"\n";
    assert_eq!(
        pipfile_hash("Pipfile", bare).unwrap(),
        pipfile_hash("Pipfile", with).unwrap()
    );
    // Non-ASCII text is hashed as Python's json.dumps escapes it.
    assert_eq!(
        super::ascii_json("é😀\u{7f}"),
        "\\u00e9\\ud83d\\ude00\\u007f"
    );
}

#[test]
fn an_exact_pin_moves_in_the_pipfile_and_the_lock_as_pipenv_lock_writes_them() {
    let out = run(Some(BEFORE_PIPFILE), BEFORE_LOCK, "3.7").unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0],
        ("app/Pipfile.lock".to_string(), AFTER_LOCK.to_string())
    );
    assert_eq!(
        out[1],
        ("app/Pipfile".to_string(), AFTER_PIPFILE.to_string())
    );
}

#[test]
fn a_range_that_admits_the_fix_leaves_the_pipfile_and_its_hash() {
    let pipfile = BEFORE_PIPFILE.replace("idna = \"==3.6\"", "idna = \">=3\"");
    let out = run(Some(&pipfile), BEFORE_LOCK, "3.7").unwrap();
    assert_eq!(out.len(), 1, "only the lock changes");
    let before_hash = "584dff6cf05d021bc451fabe66061ed83d6106b037f03975c38fc1fea75fe544";
    let after_hash = "98f710d16f4126c617cfdb6f0eccc94d0dd6b8274997618463951fc21e2d92bc";
    assert_eq!(out[0].1, AFTER_LOCK.replace(after_hash, before_hash));
    // The patched file reads again at the new version.
    let deps = crate::deps::parse("Pipfile.lock", out[0].1.as_bytes(), &|_| None).unwrap();
    assert!(deps
        .iter()
        .any(|d| d.name == "idna" && d.version.as_deref() == Some("3.7")));
}

#[test]
fn refusals_say_why() {
    let pipfile = BEFORE_PIPFILE.replace("idna = \"==3.6\"", "idna = \"<3.7\"");
    let e = run(Some(&pipfile), BEFORE_LOCK, "3.7").unwrap_err();
    assert!(e.reason().contains("requires idna `<3.7`"), "{e}");
    let e = run(None, BEFORE_LOCK, "3.8").unwrap_err();
    assert!(
        e.reason()
            .contains("PyPI entry of idna 3.8 was not fetched"),
        "{e}"
    );
    let e = run(None, &BEFORE_LOCK.replace("==3.6", "==3.5"), "3.7").unwrap_err();
    assert!(e.reason().contains("has no idna 3.6"), "{e}");
}

#[test]
fn a_new_requirement_the_lock_does_not_meet_is_refused() {
    let mut facts = idna_facts();
    if let Some(r) = facts.pypi_release.as_mut() {
        r.requires_dist = vec!["urllib3 (>=3)".into()];
    }
    let lock = BEFORE_LOCK.to_string();
    let files = move |p: &str| (p == "Pipfile.lock").then(|| lock.clone().into_bytes());
    let req = PatchRequest {
        manifest_path: "Pipfile.lock",
        package: "idna",
        from: "3.6",
        to: "3.7",
        direct: true,
        files: &files,
        facts: &facts,
    };
    let e = patch(&req).unwrap_err();
    assert!(
        e.reason()
            .contains("needs `urllib3` >=3, the lockfile has 2.8.0"),
        "{e}"
    );
    let mut facts2 = facts.clone();
    if let Some(r) = facts2.pypi_release.as_mut() {
        r.requires_dist = vec!["certifi".into(), "pytest ; extra == 'test'".into()];
    }
    let req = PatchRequest {
        facts: &facts2,
        ..req
    };
    let e = patch(&req).unwrap_err();
    assert!(
        e.reason()
            .contains("requires `certifi`, which the lockfile does not have"),
        "{e}"
    );
}

#[test]
fn markers_follow_a_new_python_floor() {
    assert_eq!(
        super::python_marker(">=3.8").as_deref(),
        Some("python_version >= '3.8'")
    );
    assert_eq!(super::python_marker(">=3.8.1"), None);
    assert!(super::is_python_floor_marker(
        "python_version >= '3.5'".into()
    ));
    assert!(!super::is_python_floor_marker(
        "sys_platform == 'win32'".into()
    ));
}

#[test]
fn damaged_input_never_panics() {
    crate::remediation::patch::assert_no_panic(
        "Pipfile.lock",
        BEFORE_LOCK,
        "idna",
        "3.6",
        "3.7",
        &idna_facts(),
    );
}
