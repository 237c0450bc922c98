//! Proof against the real tool: our Cargo.lock patch must equal, byte for byte, what
//! `cargo update -p <crate> --precise <new> --offline` writes, and `cargo metadata --locked`
//! must accept it. Needs both versions in the local cargo cache; without them the test prints
//! a note and passes (CI machines start with an empty cache).

use std::path::{Path, PathBuf};
use std::process::Command;

use backline::registry::{parse_index_line, CrateRelease};
use backline::remediation::patch::{patch, PatchRequest, RegistryFacts};
use sha2::{Digest, Sha256};

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}

/// The `.crate` file of name-version in any registry cache folder.
fn cached_crate(home: &Path, name: &str, version: &str) -> Option<PathBuf> {
    let dirs = std::fs::read_dir(home.join("registry/cache")).ok()?;
    dirs.flatten()
        .map(|d| d.path().join(format!("{name}-{version}.crate")))
        .find(|p| p.is_file())
}

/// The index entry from cargo's index cache (`.cache/<prefix>/<name>`: NUL-separated version
/// and JSON pairs after a small header), else one built from the `.crate` file's SHA-256.
fn release(home: &Path, name: &str, version: &str, crate_file: &Path) -> CrateRelease {
    if let Ok(dirs) = std::fs::read_dir(home.join("registry/index")) {
        let prefix = backline::registry::index_path(name).unwrap();
        let (dir, _) = prefix.rsplit_once('/').unwrap();
        for d in dirs.flatten() {
            let Ok(bytes) = std::fs::read(d.path().join(".cache").join(dir).join(name)) else {
                continue;
            };
            for seg in bytes.split(|&b| b == 0) {
                if seg.first() != Some(&b'{') {
                    continue;
                }
                if let Ok(r) = parse_index_line(&String::from_utf8_lossy(seg)) {
                    if r.version == version {
                        eprintln!("facts for {name} {version} from the index cache");
                        return r;
                    }
                }
            }
        }
    }
    eprintln!("facts for {name} {version} from the .crate file (no dependencies known)");
    let bytes = std::fs::read(crate_file).unwrap();
    CrateRelease {
        name: name.into(),
        version: version.into(),
        cksum: hex::encode(Sha256::digest(&bytes)),
        yanked: false,
        deps: Vec::new(),
    }
}

fn cargo(dir: &Path, args: &[&str]) -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    if !out.status.success() {
        eprintln!(
            "cargo {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

fn prove(name: &str, old: &str, new: &str) {
    prove_with(name, old, new, &[]);
}

/// As [`prove`], with other crates first pinned at `pins` (name, version).
fn prove_with(name: &str, old: &str, new: &str, pins: &[(&str, &str)]) {
    let Some(home) = cargo_home() else {
        eprintln!("note: no cargo home; skipped");
        return;
    };
    let (Some(_), Some(new_file)) = (
        cached_crate(&home, name, old),
        cached_crate(&home, name, new),
    ) else {
        eprintln!("note: {name} {old} and {new} are not both in the cargo cache; skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    let manifest = format!(
        "[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{name} = \"{old}\"\n"
    );
    std::fs::write(dir.join("Cargo.toml"), &manifest).unwrap();
    if !cargo(dir, &["generate-lockfile", "--offline"])
        || !cargo(dir, &["update", "-p", name, "--precise", old, "--offline"])
    {
        eprintln!("note: cargo could not lock {name} {old} offline; skipped");
        return;
    }
    for (pin, version) in pins {
        if !cargo(
            dir,
            &["update", "-p", pin, "--precise", version, "--offline"],
        ) {
            eprintln!("note: cargo could not pin {pin} {version} offline; skipped");
            return;
        }
    }
    let before = std::fs::read(dir.join("Cargo.lock")).unwrap();
    let facts = RegistryFacts {
        crate_release: Some(release(&home, name, new, &new_file)),
        ..Default::default()
    };
    let files = |p: &str| match p {
        "Cargo.lock" => Some(before.clone()),
        "Cargo.toml" => Some(manifest.clone().into_bytes()),
        _ => None,
    };
    let req = PatchRequest {
        manifest_path: "Cargo.lock",
        package: name,
        from: old,
        to: new,
        direct: true,
        files: &files,
        facts: &facts,
    };
    let ours = match patch(&req) {
        Ok(o) => o,
        Err(e) => {
            // Refused: cargo must then have had to move something else too.
            assert!(cargo(
                dir,
                &["update", "-p", name, "--precise", new, "--offline"]
            ));
            let theirs = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
            let only_bump = String::from_utf8(before.clone()).unwrap().replace(
                &format!("name = \"{name}\"\nversion = \"{old}\""),
                &format!("name = \"{name}\"\nversion = \"{new}\""),
            );
            assert_ne!(
                theirs, only_bump,
                "refused ({e}) although a plain bump was enough"
            );
            eprintln!("refused as expected: {e}");
            return;
        }
    };
    assert_eq!(ours.len(), 1, "the caret requirement allows {new}");
    assert!(cargo(
        dir,
        &["update", "-p", name, "--precise", new, "--offline"]
    ));
    let theirs = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    assert_eq!(String::from_utf8(ours[0].content.clone()).unwrap(), theirs);
    // Ours, written back over the old lock, is accepted as is.
    std::fs::write(dir.join("Cargo.lock"), &before).unwrap();
    std::fs::write(dir.join("Cargo.lock"), &ours[0].content).unwrap();
    assert!(cargo(
        dir,
        &["metadata", "--locked", "--offline", "--format-version", "1"]
    ));
    assert_eq!(
        std::fs::read(dir.join("Cargo.lock")).unwrap(),
        ours[0].content
    );
}

#[test]
fn cargo_lock_patch_matches_cargo_update_itoa() {
    prove("itoa", "1.0.18", "1.0.19");
}

#[test]
fn cargo_lock_patch_matches_cargo_update_memchr() {
    prove("memchr", "2.8.0", "2.8.3");
}

#[test]
fn cargo_lock_patch_matches_cargo_update_regex() {
    prove("regex", "1.12.3", "1.13.2");
}

#[test]
fn cargo_lock_patch_is_refused_when_a_dependency_must_move_too() {
    // regex 1.13.2 needs a newer regex-automata than 0.4.14: cargo moves both, we refuse.
    prove_with("regex", "1.12.3", "1.13.2", &[("regex-automata", "0.4.14")]);
}
