//! The go.mod / go.sum patcher against files the real `go` wrote (tests/data/gomod-proofs/,
//! made by its make.sh with go 1.19).

use super::*;
use crate::ecosystems::gomod::dirhash;
use crate::remediation::patch::{patch, RegistryFacts};

macro_rules! proof {
    ($p:literal) => {
        include_str!(concat!("../../../../../../tests/data/gomod-proofs/", $p))
    };
}

/// A module of tests/data/gomod-proofs/modules/ as the fixer hands it to the patcher: its
/// go.mod and the hashes dirhash computes (over the files under their zip names).
fn module(path: &str, version: &str, files: &[(&str, &str)]) -> GoModule {
    let go_mod = files
        .iter()
        .find(|(n, _)| *n == "go.mod")
        .map(|(_, c)| c.to_string())
        .unwrap();
    let zipped: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, c)| (format!("{path}@{version}/{n}"), c.as_bytes().to_vec()))
        .collect();
    GoModule {
        path: path.into(),
        version: version.into(),
        zip_hash: dirhash::hash1(&zipped).unwrap(),
        go_mod_hash: dirhash::hash_go_mod(go_mod.as_bytes()),
        go_mod,
    }
}

fn lib_1_0_1() -> GoModule {
    module(
        "example.com/lib",
        "v1.0.1",
        &[
            ("go.mod", proof!("modules/example.com/lib@v1.0.1/go.mod")),
            ("lib.go", proof!("modules/example.com/lib@v1.0.1/lib.go")),
        ],
    )
}

fn lib_1_1_0() -> GoModule {
    module(
        "example.com/lib",
        "v1.1.0",
        &[
            ("go.mod", proof!("modules/example.com/lib@v1.1.0/go.mod")),
            ("lib.go", proof!("modules/example.com/lib@v1.1.0/lib.go")),
        ],
    )
}

fn run(
    go_mod: &str,
    go_sum: Option<&str>,
    from: &str,
    to: &str,
    m: GoModule,
) -> Result<(String, String), PatchError> {
    let (go_mod, go_sum) = (go_mod.to_string(), go_sum.map(str::to_string));
    let files = move |p: &str| match p {
        "svc/go.mod" => Some(go_mod.clone().into_bytes()),
        "svc/go.sum" => go_sum.clone().map(String::into_bytes),
        _ => None,
    };
    let facts = RegistryFacts {
        go_module: Some(m),
        ..Default::default()
    };
    let req = PatchRequest {
        manifest_path: "svc/go.mod",
        package: "example.com/lib",
        from,
        to,
        direct: true,
        files: &files,
        facts: &facts,
    };
    let changes = patch(&req)?;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].path, "svc/go.mod");
    assert_eq!(changes[1].path, "svc/go.sum");
    Ok((
        String::from_utf8(changes[0].content.clone()).unwrap(),
        String::from_utf8(changes[1].content.clone()).unwrap(),
    ))
}

#[test]
fn dirhash_agrees_with_the_go_sum_lines_go_wrote() {
    // Every h1 in go's go.sum files, from the module files as they are zipped.
    let sums = format!("{}{}", proof!("before/go.sum"), proof!("after/go.sum"));
    let mods = [
        module(
            "example.com/Upper",
            "v0.1.0",
            &[
                ("go.mod", proof!("modules/example.com/Upper@v0.1.0/go.mod")),
                (
                    "upper.go",
                    proof!("modules/example.com/Upper@v0.1.0/upper.go"),
                ),
            ],
        ),
        module(
            "example.com/lib",
            "v1.0.0",
            &[
                ("go.mod", proof!("modules/example.com/lib@v1.0.0/go.mod")),
                ("lib.go", proof!("modules/example.com/lib@v1.0.0/lib.go")),
            ],
        ),
        lib_1_0_1(),
        module(
            "example.com/util",
            "v1.2.0",
            &[
                ("go.mod", proof!("modules/example.com/util@v1.2.0/go.mod")),
                ("util.go", proof!("modules/example.com/util@v1.2.0/util.go")),
            ],
        ),
    ];
    for m in mods {
        let zip_line = format!("{} {} {}", m.path, m.version, m.zip_hash);
        let mod_line = format!("{} {}/go.mod {}", m.path, m.version, m.go_mod_hash);
        assert!(sums.lines().any(|l| l == zip_line), "{zip_line}");
        assert!(sums.lines().any(|l| l == mod_line), "{mod_line}");
    }
}

#[test]
fn the_move_equals_go_get_and_tidy_byte_for_byte() {
    let (go_mod, go_sum) = run(
        proof!("before/go.mod"),
        Some(proof!("before/go.sum")),
        "1.0.0",
        "1.0.1",
        lib_1_0_1(),
    )
    .unwrap();
    assert_eq!(go_mod, proof!("after/go.mod"));
    assert_eq!(go_sum, proof!("after/go.sum"));
}

#[test]
fn a_requirement_above_go_mods_is_refused_with_the_chain() {
    let e = run(
        proof!("before/go.mod"),
        Some(proof!("before/go.sum")),
        "1.0.0",
        "1.1.0",
        lib_1_1_0(),
    )
    .unwrap_err();
    assert_eq!(
        e.reason(),
        "example.com/lib v1.1.0 requires example.com/util v1.3.0 (go.mod has v1.2.0): go's minimal version selection would raise them too, and backline moves one module at a time; run `go get example.com/lib@v1.1.0` (it moves them together)"
    );
}

#[test]
fn single_line_requires_keep_comments_and_quotes_and_crlf() {
    let go_mod = "module m\r\n\r\ngo 1.21\r\n\r\nrequire \"example.com/lib\" v1.0.0 // indirect; see v1.0.0 notes\r\nrequire example.com/util v1.2.0\r\n";
    let go_sum = "example.com/lib v1.0.0 h1:a=\r\nexample.com/lib v1.0.0/go.mod h1:b=\r\nexample.com/util v1.2.0 h1:c=\r\n";
    let (m, s) = run(go_mod, Some(go_sum), "1.0.0", "1.0.1", lib_1_0_1()).unwrap();
    assert_eq!(
        m,
        go_mod.replace(
            "\"example.com/lib\" v1.0.0 // indirect; see v1.0.0 notes",
            "\"example.com/lib\" v1.0.1 // indirect; see v1.0.0 notes"
        )
    );
    let lib = lib_1_0_1();
    assert_eq!(
        s,
        format!(
            "example.com/lib v1.0.1 {}\r\nexample.com/lib v1.0.1/go.mod {}\r\nexample.com/util v1.2.0 h1:c=\r\n",
            lib.zip_hash, lib.go_mod_hash
        )
    );
}

#[test]
fn replaces_excludes_and_old_go_lines_are_refused_with_the_reason() {
    let base =
        "module m\n\ngo 1.21\n\nrequire example.com/lib v1.0.0\nrequire example.com/util v1.2.0\n";
    let sum = "example.com/lib v1.0.0 h1:a=\n";
    let refused = |extra: &str| {
        run(
            &format!("{base}{extra}"),
            Some(sum),
            "1.0.0",
            "1.0.1",
            lib_1_0_1(),
        )
        .unwrap_err()
        .reason()
    };
    let local = refused("replace example.com/lib => ../lib\n");
    assert!(local.contains("the folder ../lib"), "{local}");
    let old = refused("replace example.com/lib v1.0.0 => example.com/fork v1.0.0\n");
    assert!(
        old.contains(
            "a replace of example.com/lib v1.0.0 (the old version) that would no longer apply"
        ),
        "{old}"
    );
    let every = refused("replace example.com/lib => example.com/fork v1.0.0\n");
    assert!(
        every.contains("every version of example.com/lib"),
        "{every}"
    );
    // A replace of another version does not apply.
    assert!(run(
        &format!("{base}replace example.com/lib v0.9.0 => ../old\n"),
        Some(sum),
        "1.0.0",
        "1.0.1",
        lib_1_0_1()
    )
    .is_ok());
    let excluded = refused("exclude example.com/lib v1.0.1\n");
    assert!(
        excluded.contains("excludes example.com/lib v1.0.1"),
        "{excluded}"
    );
    let excluded_dep = refused("exclude example.com/util v1.2.0\n");
    assert!(
        excluded_dep.contains("which go.mod excludes"),
        "{excluded_dep}"
    );
    let old_go = run(
        &base.replace("go 1.21", "go 1.16"),
        Some(sum),
        "1.0.0",
        "1.0.1",
        lib_1_0_1(),
    )
    .unwrap_err()
    .reason();
    assert!(old_go.contains("not pruned"), "{old_go}");
    let newer_go = run(
        &base.replace("go 1.21", "go 1.17"),
        Some(sum),
        "1.0.0",
        "1.0.1",
        GoModule {
            go_mod: "module example.com/lib\n\ngo 1.22\n".into(),
            ..lib_1_0_1()
        },
    )
    .unwrap_err()
    .reason();
    assert!(
        newer_go.contains("declares go 1.22, above svc/go.mod's go 1.17"),
        "{newer_go}"
    );
    let no_sum = run(base, None, "1.0.0", "1.0.1", lib_1_0_1())
        .unwrap_err()
        .reason();
    assert!(no_sum.contains("svc/go.sum is missing"), "{no_sum}");
    let wrong = run(base, Some(sum), "1.0.0", "1.0.1", lib_1_1_0())
        .unwrap_err()
        .reason();
    assert!(wrong.contains("was not fetched"), "{wrong}");
    let absent = run(base, Some(sum), "0.9.0", "1.0.1", lib_1_0_1())
        .unwrap_err()
        .reason();
    assert!(
        absent.contains("does not require example.com/lib v0.9.0"),
        "{absent}"
    );
}

#[test]
fn unpruned_new_versions_need_their_requirements_go_mod_lines() {
    let base = "module m\n\ngo 1.21\n\nrequire example.com/lib v1.0.0\n";
    let old_lib = GoModule {
        go_mod: "module example.com/lib\n\nrequire example.com/util v1.2.0\n".into(),
        ..lib_1_0_1()
    };
    let e = run(
        base,
        Some("example.com/lib v1.0.0 h1:a=\n"),
        "1.0.0",
        "1.0.1",
        old_lib.clone(),
    )
    .unwrap_err()
    .reason();
    assert!(
        e.contains("go.sum has no go.mod hash of example.com/util v1.2.0"),
        "{e}"
    );
    let with_line = "example.com/lib v1.0.0 h1:a=\nexample.com/util v1.2.0/go.mod h1:u=\n";
    assert!(run(base, Some(with_line), "1.0.0", "1.0.1", old_lib).is_ok());
}

#[test]
fn broken_files_are_findings_with_the_line_and_never_panic() {
    let bad = "module m\n\ngo 1.21\n\nrequire (\n\texample.com/lib\n)\n";
    let files = |p: &str| (p == "go.mod").then(|| bad.as_bytes().to_vec());
    let facts = RegistryFacts {
        go_module: Some(lib_1_0_1()),
        ..Default::default()
    };
    let req = PatchRequest {
        manifest_path: "go.mod",
        package: "example.com/lib",
        from: "1.0.0",
        to: "1.0.1",
        direct: true,
        files: &files,
        facts: &facts,
    };
    match patch(&req) {
        Err(PatchError::Unreadable(e)) => assert_eq!(e.line, Some(6), "{e}"),
        other => panic!("{other:?}"),
    }
    let e = run(
        proof!("before/go.mod"),
        Some("example.com/lib v1.0.0\n"),
        "1.0.0",
        "1.0.1",
        lib_1_0_1(),
    )
    .unwrap_err();
    assert!(
        matches!(&e, PatchError::Unreadable(p) if p.line == Some(1)),
        "{e:?}"
    );
    crate::remediation::patch::assert_no_panic(
        "go.mod",
        proof!("before/go.mod"),
        "example.com/lib",
        "1.0.0",
        "1.0.1",
        &facts,
    );
}
