//! Records npm's own audit answer for the lockfiles `tests/it/npm_audit.rs` compares backline
//! with (issue 13, "Held to"). The public registry refuses the audit POST from these machines,
//! so npm's bulk-advisory request (`POST /-/npm/v1/security/advisories/bulk`, what
//! `@npmcli/arborist`'s `audit-report.js` sends) is answered by a small server on loopback,
//! from the same GitHub advisory records (OSV JSON) in `tests/data/npm-audit/advisories/`.
//!
//! npm runs once per (lockfile, advisory) with the server answering that one advisory, so each
//! vulnerable node npm reports belongs to that advisory alone (npm's report merges the nodes
//! of every advisory of a package). The node's version comes from the lockfile npm read.
//! A yarn.lock is first turned into a package-lock.json by npm itself (`npm install
//! --package-lock-only`, which follows yarn.lock), and both must hold the same (name, version)
//! set, or the recording fails.
//!
//! `cargo run --example record_npm_audit` writes `tests/data/npm-audit/npm-audit-answer.json`;
//! with `--check` it records again and fails when npm's answer differs from the stored one
//! (`scripts/real-tool-proofs` runs that). Any failure (npm missing, npm's request not seen,
//! an npm error) exits 1 saying why.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// (package, version, advisory id).
type Triple = (String, String, String);

/// The lockfiles audited: the key the answer uses, and the fixture folder.
const PROJECTS: &[(&str, &str)] = &[
    ("npm-lockfile-v1/package-lock.json", "npm-lockfile-v1"),
    ("npm-lockfile-v2/package-lock.json", "npm-lockfile-v2"),
    ("npm-lockfile-v3/package-lock.json", "npm-lockfile-v3"),
    ("yarn-v1/yarn.lock", "yarn-v1"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One advisory as npm's bulk endpoint answers it, per package name.
struct Served {
    id: String,
    /// package name → the bulk answer's entry.
    entries: BTreeMap<String, Value>,
}

/// An OSV event list as an npm semver range: `>=introduced <fixed` or `<=last_affected`.
fn osv_range(events: &[Value]) -> Result<String, String> {
    let mut parts = Vec::new();
    let mut lower: Option<String> = None;
    for e in events {
        if let Some(v) = e.get("introduced").and_then(Value::as_str) {
            lower = (v != "0").then(|| format!(">={v}"));
        } else if let Some(v) = e.get("fixed").and_then(Value::as_str) {
            parts.push(join(lower.take(), format!("<{v}")));
        } else if let Some(v) = e.get("last_affected").and_then(Value::as_str) {
            parts.push(join(lower.take(), format!("<={v}")));
        } else {
            return Err(format!(
                "an OSV event this recorder does not translate: {e}"
            ));
        }
    }
    if let Some(l) = lower {
        parts.push(l);
    }
    if parts.is_empty() {
        parts.push("*".into());
    }
    Ok(parts.join(" || "))
}

fn join(lower: Option<String>, upper: String) -> String {
    match lower {
        Some(l) => format!("{l} {upper}"),
        None => upper,
    }
}

/// The advisory records, each as the npm registry's bulk endpoint would serve it (GitHub's
/// data: `vulnerable_versions` from the OSV ranges, several joined with ` || `).
fn load_records() -> Result<Vec<Served>, String> {
    let dir = root().join("tests/data/npm-audit/advisories");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for (n, path) in files.iter().enumerate() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let rec: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let id = rec["id"].as_str().ok_or("a record without id")?.to_string();
        let mut ranges: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in rec["affected"].as_array().into_iter().flatten() {
            if a.pointer("/package/ecosystem").and_then(Value::as_str) != Some("npm") {
                continue;
            }
            let name = a
                .pointer("/package/name")
                .and_then(Value::as_str)
                .ok_or("no name")?;
            for r in a["ranges"].as_array().into_iter().flatten() {
                let events = r["events"].as_array().ok_or("no events")?;
                ranges
                    .entry(name.to_string())
                    .or_default()
                    .push(osv_range(events)?);
            }
        }
        let severity = rec
            .pointer("/database_specific/severity")
            .and_then(Value::as_str)
            .unwrap_or("moderate")
            .to_ascii_lowercase();
        let vector = rec
            .pointer("/severity/0/score")
            .and_then(Value::as_str)
            .map(str::to_string);
        let entries = ranges
            .into_iter()
            .map(|(name, rs)| {
                let entry = json!({
                    "id": 1000 + n,
                    "url": format!("https://github.com/advisories/{id}"),
                    "title": rec["summary"],
                    "severity": severity,
                    "vulnerable_versions": rs.join(" || "),
                    "cwe": rec.pointer("/database_specific/cwe_ids").cloned().unwrap_or(json!([])),
                    "cvss": {"score": 0, "vectorString": vector},
                });
                (name, entry)
            })
            .collect();
        out.push(Served { id, entries });
    }
    if out.is_empty() {
        return Err(format!("no advisory records in {}", dir.display()));
    }
    Ok(out)
}

/// What the server answers now, and the bulk requests it saw.
#[derive(Default)]
struct State {
    /// The one advisory served (package name → entry).
    current: BTreeMap<String, Value>,
    /// The bodies of the bulk requests received.
    seen: Vec<Value>,
}

fn read_request(stream: &mut TcpStream) -> Result<(String, String, Vec<u8>), String> {
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let (mut len, mut gzip) = (0usize, false);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).map_err(|e| e.to_string())? == 0 || h.trim().is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((&h, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().map_err(|_| "bad content-length")?,
            "content-encoding" => gzip = v.trim().eq_ignore_ascii_case("gzip"),
            "transfer-encoding" => return Err("chunked request bodies are not read".into()),
            _ => {}
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .map_err(|e| format!("gzip body: {e}"))?;
        body = out;
    }
    Ok((method, path, body))
}

fn respond(stream: &mut TcpStream, status: &str, body: &Value) {
    let text = body.to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// The loopback server: the bulk advisory endpoint; everything else (packuments) 404, which
/// npm's advisory calculator takes as "no packument" and tests the range alone.
fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let (method, path, body) = match read_request(&mut stream) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("loopback registry: unreadable request: {e}");
                respond(&mut stream, "400 Bad Request", &json!({"error": e}));
                continue;
            }
        };
        if method == "POST" && path.ends_with("/-/npm/v1/security/advisories/bulk") {
            let Ok(asked) = serde_json::from_slice::<Value>(&body) else {
                respond(
                    &mut stream,
                    "400 Bad Request",
                    &json!({"error": "not JSON"}),
                );
                continue;
            };
            let mut st = state.lock().unwrap();
            let mut answer = serde_json::Map::new();
            for name in asked.as_object().into_iter().flat_map(|m| m.keys()) {
                if let Some(entry) = st.current.get(name) {
                    answer.insert(name.clone(), json!([entry]));
                }
            }
            st.seen.push(asked);
            drop(st);
            respond(&mut stream, "200 OK", &Value::Object(answer));
        } else {
            respond(&mut stream, "404 Not Found", &json!({"error": "Not found"}));
        }
    }
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Result<std::process::Output, String> {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NO_UPDATE_NOTIFIER", "1")
        .output()
        .map_err(|e| format!("`{program}` could not be started ({e}): install npm"))
}

/// The version of the node at `location` (`node_modules/a/node_modules/b`) in a lockfile.
fn version_at(lock: &Value, location: &str) -> Option<String> {
    if let Some(v) = lock.pointer("/packages").and_then(|p| p.get(location)) {
        return v["version"].as_str().map(str::to_string);
    }
    // Lockfile v1: nested `dependencies`.
    let mut node = lock;
    for name in location
        .strip_prefix("node_modules/")?
        .split("/node_modules/")
    {
        node = node.get("dependencies")?.get(name)?;
    }
    node["version"].as_str().map(str::to_string)
}

/// Every (name, version) of a package-lock's packages (v2/v3 `packages`).
fn lock_pairs(lock: &Value) -> BTreeSet<(String, String)> {
    lock["packages"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(loc, _)| !loc.is_empty())
        .filter_map(|(loc, v)| {
            let name = loc
                .rsplit_once("node_modules/")
                .map_or(loc.as_str(), |x| x.1);
            Some((name.to_string(), v["version"].as_str()?.to_string()))
        })
        .collect()
}

/// A copy of the project npm can audit: the package-lock as committed, or for a yarn.lock the
/// package-lock npm makes from it (same versions, checked).
fn prepare(fixture: &str, key: &str) -> Result<tempfile::TempDir, String> {
    let src = root().join("tests/fixtures/real-tools").join(fixture);
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    for f in ["package.json", "package-lock.json", "yarn.lock"] {
        if src.join(f).is_file() {
            std::fs::copy(src.join(f), tmp.path().join(f)).map_err(|e| e.to_string())?;
        }
    }
    if key.ends_with("yarn.lock") {
        let out = run(
            tmp.path(),
            "npm",
            &[
                "install",
                "--package-lock-only",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--registry",
                "https://registry.npmjs.org/",
            ],
        )?;
        if !out.status.success() {
            return Err(format!(
                "{key}: npm could not make a package-lock.json from yarn.lock:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let yarn = std::fs::read(src.join("yarn.lock")).map_err(|e| e.to_string())?;
        let none = |_: &str| None;
        let from_yarn: BTreeSet<(String, String)> =
            backline::deps::parse("yarn.lock", &yarn, &none)
                .map_err(|e| format!("{key}: {e}"))?
                .into_iter()
                .filter_map(|d| Some((d.name, d.version?)))
                .collect();
        let lock: Value = serde_json::from_slice(
            &std::fs::read(tmp.path().join("package-lock.json")).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let from_npm = lock_pairs(&lock);
        if from_npm != from_yarn {
            return Err(format!(
                "{key}: npm's tree differs from yarn.lock: only npm {:?}, only yarn {:?}",
                from_npm.difference(&from_yarn).collect::<Vec<_>>(),
                from_yarn.difference(&from_npm).collect::<Vec<_>>()
            ));
        }
    }
    Ok(tmp)
}

/// npm's audit of one project against one advisory: the vulnerable (package, version) pairs.
fn audit_one(
    dir: &Path,
    registry: &str,
    state: &Arc<Mutex<State>>,
    advisory: &Served,
) -> Result<BTreeSet<Triple>, String> {
    {
        let mut st = state.lock().unwrap();
        st.current = advisory.entries.clone();
        st.seen.clear();
    }
    let cache = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cache_arg = cache.path().to_string_lossy().into_owned();
    let out = run(
        dir,
        "npm",
        &[
            "audit",
            "--json",
            "--registry",
            registry,
            "--cache",
            &cache_arg,
        ],
    )?;
    let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "npm audit printed no JSON ({e}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if report.get("error").is_some() || state.lock().unwrap().seen.is_empty() {
        return Err(format!(
            "npm audit did not complete its bulk request: {report}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let lock: Value = serde_json::from_slice(
        &std::fs::read(dir.join("package-lock.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let url = format!("https://github.com/advisories/{}", advisory.id);
    let mut found = BTreeSet::new();
    for (name, vuln) in report["vulnerabilities"].as_object().into_iter().flatten() {
        // Entries whose `via` holds advisory objects are the vulnerable package itself; those
        // with only names are dependents (npm's metavulnerabilities), not findings.
        let direct = vuln["via"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["url"].as_str() == Some(&url));
        if !direct {
            continue;
        }
        for loc in vuln["nodes"].as_array().into_iter().flatten() {
            let loc = loc.as_str().ok_or("a node that is not a string")?;
            let version = version_at(&lock, loc)
                .ok_or_else(|| format!("npm named node {loc}, which the lockfile lacks"))?;
            found.insert((name.clone(), version, advisory.id.clone()));
        }
    }
    Ok(found)
}

fn record() -> Result<Value, String> {
    let records = load_records()?;
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let registry = format!(
        "http://{}/",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let state = Arc::new(Mutex::new(State::default()));
    let st = state.clone();
    std::thread::spawn(move || serve(listener, st));
    let version = |p: &str| -> Result<String, String> {
        let out = run(&root(), p, &["--version"])?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let mut projects = serde_json::Map::new();
    for (key, fixture) in PROJECTS {
        let dir = prepare(fixture, key)?;
        let mut all = BTreeSet::new();
        for advisory in &records {
            let found = audit_one(dir.path(), &registry, &state, advisory)
                .map_err(|e| format!("{key}, {}: {e}", advisory.id))?;
            all.extend(found);
        }
        println!(
            "{key}: npm reports {} (package, version, advisory)",
            all.len()
        );
        let list: Vec<Value> = all
            .into_iter()
            .map(|(p, v, a)| json!({"package": p, "version": v, "advisory": a}))
            .collect();
        projects.insert(key.to_string(), Value::Array(list));
    }
    Ok(json!({
        "made_with": format!(
            "npm {} on node {}: `npm audit --json --registry <loopback>` once per lockfile and advisory, the loopback bulk endpoint answering from tests/data/npm-audit/advisories (examples/record_npm_audit.rs)",
            version("npm")?, version("node")?
        ),
        "projects": projects,
    }))
}

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let path = root().join("tests/data/npm-audit/npm-audit-answer.json");
    let answer = match record() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("record_npm_audit: FAILED: {e}");
            return ExitCode::FAILURE;
        }
    };
    if check {
        let stored: Value = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => {
                eprintln!("record_npm_audit: FAILED: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        };
        if stored["projects"] != answer["projects"] {
            eprintln!(
                "record_npm_audit: FAILED: npm's answer today differs from {}:\nnow:    {}\nstored: {}",
                path.display(),
                answer["projects"],
                stored["projects"]
            );
            return ExitCode::FAILURE;
        }
        println!("record_npm_audit: npm's answer equals the stored one");
        return ExitCode::SUCCESS;
    }
    let text = serde_json::to_string_pretty(&answer).expect("JSON") + "\n";
    if let Err(e) = std::fs::write(&path, text) {
        eprintln!("record_npm_audit: FAILED: {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("record_npm_audit: wrote {}", path.display());
    ExitCode::SUCCESS
}
