//! Proof against the real package managers (run by `scripts/real-tool-proofs`, a `.ci/run`
//! step of its own; never part of `cargo test`, which stays on loopback).
//!
//! For each project under `tests/fixtures/real-tools/`, backline's patcher
//! ([`backline::remediation::patch::patch`]) moves a vulnerable package to its fix with facts
//! fetched from the public registry by [`backline::registry::HttpRegistry`], and the real tool
//! must accept the patched project:
//! - npm lockfile v1, v2, v3: `npm ls --package-lock-only --all` and
//!   `npm ci --dry-run --ignore-scripts`; where a parent's range excludes the fix, the patch
//!   must refuse and name that parent;
//! - Cargo.lock: `cargo metadata --locked`, and the patch equals, byte for byte, what
//!   `cargo update -p <crate> --precise <fix>` writes;
//! - Cargo.lock parent bump (issue 18): the fixer over the public index bumps serde for
//!   serde_derive's fix, accepted by `cargo metadata --locked` and `cargo tree --locked`, equal
//!   to `cargo update -p serde --precise`;
//! - requirements.txt with hashes: `pip install --dry-run --require-hashes`;
//! - pnpm-lock.yaml v6 and v9 (issue 18): `pnpm install --frozen-lockfile --lockfile-only`
//!   with pnpm 8 and 9 (through `npx`), after a direct move and after an override of a
//!   transitive package whose parent's range excludes the fix (a plain move must be refused).
//! - yarn berry `yarn.lock` (issue 18), written by yarn 4 and yarn 3 (tests/data/yarn-berry/):
//!   after a direct move, a transitive move and a `resolutions` override, `yarn install
//!   --immutable --mode=skip-build` (yarn 4 and 3 from the npm registry, through `npx`) accepts
//!   the patched lock (whose moved entries have no `checksum`) and writes back, byte for byte,
//!   the lock yarn itself wrote for that change (tests/data/yarn-berry/*/after/yarn.lock);
//!   controls: package.json moved without the lock, and a wrong checksum, are refused.
//!
//! Controls show the tools really check: npm rejects the issue's broken MR (package.json pin
//! moved, lockfile left), pip rejects a new pin with the old hashes.
//!
//! A missing tool or an unreachable registry is a failure, never a skip: the program exits 1
//! with a message saying what was missing.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use backline::registry::{
    parse_pypi_release, HttpRegistry, PypiRelease, Registry, RegistryConfig, DEFAULT_PYPI_URL,
};
use backline::remediation::patch::{
    cargo_dependents, npm_dependents, patch, patch_with, ParentRule, PatchError, PatchRequest,
    RegistryFacts,
};

type Outcome = Result<(), String>;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-tools")
}

/// A fresh copy of one fixture project in a temporary folder.
fn copy_fixture(name: &str) -> Result<tempfile::TempDir, String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
    let src = fixtures().join(name);
    let entries = std::fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", src.display()))?;
        if entry.path().is_file() {
            std::fs::copy(entry.path(), tmp.path().join(entry.file_name()))
                .map_err(|e| format!("copy {}: {e}", entry.path().display()))?;
        }
    }
    if src.join("Cargo.toml").is_file() {
        std::fs::create_dir(tmp.path().join("src")).map_err(|e| e.to_string())?;
        std::fs::write(tmp.path().join("src/lib.rs"), "").map_err(|e| e.to_string())?;
    }
    Ok(tmp)
}

/// Runs a tool in `dir`; its combined output, or an error naming the tool and what it said.
fn run(dir: &Path, program: &str, args: &[&str], envs: &[(&str, &Path)]) -> Result<String, String> {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| {
        format!("`{program}` could not be started ({e}): install it (see scripts/real-tool-proofs)")
    })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(format!(
            "`{program} {}` rejected the project ({}):\n{text}",
            args.join(" "),
            out.status
        ));
    }
    Ok(text)
}

/// Patches `package` from `from` to `to` in `dir`'s `manifest`, writing the changed files.
fn apply(
    dir: &Path,
    manifest: &str,
    package: &str,
    (from, to): (&str, &str),
    direct: bool,
    facts: &RegistryFacts,
) -> Result<Vec<String>, PatchError> {
    let files = |p: &str| std::fs::read(dir.join(p)).ok();
    let req = PatchRequest {
        manifest_path: manifest,
        package,
        from,
        to,
        direct,
        files: &files,
        facts,
    };
    let changes = patch(&req)?;
    for c in &changes {
        std::fs::write(dir.join(&c.path), &c.content).expect("temporary folder is writable");
    }
    Ok(changes.into_iter().map(|c| c.path).collect())
}

async fn npm_facts(reg: &HttpRegistry, name: &str, version: &str) -> Result<RegistryFacts, String> {
    let release = reg
        .npm_release(name, version)
        .await
        .map_err(|e| format!("npm registry: {e}"))?
        .ok_or_else(|| format!("npm registry: {name} {version} is not published"))?;
    Ok(RegistryFacts {
        npm_release: Some(release),
        ..Default::default()
    })
}

/// One npm lockfile version: two direct pins move (package.json and lockfile together), three
/// nested copies whose parents' ranges exclude the fix are refused naming the parent.
async fn npm_project(reg: &HttpRegistry, version: u8) -> Outcome {
    let name = format!("npm-lockfile-v{version}");
    let tmp = copy_fixture(&name)?;
    let dir = tmp.path();
    let lock = "package-lock.json";
    let text = std::fs::read_to_string(dir.join(lock)).map_err(|e| e.to_string())?;
    let want = format!("\"lockfileVersion\": {version}");
    if !text.contains(&want) {
        return Err(format!("{name}: the fixture is not lockfile v{version}"));
    }
    let npm_checks = |what: &str| -> Outcome {
        run(dir, "npm", &["ls", "--package-lock-only", "--all"], &[])
            .map_err(|e| format!("{name} after {what}: {e}"))?;
        run(
            dir,
            "npm",
            &[
                "ci",
                "--dry-run",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ],
            &[],
        )
        .map_err(|e| format!("{name} after {what}: {e}"))?;
        Ok(())
    };
    // The untouched project is accepted (so a later rejection is the patch's doing).
    npm_checks("nothing (the fixture as committed)")?;
    // Control: the issue's broken MR (package.json pin moved, lockfile left) is rejected by
    // both commands, so their acceptance below means something.
    let control = copy_fixture(&name)?;
    let pj =
        std::fs::read_to_string(control.path().join("package.json")).map_err(|e| e.to_string())?;
    std::fs::write(
        control.path().join("package.json"),
        pj.replace("\"lodash\": \"4.17.11\"", "\"lodash\": \"4.17.21\""),
    )
    .map_err(|e| e.to_string())?;
    let ls = run(
        control.path(),
        "npm",
        &["ls", "--package-lock-only", "--all"],
        &[],
    );
    let ci = run(
        control.path(),
        "npm",
        &[
            "ci",
            "--dry-run",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
        ],
        &[],
    );
    if ls.is_ok() || ci.is_ok() {
        return Err(format!(
            "{name}: control: npm accepted package.json pinning lodash 4.17.21 over a lockfile at 4.17.11 (npm ls {}, npm ci {})",
            if ls.is_ok() { "accepted" } else { "rejected" },
            if ci.is_ok() { "accepted" } else { "rejected" }
        ));
    }
    println!("  {name}: control: package.json moved without the lockfile is rejected by npm ls and npm ci");
    for (pkg, from, to) in [
        ("lodash", "4.17.11", "4.17.21"),
        ("minimist", "1.2.0", "1.2.6"),
    ] {
        let facts = npm_facts(reg, pkg, to).await?;
        let changed = apply(dir, lock, pkg, (from, to), true, &facts)
            .map_err(|e| format!("{name}: {pkg} {from} -> {to} refused: {e}"))?;
        if !changed.iter().any(|p| p == "package.json") {
            return Err(format!(
                "{name}: package.json pins {pkg} {from} but the patch left it: {changed:?}"
            ));
        }
        let pj = std::fs::read_to_string(dir.join("package.json")).map_err(|e| e.to_string())?;
        if !pj.contains(&format!("\"{pkg}\": \"{to}\"")) {
            return Err(format!("{name}: package.json does not pin {pkg} {to}"));
        }
        npm_checks(&format!("{pkg} {from} -> {to}"))?;
        println!("  {name}: {pkg} {from} -> {to} accepted by npm ls and npm ci --dry-run");
    }
    // Copies below parents whose ranges exclude the fix: refused, naming the parent.
    for (pkg, from, to, parent) in [
        ("lodash", "2.4.2", "4.17.21", "inquirer"),
        ("minimist", "0.0.8", "1.2.6", "mkdirp"),
        ("minimist", "0.0.10", "1.2.6", "optimist"),
    ] {
        let before = std::fs::read(dir.join(lock)).map_err(|e| e.to_string())?;
        let facts = npm_facts(reg, pkg, to).await?;
        match apply(dir, lock, pkg, (from, to), false, &facts) {
            Err(PatchError::ParentExcludes {
                parent: named,
                message,
                ..
            }) if named == parent => {
                println!("  {name}: {pkg} {from} -> {to} refused: {message}");
            }
            Err(e) => {
                return Err(format!(
                    "{name}: {pkg} {from} -> {to} refused without naming {parent}: {e}"
                ))
            }
            Ok(changed) => {
                return Err(format!(
                    "{name}: {pkg} {from} -> {to} was patched ({changed:?}) although {parent}'s range excludes {to}"
                ))
            }
        }
        if std::fs::read(dir.join(lock)).map_err(|e| e.to_string())? != before {
            return Err(format!("{name}: a refused patch changed {lock}"));
        }
    }
    Ok(())
}

async fn crate_facts(
    reg: &HttpRegistry,
    lock: &[u8],
    name: &str,
    from: &str,
    to: &str,
) -> Result<RegistryFacts, String> {
    let release = reg
        .crate_release(name, to)
        .await
        .map_err(|e| format!("crates.io index: {e}"))?
        .ok_or_else(|| format!("crates.io index: {name} {to} is not published"))?;
    let mut dependents = Vec::new();
    for (dep, version) in cargo_dependents(lock, name, from) {
        let r = reg
            .crate_release(&dep, &version)
            .await
            .map_err(|e| format!("crates.io index: {e}"))?
            .ok_or_else(|| format!("crates.io index: {dep} {version} is not published"))?;
        dependents.push(r);
    }
    Ok(RegistryFacts {
        crate_release: Some(release),
        crate_dependents: Some(dependents),
        ..Default::default()
    })
}

/// Cargo.lock: each bump equals `cargo update --precise` byte for byte and `cargo metadata
/// --locked` accepts it; a bump that needs another crate to move is refused.
async fn cargo_project(reg: &HttpRegistry) -> Outcome {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ours = copy_fixture("cargo")?;
    let theirs = copy_fixture("cargo")?;
    let target = tempfile::tempdir().map_err(|e| e.to_string())?;
    let env = [("CARGO_TARGET_DIR", target.path())];
    let metadata = ["metadata", "--locked", "--format-version", "1"];
    run(ours.path(), &cargo, &metadata, &env)
        .map_err(|e| format!("cargo fixture as committed: {e}"))?;
    for (name, from, to) in [("regex", "1.5.4", "1.5.5"), ("smallvec", "1.6.0", "1.6.1")] {
        let lock = std::fs::read(ours.path().join("Cargo.lock")).map_err(|e| e.to_string())?;
        let facts = crate_facts(reg, &lock, name, from, to).await?;
        apply(ours.path(), "Cargo.lock", name, (from, to), true, &facts)
            .map_err(|e| format!("cargo: {name} {from} -> {to} refused: {e}"))?;
        run(ours.path(), &cargo, &metadata, &env)
            .map_err(|e| format!("cargo: after {name} {from} -> {to}: {e}"))?;
        run(
            theirs.path(),
            &cargo,
            &["update", "-p", name, "--precise", to],
            &env,
        )
        .map_err(|e| format!("cargo: {e}"))?;
        let (a, b) = (
            std::fs::read(ours.path().join("Cargo.lock")).map_err(|e| e.to_string())?,
            std::fs::read(theirs.path().join("Cargo.lock")).map_err(|e| e.to_string())?,
        );
        if a != b {
            return Err(format!(
                "cargo: {name} {from} -> {to}: our Cargo.lock differs from cargo update --precise:\n--- ours\n{}\n--- cargo\n{}",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            ));
        }
        println!("  cargo: {name} {from} -> {to} accepted by cargo metadata --locked, equal to cargo update --precise");
    }
    // regex 1.13 needs regex-automata, which the lock does not have: cargo would add it.
    let lock = std::fs::read(ours.path().join("Cargo.lock")).map_err(|e| e.to_string())?;
    let facts = crate_facts(reg, &lock, "regex", "1.5.5", "1.13.2").await?;
    match apply(ours.path(), "Cargo.lock", "regex", ("1.5.5", "1.13.2"), true, &facts) {
        Err(PatchError::NotFixable { reason }) => {
            println!("  cargo: regex 1.5.5 -> 1.13.2 refused: {reason}")
        }
        other => {
            return Err(format!(
                "cargo: regex 1.5.5 -> 1.13.2 needs regex-automata added, yet the patch answered {other:?}"
            ))
        }
    }
    Ok(())
}

/// Cargo.lock parent bump (issue 18): serde 1.0.150 pins `serde_derive = "=1.0.150"`; the
/// fixer, over the public crates.io index, must move serde to the smallest release allowing
/// serde_derive 1.0.151, byte for byte what `cargo update -p serde --precise 1.0.151` writes,
/// and `cargo metadata --locked` and `cargo tree --locked` must accept the result.
async fn cargo_parent_project() -> Outcome {
    use backline::remediation::executor::{FixRequest, Fixer};
    use backline::remediation::fixer::PatchFixer;
    use backline::remediation::route::{FixRoute, ParentBump};
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cargo-parent");
    let project = |case: &str| -> Result<tempfile::TempDir, String> {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        for f in ["Cargo.toml", "Cargo.lock"] {
            std::fs::copy(data.join(case).join(f), tmp.path().join(f))
                .map_err(|e| format!("copy {f}: {e}"))?;
        }
        std::fs::create_dir(tmp.path().join("src")).map_err(|e| e.to_string())?;
        std::fs::write(tmp.path().join("src/lib.rs"), "").map_err(|e| e.to_string())?;
        Ok(tmp)
    };
    let (ours, theirs) = (project("base")?, project("base")?);
    let target = tempfile::tempdir().map_err(|e| e.to_string())?;
    let env = [("CARGO_TARGET_DIR", target.path())];
    let metadata = ["metadata", "--locked", "--format-version", "1"];
    run(ours.path(), &cargo, &metadata, &env)
        .map_err(|e| format!("cargo-parent as committed: {e}"))?;
    let registry = HttpRegistry::new(RegistryConfig::default()).map_err(|e| e.to_string())?;
    let fixer = PatchFixer::new(std::sync::Arc::new(registry));
    fixer.use_advisories(backline::advisories::shared::AdvisoryIndex::new(
        backline::advisories::index::Index::default(),
    ));
    let mut files = std::collections::HashMap::new();
    for f in ["Cargo.toml", "Cargo.lock"] {
        files.insert(
            f.to_string(),
            std::fs::read(ours.path().join(f)).map_err(|e| e.to_string())?,
        );
    }
    let out = fixer
        .fix(&FixRequest {
            ecosystem: backline::ecosystem::Ecosystem::CratesIo,
            manifest: "Cargo.lock",
            package: "serde_derive",
            from: "1.0.150",
            to: "1.0.151",
            direct: false,
            files: &files,
            others: &[],
        })
        .await
        .map_err(|e| format!("cargo-parent: the fix was refused: {e}"))?;
    let want = FixRoute::ParentBump {
        bumps: vec![ParentBump {
            package: "serde".into(),
            from: "1.0.150".into(),
            to: "1.0.151".into(),
        }],
    };
    if out.route != want {
        return Err(format!(
            "cargo-parent: route {:?}, wanted {want:?}",
            out.route
        ));
    }
    for e in &out.edits {
        std::fs::write(ours.path().join(&e.path), &e.content).map_err(|e| e.to_string())?;
    }
    run(ours.path(), &cargo, &metadata, &env)
        .map_err(|e| format!("cargo-parent: after the bump: {e}"))?;
    run(ours.path(), &cargo, &["tree", "--locked"], &env)
        .map_err(|e| format!("cargo-parent: after the bump: {e}"))?;
    run(
        theirs.path(),
        &cargo,
        &["update", "-p", "serde", "--precise", "1.0.151"],
        &env,
    )
    .map_err(|e| format!("cargo-parent: {e}"))?;
    let read = |d: &Path| std::fs::read(d.join("Cargo.lock")).map_err(|e| e.to_string());
    if read(ours.path())? != read(theirs.path())? {
        return Err(
            "cargo-parent: our Cargo.lock differs from cargo update -p serde --precise 1.0.151"
                .into(),
        );
    }
    println!("  cargo: serde_derive 1.0.150 -> 1.0.151 through serde 1.0.151 accepted by cargo metadata/tree --locked, equal to cargo update --precise");
    Ok(())
}

/// PyPI facts: the per-version JSON API (the code path the service uses); where that answers
/// nothing, the project JSON's `releases[version]` files (then without `requires_dist`).
async fn pypi_facts(
    reg: &HttpRegistry,
    name: &str,
    version: &str,
) -> Result<RegistryFacts, String> {
    let release = match reg.pypi_release(name, version).await {
        Ok(Some(r)) => r,
        first => {
            let url = format!("{DEFAULT_PYPI_URL}/pypi/{name}/json");
            // The machine's trust store, as the registry client uses it.
            let client = backline::net::Network::default()
                .client_builder()
                .map_err(|e| format!("PyPI client: {e}"))?
                .build()
                .map_err(|e| format!("PyPI client: {e}"))?;
            let doc: serde_json::Value = client
                .get(&url)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| format!("PyPI: {url}: {e}"))?
                .json()
                .await
                .map_err(|e| format!("PyPI: {url}: {e}"))?;
            let files = doc
                .pointer(&format!("/releases/{version}"))
                .and_then(|v| v.as_array())
                .ok_or_else(|| format!("PyPI: {name} {version} is not published"))?
                .iter()
                .filter_map(|u| {
                    Some((
                        u.get("filename")?.as_str()?.to_string(),
                        u.pointer("/digests/sha256")?.as_str()?.to_string(),
                    ))
                })
                .collect();
            let same = parse_pypi_release(&doc).filter(|r| r.version == version);
            println!(
                "  PyPI's per-version JSON gave {}; files from the project JSON instead",
                match first {
                    Ok(_) => "no answer".to_string(),
                    Err(e) => e.to_string(),
                }
            );
            PypiRelease {
                name: name.into(),
                version: version.into(),
                files,
                requires_dist: same.map(|r| r.requires_dist).unwrap_or_default(),
                ..Default::default()
            }
        }
    };
    Ok(RegistryFacts {
        pypi_release: Some(release),
        ..Default::default()
    })
}

/// requirements.txt with every pin hashed: pip accepts the patched file with
/// `--require-hashes` (every dependency is pinned, so no `--no-deps` is needed).
async fn pip_project(reg: &HttpRegistry) -> Outcome {
    let tmp = copy_fixture("pip-hashes")?;
    let dir = tmp.path();
    let pip = |what: &str| -> Result<String, String> {
        run(
            dir,
            "python3",
            &[
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--require-hashes",
                "--ignore-installed",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "-r",
                "requirements.txt",
            ],
            &[],
        )
        .map_err(|e| format!("pip after {what}: {e}"))
    };
    pip("nothing (the fixture as committed)")?;
    let (name, from, to) = ("urllib3", "1.26.4", "1.26.5");
    let facts = pypi_facts(reg, name, to).await?;
    apply(dir, "requirements.txt", name, (from, to), true, &facts)
        .map_err(|e| format!("pip: {name} {from} -> {to} refused: {e}"))?;
    // Control: the new pin with the old hashes is refused, so pip checks what we wrote.
    let patched =
        std::fs::read_to_string(dir.join("requirements.txt")).map_err(|e| e.to_string())?;
    let original = std::fs::read_to_string(fixtures().join("pip-hashes/requirements.txt"))
        .map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("requirements.txt"),
        original.replace(&format!("{name}=={from}"), &format!("{name}=={to}")),
    )
    .map_err(|e| e.to_string())?;
    if pip("control").is_ok() {
        return Err(format!(
            "pip: control: pip accepted {name}=={to} with {from}'s hashes"
        ));
    }
    println!("  pip: control: {name}=={to} with {from}'s hashes is rejected");
    std::fs::write(dir.join("requirements.txt"), patched).map_err(|e| e.to_string())?;
    let out = pip(&format!("{name} {from} -> {to}"))?;
    if !out.contains(&format!("{name}-{to}")) {
        return Err(format!(
            "pip: the dry run would not install {name} {to}:\n{out}"
        ));
    }
    println!("  pip: {name} {from} -> {to} accepted by pip install --dry-run --require-hashes");
    Ok(())
}

/// One pnpm lockfile version (6 with pnpm 8, 9 with pnpm 9), from tests/data/pnpm/v*-base:
/// lodash moves as a direct dependency; ms (which debug 2.6.9 pins at `2.0.0`) is refused as a
/// plain move and pinned with `pnpm.overrides`; pnpm must accept each result as frozen.
async fn pnpm_project(reg: &HttpRegistry, layout: u8) -> Outcome {
    let pnpm = if layout == 6 { "pnpm@8" } else { "pnpm@9" };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/pnpm/v{layout}-base"));
    let frozen = [
        "-y",
        pnpm,
        "install",
        "--frozen-lockfile",
        "--lockfile-only",
        "--ignore-scripts",
    ];
    let fresh = || -> Result<tempfile::TempDir, String> {
        let tmp = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
        for f in ["package.json", "pnpm-lock.yaml"] {
            std::fs::copy(src.join(f), tmp.path().join(f)).map_err(|e| format!("{f}: {e}"))?;
        }
        Ok(tmp)
    };
    let facts = |name: &'static str, version: &'static str, from: &'static str, dir: PathBuf| async move {
        let mut facts = npm_facts(reg, name, version).await?;
        let lock = std::fs::read(dir.join("pnpm-lock.yaml")).map_err(|e| e.to_string())?;
        let mut parents = Vec::new();
        for (n, v) in npm_dependents(&lock, name, from) {
            parents.push(
                npm_facts(reg, &n, &v)
                    .await?
                    .npm_release
                    .ok_or("no release")?,
            );
        }
        facts.npm_dependents = Some(parents);
        Ok::<_, String>(facts)
    };
    // Control: package.json moved without the lockfile is rejected by a frozen install.
    let control = fresh()?;
    let pj =
        std::fs::read_to_string(control.path().join("package.json")).map_err(|e| e.to_string())?;
    std::fs::write(
        control.path().join("package.json"),
        pj.replace("4.17.20", "4.17.21"),
    )
    .map_err(|e| e.to_string())?;
    if run(control.path(), "npx", &frozen, &[]).is_ok() {
        return Err(format!(
            "v{layout}: control: {pnpm} accepted package.json moved without the lockfile"
        ));
    }
    println!(
        "  pnpm v{layout}: control: package.json moved without the lockfile is rejected by {pnpm}"
    );

    let tmp = fresh()?;
    let f = facts("lodash", "4.17.21", "4.17.20", tmp.path().to_path_buf()).await?;
    apply(
        tmp.path(),
        "pnpm-lock.yaml",
        "lodash",
        ("4.17.20", "4.17.21"),
        true,
        &f,
    )
    .map_err(|e| format!("v{layout}: lodash: {e}"))?;
    run(tmp.path(), "npx", &frozen, &[])?;
    println!(
        "  pnpm v{layout}: lodash 4.17.20 -> 4.17.21 accepted by {pnpm} install --frozen-lockfile"
    );

    let tmp = fresh()?;
    let f = facts("ms", "2.1.3", "2.0.0", tmp.path().to_path_buf()).await?;
    match apply(
        tmp.path(),
        "pnpm-lock.yaml",
        "ms",
        ("2.0.0", "2.1.3"),
        false,
        &f,
    ) {
        Err(PatchError::ParentExcludes { parent, .. }) if parent == "debug" => {}
        other => {
            return Err(format!(
                "v{layout}: ms: a plain move must be refused naming debug, got {other:?}"
            ))
        }
    }
    let files = |p: &str| std::fs::read(tmp.path().join(p)).ok();
    let req = PatchRequest {
        manifest_path: "pnpm-lock.yaml",
        package: "ms",
        from: "2.0.0",
        to: "2.1.3",
        direct: false,
        files: &files,
        facts: &f,
    };
    let changes = patch_with(&req, &ParentRule::Override)
        .map_err(|e| format!("v{layout}: ms override: {e}"))?;
    for c in &changes {
        std::fs::write(tmp.path().join(&c.path), &c.content).map_err(|e| e.to_string())?;
    }
    run(tmp.path(), "npx", &frozen, &[])?;
    println!("  pnpm v{layout}: ms 2.0.0 -> 2.1.3 by pnpm.overrides accepted by {pnpm} install --frozen-lockfile");
    Ok(())
}

/// One yarn berry case of tests/data/yarn-berry/: backline patches `before/` with facts from
/// the npm registry, `yarn install --immutable --mode=skip-build` must accept the result and
/// leave it as yarn's own `after/yarn.lock` once it has filled in the dropped checksum.
async fn yarn_berry_case(
    reg: &HttpRegistry,
    case: &str,
    yarn: &str,
    package: &str,
    (from, to): (&str, &str),
    rule: ParentRule,
) -> Outcome {
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/yarn-berry")
        .join(case);
    let fresh = |lock_from: &str, pj_from: &str| -> Result<tempfile::TempDir, String> {
        let tmp = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
        std::fs::copy(
            data.join(lock_from).join("yarn.lock"),
            tmp.path().join("yarn.lock"),
        )
        .map_err(|e| format!("{case}: {e}"))?;
        std::fs::copy(
            data.join(pj_from).join("package.json"),
            tmp.path().join("package.json"),
        )
        .map_err(|e| format!("{case}: {e}"))?;
        // repo.yarnpkg.com is yarn's default registry; the npm registry serves the same packages.
        std::fs::write(
            tmp.path().join(".yarnrc.yml"),
            "npmRegistryServer: \"https://registry.npmjs.org\"\nenableGlobalCache: false\nnodeLinker: node-modules\nenableTelemetry: false\n",
        )
        .map_err(|e| e.to_string())?;
        std::fs::create_dir(tmp.path().join("home")).map_err(|e| e.to_string())?;
        Ok(tmp)
    };
    let immutable = [
        "-y",
        "-p",
        yarn,
        "yarn",
        "install",
        "--immutable",
        "--mode=skip-build",
    ];
    let install = |dir: &Path| run(dir, "npx", &immutable, &[("HOME", &dir.join("home"))]);

    // Control: package.json as after the change, the lock as before: refused.
    let control = fresh("before", "after")?;
    if case != "transitive" && install(control.path()).is_ok() {
        return Err(format!(
            "{case}: control: {yarn} accepted package.json moved without the lock"
        ));
    }
    let tmp = fresh("before", "before")?;
    let facts = npm_facts(reg, package, to).await?;
    let files = |p: &str| std::fs::read(tmp.path().join(p)).ok();
    let req = PatchRequest {
        manifest_path: "yarn.lock",
        package,
        from,
        to,
        direct: false,
        files: &files,
        facts: &facts,
    };
    let changes = patch_with(&req, &rule).map_err(|e| format!("{case}: {e}"))?;
    for c in &changes {
        std::fs::write(tmp.path().join(&c.path), &c.content).map_err(|e| e.to_string())?;
    }
    // Control: the patched lock with a wrong checksum on an entry it kept: refused.
    let wrong = fresh("before", "before")?;
    let patched =
        std::fs::read_to_string(tmp.path().join("yarn.lock")).map_err(|e| e.to_string())?;
    // The first hex digit of the first checksum (after yarn 4's `10c0/` cache key) flipped.
    let Some(i) = patched.find("  checksum: ") else {
        return Err(format!(
            "{case}: the patched lock has no checksum left to break"
        ));
    };
    let value = i + "  checksum: ".len();
    let line_end = patched[value..]
        .find('\n')
        .map_or(patched.len(), |n| value + n);
    let at = patched[value..line_end]
        .find('/')
        .map_or(value, |s| value + s + 1);
    let flip = if patched.as_bytes()[at] == b'0' {
        "1"
    } else {
        "0"
    };
    let broken = format!("{}{flip}{}", &patched[..at], &patched[at + 1..]);
    std::fs::write(wrong.path().join("yarn.lock"), broken).map_err(|e| e.to_string())?;
    std::fs::copy(
        tmp.path().join("package.json"),
        wrong.path().join("package.json"),
    )
    .map_err(|e| e.to_string())?;
    if install(wrong.path()).is_ok() {
        return Err(format!("{case}: control: {yarn} accepted a wrong checksum"));
    }
    install(tmp.path())?;
    let written =
        std::fs::read_to_string(tmp.path().join("yarn.lock")).map_err(|e| e.to_string())?;
    let want = std::fs::read_to_string(data.join("after/yarn.lock")).map_err(|e| e.to_string())?;
    if written != want {
        return Err(format!(
            "{case}: {yarn} accepted the patched lock but wrote another one than tests/data/yarn-berry/{case}/after/yarn.lock:\n{written}"
        ));
    }
    println!("  yarn berry {case}: {package} {from} -> {to} accepted by {yarn} install --immutable (controls refused)");
    Ok(())
}

fn main() -> ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let reg = match HttpRegistry::new(RegistryConfig::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("real-tool proofs: FAILED: no registry client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut results: Vec<(&str, Outcome)> = Vec::new();
    rt.block_on(async {
        results.push(("npm lockfile v1", npm_project(&reg, 1).await));
        results.push(("npm lockfile v2", npm_project(&reg, 2).await));
        results.push(("npm lockfile v3", npm_project(&reg, 3).await));
        results.push(("Cargo.lock", cargo_project(&reg).await));
        results.push(("Cargo.lock parent bump", cargo_parent_project().await));
        results.push(("requirements.txt with hashes", pip_project(&reg).await));
        results.push(("pnpm-lock.yaml v6 (pnpm 8)", pnpm_project(&reg, 6).await));
        results.push(("pnpm-lock.yaml v9 (pnpm 9)", pnpm_project(&reg, 9).await));
        let y4 = "@yarnpkg/cli-dist@4";
        let y3 = "@yarnpkg/cli-dist@3";
        let lodash = ("4.17.20", "4.17.21");
        results.push((
            "yarn berry direct (yarn 4)",
            yarn_berry_case(&reg, "direct-pin", y4, "lodash", lodash, ParentRule::Check).await,
        ));
        results.push((
            "yarn berry direct (yarn 3)",
            yarn_berry_case(
                &reg,
                "direct-pin-yarn3",
                y3,
                "lodash",
                lodash,
                ParentRule::Check,
            )
            .await,
        ));
        results.push((
            "yarn berry transitive (yarn 4)",
            yarn_berry_case(
                &reg,
                "transitive",
                y4,
                "brace-expansion",
                ("1.1.11", "1.1.12"),
                ParentRule::Check,
            )
            .await,
        ));
        results.push((
            "yarn berry resolutions (yarn 4)",
            yarn_berry_case(
                &reg,
                "override",
                y4,
                "ms",
                ("2.0.0", "2.1.3"),
                ParentRule::Override,
            )
            .await,
        ));
    });
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    for (name, r) in &results {
        match r {
            Ok(()) => println!("proof {name}: ok"),
            Err(e) => eprintln!("proof {name}: FAILED: {e}"),
        }
    }
    println!(
        "real-tool proofs: {} passed, {failed} failed",
        results.len() - failed
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
