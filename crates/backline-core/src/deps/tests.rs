//! Tests of the module's top level: format detection, dispatch, dedupe, the folder scan, and
//! a no-panic sweep over truncated inputs of every format.

use super::*;

/// One small, real-shaped sample per format (path, content).
pub(crate) const SAMPLES: &[(&str, &str)] = &[
    (
        "Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"log\",\n]\n\n\
         [[package]]\nname = \"log\"\nversion = \"0.4.21\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    ),
    (
        "package-lock.json",
        r#"{"lockfileVersion": 3, "packages": {"": {"dependencies": {"a": "^1"}}, "node_modules/a": {"version": "1.0.0", "dependencies": {"b": "^2"}}, "node_modules/a/node_modules/b": {"version": "2.0.0"}}}"#,
    ),
    (
        "requirements.txt",
        "# comment\nrequests[socks]==2.31.0 \\\n    --hash=sha256:abc\nsix>=1.0 ; python_version < \"3.8\"\n-r other.txt\n",
    ),
    (
        "yarn.lock",
        "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.1.2\"\n  dependencies:\n    debug \"^4.1.0\"\n\ndebug@^4.1.0:\n  version \"4.3.4\"\n",
    ),
    (
        "berry/yarn.lock",
        "__metadata:\n  version: 8\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n  dependencies:\n    lodash: \"npm:^4.17.21\"\n\n\"lodash@npm:^4.17.21\":\n  version: 4.17.21\n  resolution: \"lodash@npm:4.17.21\"\n",
    ),
    (
        "pnpm-lock.yaml",
        "lockfileVersion: '6.0'\ndependencies:\n  express:\n    specifier: ^4\n    version: 4.18.2\npackages:\n  /express@4.18.2:\n    dependencies:\n      qs: 6.11.0\n    dev: false\n  /qs@6.11.0:\n    dev: false\n",
    ),
    (
        "poetry.lock",
        "[[package]]\nname = \"requests\"\nversion = \"2.31.0\"\nfiles = []\n\n[package.dependencies]\ncertifi = \">=2017\"\n\n[[package]]\nname = \"certifi\"\nversion = \"2024.2.2\"\nfiles = []\n\n[metadata]\nlock-version = \"2.0\"\n",
    ),
    (
        "Pipfile.lock",
        r#"{"_meta": {"pipfile-spec": 6}, "default": {"requests": {"hashes": ["sha256:aa"], "version": "==2.31.0"}}, "develop": {"pytest": {"version": "==8.1.1"}}}"#,
    ),
    (
        "uv.lock",
        "version = 1\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\ndependencies = [\n    { name = \"idna\" },\n]\n\n[[package]]\nname = \"idna\"\nversion = \"3.6\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
    ),
    (
        "go.mod",
        "module example.com/m\n\ngo 1.22\n\nrequire (\n\tgithub.com/a/b v1.2.3\n\tgolang.org/x/net v0.17.0 // indirect\n)\n\nreplace golang.org/x/net => golang.org/x/net v0.23.0\n",
    ),
    (
        "Gemfile.lock",
        "GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.16.2-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.3)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri (~> 1.16)\n",
    ),
    (
        "composer.lock",
        r#"{"packages": [{"name": "guzzlehttp/guzzle", "version": "7.8.1", "require": {"php": ">=7", "guzzlehttp/psr7": "^2"}}, {"name": "guzzlehttp/psr7", "version": "2.6.2"}], "packages-dev": [{"name": "phpunit/phpunit", "version": "10.5.10"}]}"#,
    ),
    (
        "pom.xml",
        "<?xml version=\"1.0\"?>\n<project>\n  <version>1.0</version>\n  <properties><v>2.16.1</v></properties>\n  <dependencies>\n    <dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-databind</artifactId><version>${v}</version></dependency>\n  </dependencies>\n</project>\n",
    ),
    (
        "packages.lock.json",
        r#"{"version": 1, "dependencies": {"net8.0": {"Serilog": {"type": "Direct", "requested": "[3.1.1, )", "resolved": "3.1.1", "dependencies": {"System.Memory": "4.5.5"}}, "System.Memory": {"type": "Transitive", "resolved": "4.5.5"}}}}"#,
    ),
];

fn none(_: &str) -> Option<Vec<u8>> {
    None
}

#[test]
fn format_of_file_names() {
    use ManifestFormat::*;
    let cases = [
        ("Cargo.lock", Some(CargoLock)),
        ("a/b/package-lock.json", Some(PackageLock)),
        ("yarn.lock", Some(YarnLock)),
        ("pnpm-lock.yaml", Some(PnpmLock)),
        ("requirements.txt", Some(Requirements)),
        ("requirements-dev.txt", Some(Requirements)),
        ("requirements/prod.txt", Some(Requirements)),
        ("dev-requirements.txt", Some(Requirements)),
        ("notes.txt", None),
        ("requirements.in", None),
        ("poetry.lock", Some(PoetryLock)),
        ("Pipfile.lock", Some(PipfileLock)),
        ("uv.lock", Some(UvLock)),
        ("go.mod", Some(GoMod)),
        ("go.sum", None),
        ("Gemfile.lock", Some(GemfileLock)),
        ("composer.lock", Some(ComposerLock)),
        ("pom.xml", Some(Pom)),
        ("src/App/packages.lock.json", Some(NugetLock)),
        ("package.json", None),
        ("Cargo.toml", None),
    ];
    for (path, want) in cases {
        assert_eq!(format_of(path), want, "{path}");
    }
    assert_eq!(ManifestFormat::CargoLock.companions(), &["Cargo.toml"]);
    assert_eq!(ManifestFormat::GoMod.ecosystem(), Ecosystem::Go);
}

#[test]
fn parse_dispatches_and_reads_companions_beside_the_lock() {
    let lock = SAMPLES[0].1;
    let asked = std::cell::RefCell::new(Vec::new());
    let lookup = |p: &str| {
        asked.borrow_mut().push(p.to_string());
        (p == "sub/Cargo.toml").then(|| b"[dependencies]\n".to_vec())
    };
    let deps = parse("sub/Cargo.lock", lock.as_bytes(), &lookup).unwrap();
    assert_eq!(asked.borrow().as_slice(), ["sub/Cargo.toml"]);
    assert!(!deps[0].direct, "Cargo.toml declares nothing");
    let e = parse("README.md", b"", &none).unwrap_err();
    assert_eq!(e.file, "README.md");
}

#[test]
fn every_sample_parses_to_something() {
    for (path, content) in SAMPLES {
        let deps = parse(path, content.as_bytes(), &none).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(!deps.is_empty(), "{path}");
        let eco = format_of(path).unwrap().ecosystem();
        assert!(deps.iter().all(|d| d.ecosystem == eco), "{path}");
        // Pipfile.lock alone cannot tell direct from transitive (see pipfile.rs).
        if *path != "Pipfile.lock" {
            assert!(deps.iter().any(|d| d.direct), "{path}: {deps:?}");
        }
        assert!(
            deps.iter().all(|d| !d.direct || d.parent.is_none()),
            "{path}"
        );
    }
}

#[test]
fn crlf_and_bom_give_the_same_result() {
    for (path, content) in SAMPLES {
        let crlf = content.replace('\n', "\r\n");
        let want = parse(path, content.as_bytes(), &none).unwrap();
        let got = parse(path, crlf.as_bytes(), &none).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(got, want, "{path}");
        let bom = [b"\xEF\xBB\xBF".as_slice(), content.as_bytes()].concat();
        assert_eq!(parse(path, &bom, &none).unwrap(), want, "{path} with a BOM");
    }
}

/// UTF-16 with its byte order mark, as Windows PowerShell's `pip freeze > requirements.txt`
/// writes it (CRLF too).
fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let bom: [u8; 2] = if big_endian {
        [0xFE, 0xFF]
    } else {
        [0xFF, 0xFE]
    };
    bom.into_iter()
        .chain(text.encode_utf16().flat_map(move |u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        }))
        .collect()
}

#[test]
fn utf16_files_give_the_same_result_for_every_format() {
    for (path, content) in SAMPLES {
        let want = parse(path, content.as_bytes(), &none).unwrap();
        let crlf = content.replace('\n', "\r\n");
        for big_endian in [false, true] {
            let got = parse(path, &utf16(&crlf, big_endian), &none)
                .unwrap_or_else(|e| panic!("{path} in UTF-16 (BE: {big_endian}): {e}"));
            assert_eq!(got, want, "{path} in UTF-16 (BE: {big_endian})");
        }
    }
    // An included requirements file and a companion are decoded too.
    let files = std::collections::HashMap::from([
        ("base.txt", utf16("six==1.16.0\r\n", false)),
        ("Cargo.toml", utf16("[dependencies]\nlog = \"0.4\"\n", true)),
    ]);
    let lookup = |p: &str| files.get(p).cloned();
    let deps = parse(
        "requirements.txt",
        &utf16("-r base.txt\r\nflask==3.0.0\r\n", false),
        &lookup,
    )
    .unwrap();
    let names: Vec<(&str, Option<&str>)> = deps
        .iter()
        .map(|d| (d.name.as_str(), d.version.as_deref()))
        .collect();
    assert_eq!(names, [("six", Some("1.16.0")), ("flask", Some("3.0.0"))]);
    let lock = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"log\", \"other\"]\n\n[[package]]\nname = \"log\"\nversion = \"0.4.21\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"other\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
    let deps = parse("Cargo.lock", lock.as_bytes(), &lookup).unwrap();
    let direct: Vec<&str> = deps
        .iter()
        .filter(|d| d.direct)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(direct, ["log"], "directness from the UTF-16 Cargo.toml");
}

#[test]
fn companions_are_asked_for_beside_the_lock() {
    let cases = [
        ("a/poetry.lock", "a/pyproject.toml"),
        ("a/Pipfile.lock", "a/Pipfile"),
        ("a/composer.lock", "a/composer.json"),
        ("a/package-lock.json", "a/package.json"),
        ("a/yarn.lock", "a/package.json"),
    ];
    for (lock, companion) in cases {
        let content = SAMPLES.iter().find(|(p, _)| lock.ends_with(p)).unwrap().1;
        let asked = std::cell::RefCell::new(Vec::new());
        let lookup = |p: &str| {
            asked.borrow_mut().push(p.to_string());
            None
        };
        parse(lock, content.as_bytes(), &lookup).unwrap();
        assert_eq!(asked.borrow().as_slice(), [companion], "{lock}");
    }
    // With its Pipfile, Pipfile.lock knows what is direct.
    let lock = SAMPLES
        .iter()
        .find(|(p, _)| *p == "Pipfile.lock")
        .unwrap()
        .1;
    let lookup = |p: &str| (p == "Pipfile").then(|| b"[packages]\nrequests = \"*\"\n".to_vec());
    let deps = parse("Pipfile.lock", lock.as_bytes(), &lookup).unwrap();
    assert!(deps.iter().find(|d| d.name == "requests").unwrap().direct);
}

#[test]
fn files_wanted_lists_companions_and_nested_includes() {
    let files = std::collections::HashMap::from([("reqs/base.txt", "-r ../more.txt\na==1\n")]);
    let have = |p: &str| files.get(p).map(|s| s.as_bytes().to_vec());
    let top = b"-r reqs/base.txt\n-c constraints.txt\nb==2\n";
    assert_eq!(
        files_wanted("requirements.txt", top, &have),
        ["more.txt", "constraints.txt"]
    );
    assert_eq!(
        files_wanted("x/Cargo.lock", SAMPLES[0].1.as_bytes(), &none),
        ["x/Cargo.toml"]
    );
    assert!(files_wanted("go.mod", b"module m\n", &none).is_empty());
}

#[test]
fn dedupe_keeps_direct_and_first_place() {
    let a = Dependency::new(Ecosystem::PyPI, "Foo_Bar", Some("1".into()), false)
        .with_parent(Some("x".into()));
    let b = Dependency::new(Ecosystem::PyPI, "foo-bar", Some("1".into()), true);
    let c = Dependency::new(Ecosystem::PyPI, "foo-bar", Some("2".into()), false).with_dev(true);
    let out = dedupe(vec![a, b, c.clone(), c]);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].name, "Foo_Bar");
    assert!(out[0].direct);
    assert_eq!(out[0].parent, None);
    assert!(out[1].dev);
    let deps = parse("requirements.txt", b"a==1\nA==1\nb==1\nb==2\n", &none).unwrap();
    assert_eq!(deps.len(), 3);
}

#[test]
fn truncated_inputs_never_panic() {
    for (path, content) in SAMPLES {
        let bytes = content.as_bytes();
        for end in 0..=bytes.len() {
            let _ = parse(path, &bytes[..end], &|_| Some(bytes[..end].to_vec()));
            // A flipped byte in the middle, too.
            let mut flipped = bytes[..end].to_vec();
            if let Some(b) = flipped.get_mut(end / 2) {
                *b = b'"';
            }
            let _ = parse(path, &flipped, &none);
        }
    }
}

#[test]
fn mutated_inputs_never_panic() {
    // A small deterministic generator (xorshift); no dependency, same cases every run.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const NASTY: &[u8] = b"\"'{}[]()<>:,=@/\\#\n -\t${}\xff";
    for (path, content) in SAMPLES {
        for _ in 0..300 {
            let mut bytes = content.as_bytes().to_vec();
            for _ in 0..(1 + next() % 4) {
                if bytes.is_empty() {
                    break;
                }
                let at = (next() % bytes.len() as u64) as usize;
                let b = NASTY[(next() % NASTY.len() as u64) as usize];
                match next() % 3 {
                    0 => bytes[at] = b,
                    1 => bytes.insert(at, b),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            let _ = parse(path, &bytes, &|_| Some(bytes.clone()));
        }
    }
}

#[test]
fn scan_dir_reads_several_formats_and_skips_vendored() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, content: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    };
    for (path, content) in SAMPLES {
        write(&format!("svc/{path}"), content);
    }
    write("svc/other.txt", "extra-pkg==0.1\n");
    write("svc/Cargo.toml", "[dependencies]\nlog = \"0.4\"\n");
    write("node_modules/x/package-lock.json", "{broken");
    write("tests/fixtures/requirements.txt", "broken ^^\n");
    write("bad/requirements.txt", "ok==1\n==2\n");

    let (found, errors) = scan_dir(root, &DiscoveryRules::default());
    let files: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    let mut want: Vec<String> = SAMPLES.iter().map(|(p, _)| format!("svc/{p}")).collect();
    want.sort();
    assert_eq!(files, want);
    let get = |p: &str| &found.iter().find(|(f, _)| f == p).unwrap().1;
    let reqs = get("svc/requirements.txt");
    assert!(
        reqs.iter().any(|d| d.name == "extra-pkg"),
        "include read from disk: {reqs:?}"
    );
    assert!(get("svc/Cargo.lock")[0].direct, "Cargo.toml read from disk");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].file.as_str(), errors[0].line),
        ("bad/requirements.txt", Some(2))
    );

    // A single file works too, with companions beside it.
    let (found, errors) = scan_dir(
        &root.join("svc/requirements.txt"),
        &DiscoveryRules::default(),
    );
    assert!(errors.is_empty());
    assert_eq!(found[0].0, "requirements.txt");
    assert_eq!(found[0].1.len(), 3);

    let (found, errors) = scan_dir(&root.join("missing"), &DiscoveryRules::default());
    assert!(found.is_empty());
    assert!(errors[0].file.ends_with("missing"), "{errors:?}");
}
