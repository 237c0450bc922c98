//! Shared helpers.

use gitlab_sim::{access, GitLabSim, ProjectId, ProjectSpec, SimConfig};
use reqwest::{Client, Method, Response};
use serde_json::Value;

pub fn start() -> GitLabSim {
    GitLabSim::start(SimConfig::default()).expect("sim starts")
}

pub fn client() -> Client {
    Client::builder().no_proxy().build().expect("client")
}

/// A project `acme/app` with a few files where the bot is Developer.
pub fn project(sim: &GitLabSim) -> ProjectId {
    let bot = sim.bot_user();
    sim.with_world(|w| {
        let pid = w
            .create_project(
                ProjectSpec::new("acme", "app")
                    .file("Cargo.lock", "version = 3\n")
                    .file("web/package-lock.json", "{\"lockfileVersion\": 3}\n")
                    .file("README.md", "hello\n"),
            )
            .unwrap();
        w.add_member(pid, bot, access::DEVELOPER).unwrap();
        w.pending.clear();
        pid
    })
}

pub async fn call(sim: &GitLabSim, method: Method, path: &str, body: Option<Value>) -> Response {
    call_as(sim, sim.bot_token(), method, path, body).await
}

pub async fn call_as(
    sim: &GitLabSim,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut r = client()
        .request(method, format!("{}/api/v4{}", sim.url(), path))
        .header("PRIVATE-TOKEN", token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.expect("request answered")
}

pub async fn get(sim: &GitLabSim, path: &str) -> Response {
    call(sim, Method::GET, path, None).await
}

pub async fn json(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, v)
}

pub fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The URL of `rel` in a Link header.
pub fn link(r: &Response, rel: &str) -> Option<String> {
    let h = header(r, "link");
    h.split(", ").find_map(|part| {
        let (url, attrs) = part.split_once(">; ")?;
        (attrs == format!("rel=\"{rel}\"")).then(|| url.trim_start_matches('<').to_string())
    })
}

/// Reads `path` (an MR) until GitLab's background work on it is done: the mergeability check
/// (`preparing`/`unchecked`/`checking`) and any rebase. Panics after 10 reads.
pub async fn settled(sim: &GitLabSim, path: &str) -> Value {
    for _ in 0..10 {
        let (s, v) = json(get(sim, path).await).await;
        assert_eq!(s, 200, "{v}");
        let status = v["detailed_merge_status"].as_str().unwrap_or("");
        let pending = ["preparing", "unchecked", "checking"].contains(&status)
            || v["rebase_in_progress"] == Value::Bool(true);
        if !pending {
            return v;
        }
    }
    panic!("{path} never settled");
}
