//! Package registries served beside the GitLab API, for the remediation planner's tests:
//!
//! - `GET /registry/crates/config.json` and `GET /registry/crates/:path`: a crates.io sparse
//!   index (`1/a`, `2/ab`, `3/a/abc`, `se/rd/serde`; one JSON object a line);
//! - `GET /registry/npm/:name`: npm packuments (`@scope%2fname` or `@scope/name`);
//! - `GET /registry/pypi/pypi/:name/json` and `GET /registry/pypi/pypi/:name/:version/json`:
//!   PyPI's JSON API (warehouse's `warehouse/legacy/api/json.py`: `info`, `urls` with
//!   digests, size and upload time, and `releases` in the project document);
//! - `GET /registry/rubygems/api/v2/rubygems/:name/versions/:version.json`: one gem version
//!   as rubygems.org's `Api::V2::RubygemsController#show` answers it (app/controllers/api/v2/
//!   rubygems_controller.rb: `name`, `version`, `platform`, `sha`, `dependencies`);
//! - `GET /registry/packagist/p2/:vendor/:name.json`: Packagist's Composer v2 metadata (a
//!   `packages` map of minified version lists, `"minified": "composer/2.0"`), served as given;
//! - `GET /registry/goproxy/<module>/@v/{list,<v>.info,<v>.mod,<v>.zip}` and `@latest`: a Go
//!   module proxy (see [`crate::goproxy`]).
//! - NuGet's v3 server API below `/registry/nuget/` ([`crate::nuget_registry`]): the service
//!   index, registrations (pages inlined or fetched), catalog leaves and the flat container.
//!
//! Requests are recorded under those route names and obey the fault table like the API.
//! [`SimRegistry::with_defaults`] holds the packages the generator's projects use (`regex`
//! 1.5.4–1.5.6 and its dependencies, `lodash` 4.17.20/4.17.21, `jinja2` 2.10/2.11.3, ...);
//! tests add more with the `add_*` methods.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::api::{err, Body, Reply};

#[derive(Debug, Default)]
pub(crate) struct Data {
    base_url: String,
    /// Index lines by lower-case crate name.
    crates: BTreeMap<String, Vec<Value>>,
    /// Packuments by name.
    npm: BTreeMap<String, Value>,
    /// Version documents by PEP 503 name, in the order added.
    pypi: BTreeMap<String, Vec<Value>>,
    /// RubyGems v2 version documents by gem name.
    gems: BTreeMap<String, Vec<Value>>,
    /// Packagist p2 documents (served as given) by lower-case `vendor/name`.
    packagist: BTreeMap<String, String>,
    /// Go modules served by the module proxy.
    go: crate::goproxy::Modules,
    /// NuGet package versions by lower-case id.
    pub(crate) nuget: BTreeMap<String, Vec<crate::nuget_registry::NugetPackage>>,
}

/// The simulator's package registries (shared; cloning gives another handle).
#[derive(Debug, Clone, Default)]
pub struct SimRegistry {
    inner: Arc<Mutex<Data>>,
}

/// A SHA-256 hex digest standing in for a file the simulator does not serve.
pub fn fake_digest(what: &str) -> String {
    Sha256::digest(what.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn pep503(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The sparse-index path of a crate name.
fn index_path(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    if !n.is_ascii() {
        return String::new();
    }
    match n.len() {
        0 => String::new(),
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    }
}

impl SimRegistry {
    /// An empty registry whose URLs (tarballs, `dl`) start at `base_url`.
    pub fn new(base_url: &str) -> Self {
        let r = SimRegistry::default();
        r.lock().base_url = base_url.trim_end_matches('/').to_string();
        r
    }

    /// A registry with the packages the generator's projects use.
    pub fn with_defaults(base_url: &str) -> Self {
        let r = Self::new(base_url);
        r.add_defaults();
        r
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a raw sparse-index line (an object with `name`, `vers`, `deps`, `cksum`, ...).
    pub fn add_crate_line(&self, line: Value) {
        let name = line
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        self.lock().crates.entry(name).or_default().push(line);
    }

    /// Adds a crate version; `deps` are `(name, req, kind, optional)` with kind `normal`,
    /// `dev` or `build`.
    pub fn add_crate(
        &self,
        name: &str,
        version: &str,
        cksum: &str,
        deps: &[(&str, &str, &str, bool)],
        yanked: bool,
    ) {
        let deps: Vec<Value> = deps
            .iter()
            .map(|(n, req, kind, optional)| {
                json!({"name": n, "req": req, "features": [], "optional": optional,
                       "default_features": true, "target": null, "kind": kind})
            })
            .collect();
        self.add_crate_line(json!({
            "name": name, "vers": version, "deps": deps, "cksum": cksum,
            "features": {}, "yanked": yanked, "v": 2
        }));
    }

    /// Adds an npm version (it becomes `latest` when it is the highest added so far by
    /// insertion; set `latest` with [`SimRegistry::set_npm_latest`]).
    pub fn add_npm(
        &self,
        name: &str,
        version: &str,
        integrity: &str,
        shasum: &str,
        dependencies: &[(&str, &str)],
    ) {
        let mut d = self.lock();
        let base = d.base_url.clone();
        let file = name.rsplit('/').next().unwrap_or(name);
        let doc = d.npm.entry(name.to_string()).or_insert_with(
            || json!({"_id": name, "name": name, "dist-tags": {}, "versions": {}, "time": {}}),
        );
        let deps: serde_json::Map<String, Value> = dependencies
            .iter()
            .map(|(n, r)| (n.to_string(), json!(r)))
            .collect();
        if let Some(vs) = doc.get_mut("versions").and_then(Value::as_object_mut) {
            vs.insert(
                version.to_string(),
                json!({
                    "name": name, "version": version, "dependencies": deps,
                    "dist": {"integrity": integrity, "shasum": shasum,
                             "tarball": format!("{base}/registry/npm/{name}/-/{file}-{version}.tgz")}
                }),
            );
        }
        doc["dist-tags"]["latest"] = json!(version);
    }

    /// Sets an npm package's `dist-tags.latest`.
    pub fn set_npm_latest(&self, name: &str, version: &str) {
        if let Some(doc) = self.lock().npm.get_mut(name) {
            doc["dist-tags"]["latest"] = json!(version);
        }
    }

    /// Adds a PyPI version with its files `(filename, sha256)`; the last added is the
    /// project's `info.version`.
    pub fn add_pypi(
        &self,
        name: &str,
        version: &str,
        files: &[(&str, &str)],
        requires_dist: &[&str],
    ) {
        let base = self.lock().base_url.clone();
        let urls: Vec<Value> = files
            .iter()
            .map(|(f, h)| {
                // The fields of warehouse's `urls[]` (warehouse/legacy/api/json.py):
                // size and upload time too, which uv.lock records.
                json!({"filename": f, "digests": {"sha256": h},
                       "packagetype": if f.ends_with(".whl") { "bdist_wheel" } else { "sdist" },
                       "size": 1000 + f.len(), "upload_time_iso_8601": "2024-01-02T03:04:05.678901Z",
                       "url": format!("{base}/registry/pypi/files/{f}"), "yanked": false})
            })
            .collect();
        let doc = json!({
            "info": {"name": name, "version": version,
                     "requires_dist": if requires_dist.is_empty() { Value::Null } else { json!(requires_dist) }},
            "urls": urls,
        });
        self.lock().pypi.entry(pep503(name)).or_default().push(doc);
    }

    /// Adds a PyPI version from a whole JSON API document (`/pypi/<name>/<version>/json`, as
    /// PyPI answers it: `info` with `name`, `version`, `requires_dist`, `requires_python`, and
    /// `urls`), served as given; the last added is the project's `info.version`.
    pub fn add_pypi_document(&self, doc: Value) {
        let name = doc
            .pointer("/info/name")
            .and_then(Value::as_str)
            .map(pep503)
            .unwrap_or_default();
        self.lock().pypi.entry(name).or_default().push(doc);
    }

    /// Adds a RubyGems version (`ruby` platform) with the `.gem` file's SHA-256 and its
    /// runtime dependencies `(name, requirements)`.
    pub fn add_gem(&self, name: &str, version: &str, sha256: &str, runtime: &[(&str, &str)]) {
        let runtime: Vec<Value> = runtime
            .iter()
            .map(|(n, r)| json!({"name": n, "requirements": r}))
            .collect();
        self.add_gem_document(json!({
            "name": name, "version": version, "platform": "ruby", "sha": sha256,
            "number": version, "prerelease": false,
            "dependencies": {"development": [], "runtime": runtime},
        }));
    }

    /// Adds a RubyGems version from a whole v2 document, served as given.
    pub fn add_gem_document(&self, doc: Value) {
        let name = doc
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.lock().gems.entry(name).or_default().push(doc);
    }

    /// Serves a Packagist p2 document (its text, as Packagist minifies it) for `name`.
    pub fn add_packagist_document(&self, name: &str, text: &str) {
        self.lock()
            .packagist
            .insert(name.to_ascii_lowercase(), text.to_string());
    }

    /// Serves the Go module `path` at `version` (`v1.2.3`) with `files` (names relative to the
    /// module root; `go.mod` among them is also the `.mod` answer).
    pub fn add_go_module(&self, path: &str, version: &str, files: &[(&str, &[u8])]) {
        self.lock().go.add(path, version, files);
    }

    fn add_defaults(&self) {
        let n = "normal";
        let regex_deps = |syntax: &'static str| {
            [
                ("aho-corasick", "^0.7.18", n, true),
                ("memchr", "^2.4.0", n, true),
                ("regex-syntax", syntax, n, false),
                ("lazy_static", "^1", "dev", false),
                ("quickcheck", "^1.0.3", "dev", false),
            ]
        };
        self.add_crate(
            "regex",
            "1.5.4",
            "d07a8629359eb56f1e2fb1652bb04212c072a87ba68546a04065d525673ac461",
            &regex_deps("^0.6.25"),
            false,
        );
        self.add_crate(
            "regex",
            "1.5.5",
            "1a11647b6b25ff05a515cb92c365cec08801e83423a235b51e231e1808747286",
            &regex_deps("^0.6.25"),
            false,
        );
        self.add_crate(
            "regex",
            "1.5.6",
            "d83f127d94bdbcda4c8cc2e50f6f84f4b611f69c902699ca385a39c3a75f9ff1",
            &regex_deps("^0.6.26"),
            false,
        );
        self.add_crate(
            "aho-corasick",
            "0.7.18",
            "1e37cfd5e7657ada45f742d6e99ca5788580b5c529dc78faf11ece6dc702656f",
            &[("memchr", "^2.4.0", n, false)],
            false,
        );
        self.add_crate(
            "memchr",
            "2.4.1",
            "308cc39be01b73d0d18f82a0e7b2a3df85245f84af96fdddc5d202d27e47b86a",
            &[("libc", "^0.2.18", n, true)],
            false,
        );
        self.add_crate(
            "memchr",
            "2.5.0",
            "2dffe52ecf27772e601905b7522cb4ef790d2cc203488bbd0e2fe85fcb74566d",
            &[("libc", "^0.2.18", n, true)],
            false,
        );
        self.add_crate(
            "regex-syntax",
            "0.6.25",
            "f497285884f3fcff424ffc933e56d7cbca511def0c9831a7f9b5f6153e3cc89b",
            &[],
            false,
        );
        self.add_crate(
            "regex-syntax",
            "0.6.26",
            "49b3de9ec5dc0a3417da371aab17d729997c15010e7fd24ff707773a33bddb64",
            &[],
            false,
        );
        self.add_crate(
            "serde",
            "1.0.136",
            "ce31e24b01e1e524df96f1c2fdd054405f8d7376249a5110886fb4b658484789",
            &[("serde_derive", "=1.0.136", n, true)],
            false,
        );

        self.add_npm("lodash", "4.17.20", "sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA==", "b44a9b6297bcb698f1c51a3545a2b3b368d59c52", &[]);
        self.add_npm("lodash", "4.17.21", "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==", "679591c564c3bffaae8454cf0b3df370c3d6911c", &[]);

        let markup = ["MarkupSafe (>=0.23)", "Babel (>=0.8) ; extra == 'i18n'"];
        self.add_pypi(
            "Jinja2",
            "2.10",
            &[
                (
                    "Jinja2-2.10-py2.py3-none-any.whl",
                    "74c935a1b8bb9a3947c50a54766a969d4846290e1e788ea44c1392163723c3bd",
                ),
                (
                    "Jinja2-2.10.tar.gz",
                    "f84be1bb0040caca4cea721fcbbbbd61f9be9464ca236387158b0feea01914a4",
                ),
            ],
            &markup,
        );
        self.add_pypi(
            "Jinja2",
            "2.11.3",
            &[
                (
                    "Jinja2-2.11.3-py2.py3-none-any.whl",
                    "03e47ad063331dd6a3f04a43eddca8a966a26ba0c5b7207a9a9e4e08f1b29419",
                ),
                (
                    "Jinja2-2.11.3.tar.gz",
                    "a6d58433de0ae800347cab1fa3043cebbabe8baa9d29e668f1c768cb87a333c6",
                ),
            ],
            &markup,
        );
        for v in ["3.2.0", "3.2.25"] {
            let whl = format!("Django-{v}-py3-none-any.whl");
            let sdist = format!("Django-{v}.tar.gz");
            self.add_pypi(
                "Django",
                v,
                &[(&whl, &fake_digest(&whl)), (&sdist, &fake_digest(&sdist))],
                &["asgiref (<4,>=3.2.10)", "pytz", "sqlparse (>=0.2.2)"],
            );
        }
        let whl = "requests-2.31.0-py3-none-any.whl";
        self.add_pypi(
            "requests",
            "2.31.0",
            &[(
                whl,
                "58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f",
            )],
            &[
                "charset-normalizer (<4,>=2)",
                "idna (<4,>=2.5)",
                "urllib3 (<3,>=1.21.1)",
                "certifi (>=2017.4.17)",
            ],
        );
    }

    /// The route pattern of a registry request, or `None` when the path is not one.
    pub(crate) fn route(method: &str, raw_path: &str) -> Option<&'static str> {
        if method != "GET" && method != "HEAD" {
            return None;
        }
        let rest = raw_path.strip_prefix("/registry/")?;
        if let Some(pattern) = crate::goproxy::route(rest) {
            return Some(pattern);
        }
        if let Some(route) = crate::nuget_registry::route(rest) {
            Some(route)
        } else if rest == "crates/config.json" {
            Some("/registry/crates/config.json")
        } else if rest.starts_with("crates/") {
            Some("/registry/crates/:path")
        } else if rest.starts_with("npm/") {
            Some("/registry/npm/:name")
        } else if rest
            .strip_prefix("packagist/p2/")
            .is_some_and(|p| p.split('/').count() == 2 && p.ends_with(".json"))
        {
            Some("/registry/packagist/p2/:vendor/:name.json")
        } else if rest
            .strip_prefix("rubygems/api/v2/rubygems/")
            .is_some_and(|p| p.split('/').count() == 3 && p.ends_with(".json"))
        {
            Some("/registry/rubygems/api/v2/rubygems/:name/versions/:version.json")
        } else if let Some(p) = rest.strip_prefix("pypi/pypi/") {
            match p.trim_end_matches('/').split('/').count() {
                2 => Some("/registry/pypi/pypi/:name/json"),
                3 => Some("/registry/pypi/pypi/:name/:version/json"),
                _ => None,
            }
        } else {
            None
        }
    }

    /// Answers a request whose [`route`](Self::route) is `Some(pattern)`.
    pub(crate) fn answer(&self, pattern: &str, raw_path: &str) -> Reply {
        let d = self.lock();
        let rest = raw_path.strip_prefix("/registry/").unwrap_or("");
        let decode = |s: &str| crate::util::decode(s).unwrap_or_default();
        if pattern.starts_with("/registry/nuget/") {
            return crate::nuget_registry::answer(&d.base_url, &d.nuget, pattern, rest);
        }
        match pattern {
            p if p.starts_with("/registry/goproxy/") => crate::goproxy::answer(&d.go, p, rest),
            "/registry/crates/config.json" => Reply::ok(json!({
                "dl": format!("{}/registry/crates/dl", d.base_url),
                "api": d.base_url,
            })),
            "/registry/crates/:path" => {
                let path = rest.strip_prefix("crates/").unwrap_or("");
                let name = path.rsplit('/').next().unwrap_or("");
                match d.crates.get(name) {
                    Some(lines) if index_path(name) == path => {
                        let mut body = String::new();
                        for l in lines {
                            body.push_str(&l.to_string());
                            body.push('\n');
                        }
                        Reply {
                            status: 200,
                            body: Body::Raw(Bytes::from(body), "text/plain"),
                            headers: Vec::new(),
                        }
                    }
                    _ => Reply {
                        status: 404,
                        body: Body::Raw(Bytes::from_static(b"not found\n"), "text/plain"),
                        headers: Vec::new(),
                    },
                }
            }
            "/registry/npm/:name" => {
                let name = decode(rest.strip_prefix("npm/").unwrap_or(""));
                match d.npm.get(&name) {
                    Some(doc) => Reply::ok(doc.clone()),
                    None => Reply::json(404, json!({"error": "Not found"})),
                }
            }
            "/registry/packagist/p2/:vendor/:name.json" => {
                let name = decode(
                    rest.trim_start_matches("packagist/p2/")
                        .trim_end_matches(".json"),
                );
                match d.packagist.get(&name.to_ascii_lowercase()) {
                    Some(text) => Reply {
                        status: 200,
                        body: Body::Raw(Bytes::from(text.clone()), "application/json"),
                        headers: Vec::new(),
                    },
                    None => Reply::json(
                        404,
                        json!({"status": "error", "message": "Package not found"}),
                    ),
                }
            }
            "/registry/rubygems/api/v2/rubygems/:name/versions/:version.json" => {
                // rubygems.org answers 404 with a plain-text body for an unknown version.
                let parts: Vec<String> = rest
                    .trim_start_matches("rubygems/api/v2/rubygems/")
                    .split('/')
                    .map(decode)
                    .collect();
                let version = parts[2].trim_end_matches(".json");
                let found = (parts[1] == "versions")
                    .then(|| d.gems.get(&parts[0]))
                    .flatten()
                    .and_then(|vs| {
                        vs.iter()
                            .find(|v| v.get("version").and_then(Value::as_str) == Some(version))
                    });
                match found {
                    Some(doc) => Reply::ok(doc.clone()),
                    None => Reply {
                        status: 404,
                        body: Body::Raw(
                            Bytes::from_static(b"This rubygem could not be found."),
                            "text/plain",
                        ),
                        headers: Vec::new(),
                    },
                }
            }
            _ => {
                let parts: Vec<String> = rest
                    .strip_prefix("pypi/pypi/")
                    .unwrap_or("")
                    .trim_end_matches('/')
                    .split('/')
                    .map(decode)
                    .collect();
                let not_found = || err(404, "Not Found");
                let Some(versions) = parts.first().and_then(|n| d.pypi.get(&pep503(n))) else {
                    return not_found();
                };
                if parts.len() == 3 {
                    versions
                        .iter()
                        .find(|v| {
                            v.pointer("/info/version").and_then(Value::as_str) == Some(&parts[1])
                        })
                        .map(|v| Reply::ok(v.clone()))
                        .unwrap_or_else(not_found)
                } else {
                    let Some(last) = versions.last() else {
                        return not_found();
                    };
                    let releases: serde_json::Map<String, Value> = versions
                        .iter()
                        .filter_map(|v| {
                            Some((
                                v.pointer("/info/version")?.as_str()?.to_string(),
                                v["urls"].clone(),
                            ))
                        })
                        .collect();
                    let mut doc = last.clone();
                    doc["releases"] = Value::Object(releases);
                    Reply::ok(doc)
                }
            }
        }
    }
}
