//! Property-based fuzzing (proptest, stable Rust) of everything that reads outside input: hook
//! classification and parsing, every lockfile parser, the command parser, signature
//! verification. Each target must return a value or an error, never panic, for any input.
//!
//! CI runs the default number of cases; a long run: `PROPTEST_CASES=200000 cargo test --release
//! --test fuzz` (figures in RELIABILITY.md).

use std::time::Duration;

use backline::gitlab::hooks::{classify, parse};
use backline::http::verify::{SigningKey, Verifier, VerifyHeaders};
use backline::secret::Secret;
use proptest::prelude::*;

const EVENTS: [&str; 6] = [
    "Push Hook",
    "Merge Request Hook",
    "Note Hook",
    "System Hook",
    "Tag Push Hook",
    "Pipeline Hook",
];

const MANIFESTS: [&str; 14] = [
    "Cargo.lock",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "requirements.txt",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "go.mod",
    "Gemfile.lock",
    "composer.lock",
    "pom.xml",
    "packages.lock.json",
    "requirements/dev.txt",
];

fn example(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/examples/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A file of tests/data/gomod-proofs/ (go.mod and go.sum written by `go`).
fn gomod_proof(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/gomod-proofs/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn proof(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/lockfile-proofs/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A module zip as a proxy serves it (two deflated files).
fn module_zip() -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in [
        ("go.mod", "module example.com/lib\n"),
        ("lib.go", "package lib\n"),
    ] {
        z.start_file(format!("example.com/lib@v1.0.1/{name}"), opts)
            .unwrap();
        z.write_all(content.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    buf.into_inner()
}

/// Patches Newtonsoft.Json 12.0.3 → 13.0.1 in `lock` with `csproj` as its project file: an
/// answer (edits or a reason), never a panic; a broken project file is a positioned error.
fn nuget_patch(lock: &[u8], csproj: &[u8]) {
    use backline::remediation::patch::{patch, PatchError, PatchRequest, RegistryFacts};
    let facts = RegistryFacts {
        nuget_release: Some(backline::registry::NugetRelease {
            id: "Newtonsoft.Json".into(),
            version: "13.0.1".into(),
            content_hash: "aGFzaA==".into(),
            dependency_groups: Vec::new(),
        }),
        nuget_project_files: vec!["App.csproj".into()],
        ..Default::default()
    };
    let files = |p: &str| match p {
        "packages.lock.json" => Some(lock.to_vec()),
        "App.csproj" => Some(csproj.to_vec()),
        _ => None,
    };
    let req = PatchRequest {
        manifest_path: "packages.lock.json",
        package: "Newtonsoft.Json",
        from: "12.0.3",
        to: "13.0.1",
        direct: true,
        files: &files,
        facts: &facts,
    };
    if let Err(PatchError::Unreadable(e)) = patch(&req) {
        assert!(e.line.is_some() || e.file == "packages.lock.json", "{e}");
    }
}

/// Bytes that look like the real thing often enough to go deep: a real payload with a few bytes
/// changed, cut, or duplicated.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len().max(1);
    (
        proptest::collection::vec((0..len, any::<u8>()), 0..8),
        0..=len,
    )
        .prop_map(move |(edits, cut)| {
            let mut b = base.clone();
            for (at, byte) in edits {
                if at < b.len() {
                    b[at] = byte;
                }
            }
            b.truncate(cut);
            b
        })
}

fn berry_lock() -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/yarn-berry/transitive/before/yarn.lock",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// brace-expansion 1.1.11 -> 1.1.12 in `lock` (the real manifest's dependencies).
fn patch_berry(
    lock: &[u8],
) -> Result<Vec<backline::remediation::patch::FileChange>, backline::remediation::patch::PatchError>
{
    use backline::remediation::patch::{patch, PatchRequest, RegistryFacts};
    let release = backline::registry::NpmRelease {
        name: "brace-expansion".into(),
        version: "1.1.12".into(),
        dependencies: [("balanced-match", "^1.0.0"), ("concat-map", "0.0.1")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        integrity: String::new(),
        shasum: None,
        tarball: String::new(),
        optional_dependencies: Default::default(),
        peer_dependencies: Default::default(),
    };
    let facts = RegistryFacts {
        npm_release: Some(release),
        ..Default::default()
    };
    let files = |p: &str| (p == "yarn.lock").then(|| lock.to_vec());
    patch(&PatchRequest {
        manifest_path: "yarn.lock",
        package: "brace-expansion",
        from: "1.1.11",
        to: "1.1.12",
        direct: false,
        files: &files,
        facts: &facts,
    })
}

#[test]
fn the_berry_fuzz_target_patches_the_unmutated_lock() {
    let changes = patch_berry(&berry_lock()).unwrap();
    assert!(String::from_utf8_lossy(&changes[0].content).contains("version: 1.1.12"));
}

fn classify_then_parse(event: &str, body: &[u8]) {
    if let Ok(c) = classify(event, body) {
        let _ = parse(c.kind, body);
    }
}

proptest! {
    #[test]
    fn hooks_arbitrary_bytes(event in proptest::sample::select(&EVENTS[..]), body in proptest::collection::vec(any::<u8>(), 0..512)) {
        classify_then_parse(event, &body);
    }

    #[test]
    fn hooks_mutated_push(body in mutated(example("push.json"))) {
        classify_then_parse("Push Hook", &body);
    }

    #[test]
    fn hooks_mutated_merge_request(body in mutated(example("merge-request-open.json"))) {
        classify_then_parse("Merge Request Hook", &body);
    }

    #[test]
    fn hooks_mutated_note(body in mutated(example("note-merge-request.json"))) {
        classify_then_parse("Note Hook", &body);
    }

    #[test]
    fn go_patcher_and_module_zips(go_mod in mutated(gomod_proof("before/go.mod")), go_sum in mutated(gomod_proof("before/go.sum")), zip_bytes in mutated(module_zip())) {
        use backline::remediation::patch::{patch, PatchRequest, RegistryFacts};
        let facts = RegistryFacts {
            go_module: Some(backline::registry::GoModule {
                path: "example.com/lib".into(),
                version: "v1.0.1".into(),
                go_mod: String::from_utf8_lossy(&go_mod).into_owned(),
                zip_hash: "h1:x=".into(),
                go_mod_hash: "h1:y=".into(),
            }),
            ..Default::default()
        };
        let files = |p: &str| match p {
            "go.mod" => Some(go_mod.clone()),
            "go.sum" => Some(go_sum.clone()),
            _ => None,
        };
        let req = PatchRequest { manifest_path: "go.mod", package: "example.com/lib", from: "1.0.0", to: "1.0.1", direct: true, files: &files, facts: &facts };
        let _ = patch(&req);
        // A broken zip is an error; inflating stops at the limit.
        let _ = backline_core::ecosystems::gomod::dirhash::hash_zip(&zip_bytes, 4096);
    }

    #[test]
    fn lockfile_parsers_arbitrary_bytes(path in proptest::sample::select(&MANIFESTS[..]), body in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = backline::deps::parse(path, &body, &|_| None);
    }

    #[test]
    fn lockfile_parsers_text_like(path in proptest::sample::select(&MANIFESTS[..]), body in "[ -~\n\t\\[\\]{}\"=:,]{0,600}") {
        let _ = backline::deps::parse(path, body.as_bytes(), &|p| Some(format!("# {p}\n").into_bytes()));
    }

    /// Issue 18: the yarn berry patcher on a lock yarn 4 wrote with a few bytes changed or cut:
    /// a patch or an error, never a panic.
    #[test]
    fn yarn_berry_patcher_mutated_lock(body in mutated(berry_lock())) {
        let _ = patch_berry(&body);
    }

    #[test]
    fn nuget_patch_mutated_lock_and_project(
        lock in mutated(proof("nuget/subdependencies-before/packages.lock.json")),
        csproj in mutated(proof("nuget/subdependencies-before/App.csproj")),
    ) {
        nuget_patch(&lock, &csproj);
    }

    #[test]
    fn command_parser(body in "(/[bB]ackline( [a-z]{0,9}){0,3}|```|~~~|> |    |[ -~]{0,20})(\n(/backline( [a-z]{0,9}){0,3}|```|[ -~]{0,20})){0,12}") {
        let commands = backline::commands::parse(&body);
        // Every command comes from a line that starts with /backline.
        prop_assert!(commands.len() <= body.lines().count());
    }

    #[test]
    fn signatures_never_pass_by_chance(id in "[a-zA-Z0-9_-]{0,40}", ts in any::<i64>(), sig in "[ -~]{0,200}", token in proptest::option::of("[ -~]{0,64}"), body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let key = SigningKey::from_token("whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=").unwrap();
        let verifier = Verifier::new(&[Secret::new("the-real-secret")], vec![key], Duration::from_secs(300), false);
        let ts_text = ts.to_string();
        let headers = VerifyHeaders {
            gitlab_token: token.as_deref(),
            webhook_id: Some(&id),
            webhook_timestamp: Some(&ts_text),
            webhook_signature: Some(&sig),
        };
        prop_assert!(verifier.verify(&headers, &body, 1_764_000_000).is_err());
        let token_only = VerifyHeaders { gitlab_token: token.as_deref(), ..Default::default() };
        let result = verifier.verify(&token_only, &body, 1_764_000_000);
        prop_assert_eq!(result.is_ok(), token.as_deref() == Some("the-real-secret"));
    }
}
