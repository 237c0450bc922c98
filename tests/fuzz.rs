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
