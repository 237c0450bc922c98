//! The real `go` command against the simulator's module proxy (issue 18): gitlab-sim serves the
//! modules of `tests/data/gomod-proofs/modules/` below `/registry/goproxy` (the GOPROXY
//! protocol), and go, with `GOPROXY` pointing there and the checksum database off:
//! - downloads the build list of `tests/data/gomod-proofs/after/` (`go mod download -json`),
//!   and every `Sum` and `GoModSum` go computes equals the go.sum hashes backline's proxy
//!   client computes from the same proxy (`Registry::go_module`);
//! - accepts `after/` as committed (`go mod verify`, `go build ./...` with `-mod=readonly`);
//! - lists versions through `/@v/list` (`go list -m -versions example.com/lib`) and resolves
//!   `@latest` of the upper-case module path (case-encoded in the URL).
//!
//! `cargo run --example gomod_sim_proof` (`scripts/real-tool-proofs` runs it). Exits 1 saying
//! why when go is missing or anything differs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use backline::net::{Network, ProxySettings};
use backline::registry::{HttpRegistry, Registry, RegistryConfig};
use gitlab_sim::{GitLabSim, SimConfig};
use serde_json::Value;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gomod-proofs")
}

/// A module folder: (path, version, files relative to it with their content).
type Module = (String, String, Vec<(String, Vec<u8>)>);

/// Every `modules/<path>@<version>/` folder.
fn modules(dir: &Path, prefix: &str, out: &mut Vec<Module>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/data/gomod-proofs/modules")
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}{name}");
        match path.rsplit_once('@') {
            Some((module, version)) => {
                let mut files = Vec::new();
                for f in std::fs::read_dir(e.path()).expect("a module folder") {
                    let f = f.expect("a module file");
                    let content = std::fs::read(f.path()).expect("a module file");
                    files.push((f.file_name().to_string_lossy().into_owned(), content));
                }
                files.sort();
                out.push((module.to_string(), version.to_string(), files));
            }
            None => modules(&e.path(), &format!("{path}/"), out),
        }
    }
}

async fn go(dir: &Path, env: &[(String, String)], args: &[&str]) -> Result<String, String> {
    let out = tokio::process::Command::new("go")
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .await
        .map_err(|e| format!("go could not run ({e}); Debian/Ubuntu: apt-get install golang-go"))?;
    if !out.status.success() {
        return Err(format!(
            "`go {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn run() -> Result<String, String> {
    let sim = GitLabSim::start(SimConfig::default()).map_err(|e| e.to_string())?;
    let mut mods = Vec::new();
    modules(&data().join("modules"), "", &mut mods);
    for (path, version, files) in &mods {
        let files: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        sim.registry().add_go_module(path, version, &files);
    }
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let project = work.path().join("app");
    std::fs::create_dir_all(&project).map_err(|e| e.to_string())?;
    for (from, to) in [
        ("after/go.mod", "go.mod"),
        ("after/go.sum", "go.sum"),
        ("before/main.go", "main.go"),
    ] {
        std::fs::copy(data().join(from), project.join(to)).map_err(|e| e.to_string())?;
    }
    let proxy = format!("{}/registry/goproxy", sim.url());
    let w = work.path().display().to_string();
    let env: Vec<(String, String)> = [
        ("GOPROXY", proxy.clone()),
        ("GOSUMDB", "off".into()),
        ("GONOSUMDB", "*".into()),
        ("GOFLAGS", "-mod=readonly".into()),
        ("GO111MODULE", "on".into()),
        ("GOTOOLCHAIN", "local".into()),
        ("GOPATH", format!("{w}/gopath")),
        ("GOMODCACHE", format!("{w}/gopath/pkg/mod")),
        ("GOCACHE", format!("{w}/gocache")),
        ("NO_PROXY", "127.0.0.1,localhost".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();

    // go's hashes of everything it downloads, against the client's.
    let registry = HttpRegistry::new(RegistryConfig {
        network: Network::load(None, ProxySettings::none()).map_err(|e| e.to_string())?,
        ..RegistryConfig::simulator(sim.url())
    })
    .map_err(|e| e.to_string())?;
    let json = go(&project, &env, &["mod", "download", "-json"]).await?;
    let stream = serde_json::Deserializer::from_str(&json).into_iter::<Value>();
    let mut compared = 0;
    for doc in stream {
        let doc = doc.map_err(|e| format!("go mod download -json: {e}"))?;
        let field = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or_default();
        if !field("Error").is_empty() {
            return Err(format!(
                "go could not download {}: {}",
                field("Path"),
                field("Error")
            ));
        }
        let ours = registry
            .go_module(field("Path"), field("Version"))
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the client does not find {}", field("Path")))?;
        if ours.zip_hash != field("Sum") || ours.go_mod_hash != field("GoModSum") {
            return Err(format!(
                "{} {}: go computes {} and {}, backline {} and {}",
                field("Path"),
                field("Version"),
                field("Sum"),
                field("GoModSum"),
                ours.zip_hash,
                ours.go_mod_hash
            ));
        }
        compared += 1;
    }
    if compared != 3 {
        return Err(format!("go downloaded {compared} modules, expected 3"));
    }
    go(&project, &env, &["mod", "verify"]).await?;
    go(&project, &env, &["build", "./..."]).await?;
    let versions = go(
        &project,
        &env,
        &["list", "-m", "-versions", "example.com/lib"],
    )
    .await?;
    if versions.trim() != "example.com/lib v1.0.0 v1.0.1 v1.1.0" {
        return Err(format!("go list -m -versions example.com/lib: {versions}"));
    }
    let latest = go(&project, &env, &["list", "-m", "example.com/Upper@latest"]).await?;
    if latest.trim() != "example.com/Upper v0.1.0" {
        return Err(format!("go list -m example.com/Upper@latest: {latest}"));
    }
    let version = go(&project, &env, &["version"]).await?;
    Ok(format!(
        "{compared} modules hashed alike by go and backline; go mod verify, go build, go list through /@v/list and @latest pass ({})",
        version.trim()
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(summary) => {
            println!("gomod_sim_proof: {summary}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("gomod_sim_proof: FAILED: {why}");
            ExitCode::FAILURE
        }
    }
}
