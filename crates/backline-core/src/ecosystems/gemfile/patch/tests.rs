//! Gemfile.lock patches checked byte for byte against what Bundler wrote
//! (tests/data/lockfile-proofs/README.md says how the files were made).

use crate::registry::parse_gem_release;
use crate::remediation::patch::{patch, PatchError, PatchRequest, RegistryFacts};

macro_rules! data {
    ($p:literal) => {
        include_str!(concat!("../../../../../../tests/data/lockfile-proofs/", $p))
    };
}

const BEFORE: &str = data!("bundler/before/Gemfile.lock");
const AFTER: &str = data!("bundler/after/Gemfile.lock");
const VULN_LIB_101: &str = data!("rubygems/vuln-lib-1.0.1.json");

fn facts() -> RegistryFacts {
    let doc: serde_json::Value = serde_json::from_str(VULN_LIB_101).unwrap();
    RegistryFacts {
        gem_release: parse_gem_release(&doc),
        ..Default::default()
    }
}

fn run_with(lock: &str, facts: &RegistryFacts) -> Result<String, PatchError> {
    let lock = lock.to_string();
    let files = move |p: &str| (p == "web/Gemfile.lock").then(|| lock.clone().into_bytes());
    let req = PatchRequest {
        manifest_path: "web/Gemfile.lock",
        package: "vuln-lib",
        from: "1.0.0",
        to: "1.0.1",
        direct: true,
        files: &files,
        facts,
    };
    patch(&req).map(|cs| {
        assert_eq!(cs.len(), 1);
        String::from_utf8(cs[0].content.clone()).unwrap()
    })
}

fn run(lock: &str) -> Result<String, PatchError> {
    run_with(lock, &facts())
}

#[test]
fn the_spec_and_its_dependencies_move_as_bundle_lock_writes_them() {
    let out = run(BEFORE).unwrap();
    assert_eq!(out, AFTER);
    let deps = crate::deps::parse("Gemfile.lock", out.as_bytes(), &|_| None).unwrap();
    assert!(deps
        .iter()
        .any(|d| d.name == "vuln-lib" && d.version.as_deref() == Some("1.0.1")));
}

/// Bundler ≥ 2.5 adds a CHECKSUMS section (`lockfile_generator.rb#add_checksums`): one
/// `name (version) sha256=<hex>` line per gem, after DEPENDENCIES. Bundler 2.3 (Debian's)
/// does not write one, so this section is added by hand with the SHA-256 of the built gems.
#[test]
fn the_checksums_line_takes_rubygems_sha() {
    let with_checksums = |lock: &str, vuln: &str| {
        lock.replace(
            "\nBUNDLED WITH\n",
            &format!("\nCHECKSUMS\n  app-dep (0.5.0) sha256=2c9259ac12a5fbc993b4ccf972163497f0c8787eb7c00f3eb7a391b7368b47a8\n  helper-lib (2.1.0) sha256=cdae0ff98fbdfd182521904b1cccc5ab5e42bf6d63c2c2f4df70bb9c0e4c44b9\n  {vuln}\n\nBUNDLED WITH\n"),
        )
    };
    let before = with_checksums(
        BEFORE,
        "vuln-lib (1.0.0) sha256=10d67d4677e83a30e1761c7f6983c428679c17f811c9b071f24139814e43e6d1",
    );
    let after = with_checksums(
        AFTER,
        "vuln-lib (1.0.1) sha256=09bdfe312159ebe4189efc5ee93f3573a45c083d4a1700e6d9208762a3dfe43d",
    );
    assert_eq!(run(&before).unwrap(), after);
    let mut no_sha = facts();
    no_sha.gem_release.as_mut().unwrap().sha256 = None;
    let e = run_with(&before, &no_sha).unwrap_err();
    assert!(e.reason().contains("no SHA-256"), "{e}");
}

#[test]
fn a_parent_whose_requirement_excludes_the_fix_is_named() {
    let lock = BEFORE.replace("vuln-lib (>= 1.0, < 2)", "vuln-lib (= 1.0.0)");
    match run(&lock).unwrap_err() {
        PatchError::ParentExcludes {
            parent, message, ..
        } => {
            assert_eq!(parent, "app-dep");
            assert!(
                message.contains("app-dep 0.5.0 requires vuln-lib `= 1.0.0`"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_gemfile_requirement_and_missing_dependencies_are_refused() {
    let lock = BEFORE.replace("  vuln-lib (~> 1.0)\n", "  vuln-lib (~> 1.0.0, < 1.0.1)\n");
    let e = run(&lock).unwrap_err();
    assert!(e.reason().contains("the Gemfile requires vuln-lib"), "{e}");
    let lock = BEFORE.replace("    helper-lib (2.1.0)\n", "    helper-lib (2.0.0)\n");
    let e = run(&lock).unwrap_err();
    assert!(
        e.reason()
            .contains("needs helper-lib `>= 2.0.1, ~> 2.0`, the lockfile has 2.0.0"),
        "{e}"
    );
    let mut more = facts();
    more.gem_release
        .as_mut()
        .unwrap()
        .runtime
        .push(("rack".into(), ">= 0".into()));
    let e = run_with(BEFORE, &more).unwrap_err();
    assert!(
        e.reason().contains("which the lockfile does not have"),
        "{e}"
    );
}

#[test]
fn platform_builds_and_other_sources_are_left() {
    let lock = BEFORE.replace(
        "    vuln-lib (1.0.0)\n",
        "    vuln-lib (1.0.0-x86_64-linux)\n",
    );
    let e = run(&lock).unwrap_err();
    assert!(e.reason().contains("platform-specific"), "{e}");
}

#[test]
fn damaged_input_never_panics() {
    crate::remediation::patch::assert_no_panic(
        "Gemfile.lock",
        BEFORE,
        "vuln-lib",
        "1.0.0",
        "1.0.1",
        &facts(),
    );
}
