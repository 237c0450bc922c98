//! A NuGet v3 server (below `/registry/nuget/`) with nuget.org's shapes, as Microsoft's API
//! reference describes them:
//!
//! - `GET v3/index.json`: the service index (<https://learn.microsoft.com/nuget/api/service-index>)
//!   naming `PackageBaseAddress/3.0.0` and `RegistrationsBaseUrl/3.6.0`;
//! - `GET v3/registration/:id/index.json`: the registration index
//!   (<https://learn.microsoft.com/nuget/api/registration-base-url-resource>): pages of at most
//!   [`PAGE_SIZE`] versions, their leaves inlined while the package has at most
//!   [`INLINE_LIMIT`] versions (nuget.org's rule), else only each page's `@id`, `lower`,
//!   `upper` and `count`, the page served at `v3/registration/:id/page/:lower/:upper.json`;
//!   each leaf's `catalogEntry` has `id`, `version`, `listed`, `packageContent` and
//!   `dependencyGroups[]` (`targetFramework`, `dependencies[]` of `id`, `range`);
//! - `GET v3/catalog0/data/:timestamp/:id.:version.json`: the catalog leaf
//!   (<https://learn.microsoft.com/nuget/api/catalog-resource>) with `packageHash` (base64
//!   SHA-512 of the `.nupkg`), `packageHashAlgorithm` `SHA512` and `packageSize`;
//! - `GET v3-flatcontainer/:id/index.json` and `v3-flatcontainer/:id/:version/:id.:version.nupkg`
//!   (<https://learn.microsoft.com/nuget/api/package-base-address-resource>), ids and versions
//!   lower case.
//!
//! nuget.org serves the `3.6.0` registrations gzip-compressed; the simulator serves them plain
//! (the client reads both).

use std::collections::BTreeMap;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha512};

use crate::api::{err, Body, Reply};
use crate::registry::SimRegistry;

/// Versions per registration page (nuget.org's).
pub const PAGE_SIZE: usize = 64;
/// Up to this many versions, the pages' leaves are inlined in the index (nuget.org's).
pub const INLINE_LIMIT: usize = 128;
/// The catalog folder the simulator's leaves live in.
const CATALOG_STAMP: &str = "2026.01.01.00.00.00";

/// A dependency group: its target framework (none: any) and `(id, range)` pairs.
pub type DependencyGroup = (Option<String>, Vec<(String, String)>);

/// One package version the simulator serves.
#[derive(Debug, Clone)]
pub struct NugetPackage {
    /// The id as the nuspec spells it.
    pub id: String,
    /// The normalized version.
    pub version: String,
    /// The `.nupkg` bytes the flat container serves (none: a package whose file the
    /// simulator stands in for, known by its hash alone).
    pub nupkg: Option<Bytes>,
    /// The catalog leaf's `packageHash` (none: the leaf omits it, so clients hash the
    /// `.nupkg`).
    pub package_hash: Option<String>,
    /// Dependency groups: target framework (none: any) and `(id, range)` pairs.
    pub groups: Vec<DependencyGroup>,
}

/// Groups given to [`SimRegistry::add_nuget`]: framework and `(id, range)` pairs.
pub type Groups<'a> = &'a [(Option<&'a str>, &'a [(&'a str, &'a str)])];

impl SimRegistry {
    /// Serves `id` at `version` with `nupkg` as its package file and these dependency groups.
    pub fn add_nuget(&self, id: &str, version: &str, nupkg: &[u8], groups: Groups) {
        let hash = Self::nuget_hash(nupkg);
        self.put_nuget(id, version, Some(nupkg), Some(hash), groups);
    }

    /// Serves `id` at `version` known by its real `packageHash` alone (the `.nupkg` is not
    /// served), for files that must match what `dotnet restore` wrote.
    pub fn add_nuget_hashed(&self, id: &str, version: &str, package_hash: &str, groups: Groups) {
        self.put_nuget(id, version, None, Some(package_hash.to_string()), groups);
    }

    /// Serves `id` at `version` with a catalog leaf that gives no `packageHash`: clients hash
    /// the `.nupkg` from the flat container.
    pub fn add_nuget_without_catalog_hash(
        &self,
        id: &str,
        version: &str,
        nupkg: &[u8],
        groups: Groups,
    ) {
        self.put_nuget(id, version, Some(nupkg), None, groups);
    }

    fn put_nuget(
        &self,
        id: &str,
        version: &str,
        nupkg: Option<&[u8]>,
        package_hash: Option<String>,
        groups: Groups,
    ) {
        let package = NugetPackage {
            id: id.to_string(),
            version: version.to_string(),
            nupkg: nupkg.map(Bytes::copy_from_slice),
            package_hash,
            groups: groups
                .iter()
                .map(|(tf, deps)| {
                    (
                        tf.map(str::to_string),
                        deps.iter()
                            .map(|(a, b)| (a.to_string(), b.to_string()))
                            .collect(),
                    )
                })
                .collect(),
        };
        let mut d = self.lock();
        let list = d.nuget.entry(id.to_ascii_lowercase()).or_default();
        list.retain(|p| !p.version.eq_ignore_ascii_case(version));
        list.push(package);
        list.sort_by_key(|p| order_key(&p.version));
    }

    /// The base64 SHA-512 NuGet records for a `.nupkg` (`contentHash`, `packageHash`).
    pub fn nuget_hash(nupkg: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(Sha512::digest(nupkg))
    }
}

/// Orders versions numerically (pre-releases before their release).
fn order_key(v: &str) -> (Vec<u64>, bool, String) {
    let (nums, label) = v.split_once('-').unwrap_or((v, ""));
    (
        nums.split('.').map(|p| p.parse().unwrap_or(0)).collect(),
        label.is_empty(),
        label.to_ascii_lowercase(),
    )
}

/// The route pattern of a path below `/registry/`, when it is the NuGet API's.
pub(crate) fn route(rest: &str) -> Option<&'static str> {
    let rest = rest.strip_prefix("nuget/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        ["v3", "index.json"] => Some("/registry/nuget/v3/index.json"),
        ["v3", "registration", _, "index.json"] => {
            Some("/registry/nuget/v3/registration/:id/index.json")
        }
        ["v3", "registration", _, "page", _, u] if u.ends_with(".json") => {
            Some("/registry/nuget/v3/registration/:id/page/:lower/:upper.json")
        }
        ["v3", "catalog0", "data", _, leaf] if leaf.ends_with(".json") => {
            Some("/registry/nuget/v3/catalog0/data/:timestamp/:leaf.json")
        }
        ["v3-flatcontainer", _, "index.json"] => {
            Some("/registry/nuget/v3-flatcontainer/:id/index.json")
        }
        ["v3-flatcontainer", _, _, f] if f.ends_with(".nupkg") => {
            Some("/registry/nuget/v3-flatcontainer/:id/:version/:file.nupkg")
        }
        _ => None,
    }
}

/// Answers a NuGet API request (`rest` is the path below `/registry/`).
pub(crate) fn answer(
    base: &str,
    packages: &BTreeMap<String, Vec<NugetPackage>>,
    pattern: &str,
    rest: &str,
) -> Reply {
    let root = format!("{base}/registry/nuget");
    let parts: Vec<String> = rest
        .trim_start_matches("nuget/")
        .split('/')
        .map(|s| {
            crate::util::decode(s)
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .collect();
    let not_found = || err(404, "Not Found");
    let versions_of = |id: &str| packages.get(id).filter(|v| !v.is_empty());
    match pattern {
        "/registry/nuget/v3/index.json" => Reply::ok(json!({
            "version": "3.0.0",
            "resources": [
                {"@id": format!("{root}/v3-flatcontainer/"), "@type": "PackageBaseAddress/3.0.0",
                 "comment": "Base URL of where NuGet packages are stored, in the format https://api.nuget.org/v3-flatcontainer/{id-lower}/{version-lower}/{id-lower}.{version-lower}.nupkg"},
                {"@id": format!("{root}/v3/registration/"), "@type": "RegistrationsBaseUrl/3.6.0",
                 "comment": "Base URL of Azure storage where NuGet package registration info is stored in GZIP format. This base URL includes SemVer 2.0.0 packages."},
                {"@id": format!("{root}/v3/registration/"), "@type": "RegistrationsBaseUrl",
                 "comment": "Base URL of Azure storage where NuGet package registration info is stored"}
            ]
        })),
        "/registry/nuget/v3/registration/:id/index.json" => {
            let Some(list) = versions_of(&parts[2]) else {
                return not_found();
            };
            let inline = list.len() <= INLINE_LIMIT;
            let pages: Vec<Value> = list
                .chunks(PAGE_SIZE)
                .map(|chunk| page(&root, chunk, inline))
                .collect();
            Reply::ok(json!({
                "@id": format!("{root}/v3/registration/{}/index.json", parts[2]),
                "@type": ["catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"],
                "count": pages.len(),
                "items": pages,
            }))
        }
        "/registry/nuget/v3/registration/:id/page/:lower/:upper.json" => {
            let Some(list) = versions_of(&parts[2]) else {
                return not_found();
            };
            let upper = parts[5].trim_end_matches(".json");
            list.chunks(PAGE_SIZE)
                .find(|c| {
                    c[0].version.eq_ignore_ascii_case(&parts[4])
                        && c[c.len() - 1].version.eq_ignore_ascii_case(upper)
                })
                .map(|c| Reply::ok(page(&root, c, true)))
                .unwrap_or_else(not_found)
        }
        "/registry/nuget/v3/catalog0/data/:timestamp/:leaf.json" => {
            let leaf = parts[4].trim_end_matches(".json");
            packages
                .values()
                .flatten()
                .find(|p| format!("{}.{}", p.id, p.version).eq_ignore_ascii_case(leaf))
                .map(|p| Reply::ok(catalog_leaf(&root, p)))
                .unwrap_or_else(not_found)
        }
        "/registry/nuget/v3-flatcontainer/:id/index.json" => match versions_of(&parts[1]) {
            Some(list) => Reply::ok(json!({
                "versions": list.iter().map(|p| p.version.to_ascii_lowercase()).collect::<Vec<_>>()
            })),
            None => not_found(),
        },
        _ => {
            let file = format!("{}.{}.nupkg", parts[1], parts[2]);
            versions_of(&parts[1])
                .and_then(|list| {
                    list.iter()
                        .find(|p| p.version.eq_ignore_ascii_case(&parts[2]))
                })
                .filter(|_| parts[3] == file)
                .and_then(|p| p.nupkg.clone())
                .map(|nupkg| Reply {
                    status: 200,
                    body: Body::Raw(nupkg, "application/octet-stream"),
                    headers: Vec::new(),
                })
                .unwrap_or_else(not_found)
        }
    }
}

/// One registration page: leaves inlined, or only the page's summary.
fn page(root: &str, chunk: &[NugetPackage], inline: bool) -> Value {
    let id = chunk[0].id.to_ascii_lowercase();
    let (lower, upper) = (
        chunk[0].version.to_ascii_lowercase(),
        chunk[chunk.len() - 1].version.to_ascii_lowercase(),
    );
    let index = format!("{root}/v3/registration/{id}/index.json");
    let mut page = json!({
        "@id": if inline {
            format!("{index}#page/{lower}/{upper}")
        } else {
            format!("{root}/v3/registration/{id}/page/{lower}/{upper}.json")
        },
        "@type": "catalog:CatalogPage",
        "count": chunk.len(),
        "lower": lower,
        "upper": upper,
        "parent": index,
    });
    if inline {
        page["items"] = chunk.iter().map(|p| leaf(root, p)).collect();
    }
    page
}

fn catalog_url(root: &str, p: &NugetPackage) -> String {
    format!(
        "{root}/v3/catalog0/data/{CATALOG_STAMP}/{}.{}.json",
        p.id.to_ascii_lowercase(),
        p.version.to_ascii_lowercase()
    )
}

fn content_url(root: &str, p: &NugetPackage) -> String {
    let (id, v) = (p.id.to_ascii_lowercase(), p.version.to_ascii_lowercase());
    format!("{root}/v3-flatcontainer/{id}/{v}/{id}.{v}.nupkg")
}

fn groups(root: &str, p: &NugetPackage) -> Vec<Value> {
    let catalog = catalog_url(root, p);
    p.groups
        .iter()
        .enumerate()
        .map(|(i, (tf, deps))| {
            let mut g = json!({
                "@id": format!("{catalog}#dependencygroup/{i}"),
                "@type": "PackageDependencyGroup",
                "dependencies": deps.iter().map(|(id, range)| json!({
                    "@id": format!("{catalog}#dependencygroup/{i}/{}", id.to_ascii_lowercase()),
                    "@type": "PackageDependency",
                    "id": id,
                    "range": range,
                    "registration": format!("{root}/v3/registration/{}/index.json", id.to_ascii_lowercase()),
                })).collect::<Vec<_>>(),
            });
            if let Some(tf) = tf {
                g["targetFramework"] = json!(tf);
            }
            g
        })
        .collect()
}

/// A registration leaf with its catalog entry.
fn leaf(root: &str, p: &NugetPackage) -> Value {
    let id = p.id.to_ascii_lowercase();
    json!({
        "@id": format!("{root}/v3/registration/{id}/{}.json", p.version.to_ascii_lowercase()),
        "@type": "Package",
        "commitId": "00000000-0000-0000-0000-000000000000",
        "commitTimeStamp": "2026-01-01T00:00:00+00:00",
        "catalogEntry": {
            "@id": catalog_url(root, p),
            "@type": "PackageDetails",
            "authors": "",
            "dependencyGroups": groups(root, p),
            "description": "",
            "id": p.id,
            "listed": true,
            "packageContent": content_url(root, p),
            "published": "2026-01-01T00:00:00+00:00",
            "version": p.version,
        },
        "packageContent": content_url(root, p),
        "registration": format!("{root}/v3/registration/{id}/index.json"),
    })
}

/// A catalog leaf (package details) with the package hash.
fn catalog_leaf(root: &str, p: &NugetPackage) -> Value {
    let mut leaf = json!({
        "@id": catalog_url(root, p),
        "@type": ["PackageDetails", "catalog:Permalink"],
        "id": p.id,
        "version": p.version,
        "listed": true,
        "dependencyGroups": groups(root, p),
        "published": "2026-01-01T00:00:00+00:00",
    });
    if let Some(hash) = &p.package_hash {
        leaf["packageHash"] = json!(hash);
        leaf["packageHashAlgorithm"] = json!("SHA512");
    }
    if let Some(nupkg) = &p.nupkg {
        leaf["packageSize"] = json!(nupkg.len());
    }
    leaf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route("nuget/v3/index.json"),
            Some("/registry/nuget/v3/index.json")
        );
        assert!(route("nuget/v3/registration/a/page/1.0.0/2.0.0.json").is_some());
        assert!(route("nuget/v3-flatcontainer/a/1.0.0/a.1.0.0.nupkg").is_some());
        assert_eq!(route("nuget/v3/other"), None);
    }

    #[test]
    fn many_versions_are_paged_out_of_line_and_few_inline() {
        let r = SimRegistry::new("http://sim");
        for i in 0..130 {
            r.add_nuget("Big.Pkg", &format!("1.0.{i}"), b"x", &[]);
        }
        r.add_nuget(
            "Small",
            "2.0.0",
            b"nupkg",
            &[(Some("net6.0"), &[("Dep", "[1.0.0, )")])],
        );
        let d = r.lock();
        let reply = |path: &str| {
            let rest = path.trim_start_matches("/registry/");
            let pattern = route(rest).unwrap();
            answer("http://sim", &d.nuget, pattern, rest)
        };
        let body = |rep: Reply| match rep.body {
            Body::Json(v) => v,
            _ => panic!("not json"),
        };
        let big = body(reply("/registry/nuget/v3/registration/big.pkg/index.json"));
        assert_eq!(big["count"], 3);
        assert!(big["items"][0].get("items").is_none());
        let page_url = big["items"][2]["@id"].as_str().unwrap().to_string();
        let page = body(reply(page_url.trim_start_matches("http://sim")));
        assert_eq!(page["items"][1]["catalogEntry"]["version"], "1.0.129");
        let small = body(reply("/registry/nuget/v3/registration/small/index.json"));
        let entry = &small["items"][0]["items"][0]["catalogEntry"];
        assert_eq!(
            entry["dependencyGroups"][0]["dependencies"][0]["range"],
            "[1.0.0, )"
        );
        let cat = entry["@id"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://sim")
            .to_string();
        let leaf = body(reply(&cat));
        assert_eq!(leaf["packageHash"], SimRegistry::nuget_hash(b"nupkg"));
        let pkg = reply("/registry/nuget/v3-flatcontainer/small/2.0.0/small.2.0.0.nupkg");
        assert_eq!(pkg.status, 200);
        assert_eq!(
            reply("/registry/nuget/v3-flatcontainer/small/9.0.0/small.9.0.0.nupkg").status,
            404
        );
    }
}
