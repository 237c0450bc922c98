//! A Go module proxy (the GOPROXY protocol, https://go.dev/ref/mod#goproxy-protocol, as
//! cmd/go/internal/modfetch/proxy.go asks it) below `/registry/goproxy/`, serving modules built
//! in memory:
//!
//! - `GET <module>/@v/list`: the versions, one a line;
//! - `GET <module>/@v/<version>.info`: `{"Version": ..., "Time": ...}`;
//! - `GET <module>/@v/<version>.mod`: the go.mod;
//! - `GET <module>/@v/<version>.zip`: the module zip, every file named
//!   `<module>@<version>/<file>` (golang.org/x/mod/zip's layout);
//! - `GET <module>/@latest`: the highest release's `.info`.
//!
//! `<module>` and `<version>` are case-encoded (golang.org/x/mod/module.EscapePath: `!a` for
//! `A`); an upper-case letter or a bad `!` in them is a 400 ("bad request"), as on
//! proxy.golang.org; an unknown module or version is a plain-text 404 ("not found: ...").

use std::collections::BTreeMap;
use std::io::Write;

use bytes::Bytes;
use serde_json::json;

use crate::api::{Body, Reply};

/// One module version served.
#[derive(Debug, Clone)]
struct Version {
    version: String,
    go_mod: String,
    zip: Bytes,
}

/// Modules by path (not escaped).
#[derive(Debug, Default)]
pub(crate) struct Modules {
    by_path: BTreeMap<String, Vec<Version>>,
}

impl Modules {
    /// Adds `path@version` with `files` (names relative to the module root; a `go.mod` among
    /// them is the `.mod` answer, else `module <path>\n`).
    pub(crate) fn add(&mut self, path: &str, version: &str, files: &[(&str, &[u8])]) {
        let go_mod = files
            .iter()
            .find(|(n, _)| *n == "go.mod")
            .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
            .unwrap_or_else(|| format!("module {path}\n"));
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, content) in files {
                z.start_file(format!("{path}@{version}/{name}"), opts)
                    .expect("a zip entry in memory");
                z.write_all(content).expect("a zip entry in memory");
            }
            z.finish().expect("a zip in memory");
        }
        let list = self.by_path.entry(path.to_string()).or_default();
        list.retain(|v| v.version != version);
        list.push(Version {
            version: version.to_string(),
            go_mod,
            zip: Bytes::from(buf.into_inner()),
        });
    }
}

/// The route pattern of `rest` (the path after `/registry/`), if it is a proxy request.
pub(crate) fn route(rest: &str) -> Option<&'static str> {
    let p = rest.strip_prefix("goproxy/")?;
    if p.ends_with("/@latest") {
        return Some("/registry/goproxy/:module/@latest");
    }
    let (_, file) = p.rsplit_once("/@v/")?;
    Some(if file == "list" {
        "/registry/goproxy/:module/@v/list"
    } else if file.ends_with(".info") {
        "/registry/goproxy/:module/@v/:version.info"
    } else if file.ends_with(".mod") {
        "/registry/goproxy/:module/@v/:version.mod"
    } else if file.ends_with(".zip") {
        "/registry/goproxy/:module/@v/:version.zip"
    } else {
        return None;
    })
}

/// golang.org/x/mod/module.unescapeString: `!x` → `X`; upper case or a lone `!` is invalid.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut bang = false;
    for c in s.chars() {
        if bang {
            if !c.is_ascii_lowercase() {
                return None;
            }
            out.push(c.to_ascii_uppercase());
            bang = false;
        } else if c == '!' {
            bang = true;
        } else if c.is_ascii_uppercase() {
            return None;
        } else {
            out.push(c);
        }
    }
    (!bang).then_some(out)
}

fn text(status: u16, body: String) -> Reply {
    Reply {
        status,
        body: Body::Raw(Bytes::from(body), "text/plain; charset=utf-8"),
        headers: Vec::new(),
    }
}

fn info(v: &Version) -> Reply {
    Reply::ok(json!({"Version": v.version, "Time": "2024-01-01T00:00:00Z"}))
}

fn semver_key(v: &str) -> Vec<u64> {
    v.trim_start_matches('v')
        .split(['-', '+'])
        .next()
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// Answers a request whose [`route`] is `Some(pattern)`.
pub(crate) fn answer(modules: &Modules, pattern: &str, rest: &str) -> Reply {
    // go percent-encodes the `!` of case-encoded paths (`%21upper`).
    let decoded = crate::util::decode(rest.strip_prefix("goproxy/").unwrap_or(""));
    let p = decoded.as_deref().unwrap_or("");
    let (escaped_path, file) = match pattern {
        "/registry/goproxy/:module/@latest" => (p.trim_end_matches("/@latest"), ""),
        _ => p.rsplit_once("/@v/").unwrap_or((p, "")),
    };
    let Some(path) = unescape(escaped_path) else {
        return text(
            400,
            format!("bad request: invalid escaped module path {escaped_path:?}"),
        );
    };
    let versions = modules.by_path.get(&path);
    let not_found = |what: &str| text(404, format!("not found: {path}@{what}: unknown revision"));
    match pattern {
        "/registry/goproxy/:module/@v/list" => {
            let mut body = String::new();
            for v in versions.into_iter().flatten() {
                // The list holds tagged versions only (no pseudo-versions).
                if !v.version.contains("-0.") && !v.version.starts_with("v0.0.0-") {
                    body.push_str(&v.version);
                    body.push('\n');
                }
            }
            match versions {
                Some(_) => text(200, body),
                None => text(
                    404,
                    format!("not found: module {path}: no matching versions"),
                ),
            }
        }
        "/registry/goproxy/:module/@latest" => {
            match versions.and_then(|vs| {
                vs.iter()
                    .filter(|v| !v.version.contains('-'))
                    .max_by_key(|v| semver_key(&v.version))
            }) {
                Some(v) => info(v),
                None => not_found("latest"),
            }
        }
        _ => {
            let (version, ext) = file.rsplit_once('.').unwrap_or((file, ""));
            let Some(version) = unescape(version) else {
                return text(
                    400,
                    format!("bad request: invalid escaped version {version:?}"),
                );
            };
            let Some(v) = versions.and_then(|vs| vs.iter().find(|v| v.version == version)) else {
                return not_found(&version);
            };
            match ext {
                "info" => info(v),
                "mod" => text(200, v.go_mod.clone()),
                _ => Reply {
                    status: 200,
                    body: Body::Raw(v.zip.clone(), "application/zip"),
                    headers: Vec::new(),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_paths_and_routes() {
        assert_eq!(
            unescape("github.com/!azure/x").as_deref(),
            Some("github.com/Azure/x")
        );
        assert_eq!(unescape("github.com/Azure/x"), None);
        assert_eq!(unescape("a!"), None);
        assert_eq!(
            route("goproxy/example.com/!upper/@v/v0.1.0.zip"),
            Some("/registry/goproxy/:module/@v/:version.zip")
        );
        assert_eq!(route("goproxy/example.com/x/@v/v1.0.0.tar"), None);
        let mut m = Modules::default();
        m.add(
            "example.com/Upper",
            "v0.1.0",
            &[("go.mod", b"module example.com/Upper\n")],
        );
        m.add("example.com/Upper", "v0.2.0-rc.1", &[]);
        let r = answer(
            &m,
            "/registry/goproxy/:module/@v/list",
            "goproxy/example.com/!upper/@v/list",
        );
        assert!(
            matches!(&r.body, Body::Raw(b, _) if b.as_ref() == b"v0.1.0\nv0.2.0-rc.1\n"),
            "{r:?}"
        );
        let r = answer(
            &m,
            "/registry/goproxy/:module/@v/:version.mod",
            "goproxy/example.com/Upper/@v/v0.1.0.mod",
        );
        assert_eq!(r.status, 400);
        let r = answer(
            &m,
            "/registry/goproxy/:module/@v/:version.info",
            "goproxy/example.com/!upper/@v/v9.info",
        );
        assert_eq!(r.status, 404);
        let r = answer(
            &m,
            "/registry/goproxy/:module/@v/:version.mod",
            "goproxy/example.com/%21upper/@v/v0.1.0.mod",
        );
        assert!(
            matches!(&r.body, Body::Raw(b, _) if b.as_ref() == b"module example.com/Upper\n"),
            "go percent-encodes the `!`: {r:?}"
        );
        let r = answer(
            &m,
            "/registry/goproxy/:module/@latest",
            "goproxy/example.com/!upper/@latest",
        );
        assert!(
            matches!(&r.body, Body::Json(v) if v["Version"] == "v0.1.0"),
            "{r:?}"
        );
    }
}
