//! The NuGet v3 server API, as data: the service index, registration index and pages, the
//! registration leaf's catalog entry (dependency groups) and the catalog leaf's package hash.
//!
//! Shapes follow Microsoft's API reference:
//! - <https://learn.microsoft.com/nuget/api/service-index> (`resources[]` with `@id`, `@type`);
//! - <https://learn.microsoft.com/nuget/api/registration-base-url-resource> (an index of pages,
//!   each with `lower`/`upper` and its `items` inlined or only its `@id` to fetch; each leaf's
//!   `catalogEntry` with `version` and `dependencyGroups[]` of `targetFramework` and
//!   `dependencies[]` of `id` and `range`);
//! - <https://learn.microsoft.com/nuget/api/catalog-resource#package-details-catalog-items>
//!   (`packageHash`, `packageHashAlgorithm` `SHA512`, base64);
//! - <https://learn.microsoft.com/nuget/api/package-base-address-resource> (the `.nupkg` at
//!   `{base}/{lower id}/{lower version}/{lower id}.{lower version}.nupkg`).
//!
//! `packages.lock.json`'s `contentHash` is the base64 SHA-512 of the `.nupkg`
//! (NuGet.Client `PackageExtractor`'s `.nupkg.metadata`), which is the catalog's `packageHash`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha512};

use crate::ecosystems::nuget::version::{cmp, normalize};

/// One dependency group of a package version (`targetFramework` absent: any framework).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyGroup {
    /// The group's framework as the registration writes it (`.NETStandard2.0`, `net6.0`).
    pub target_framework: Option<String>,
    /// Its dependencies: (id as the nuspec spells it, range).
    pub dependencies: Vec<(String, String)>,
}

/// One published NuGet package version with what `packages.lock.json` records of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NugetRelease {
    /// The id as the package spells it.
    pub id: String,
    /// The normalized version.
    pub version: String,
    /// base64 SHA-512 of the `.nupkg` (the lock's `contentHash`).
    pub content_hash: String,
    /// The nuspec's dependency groups.
    pub dependency_groups: Vec<DependencyGroup>,
}

impl NugetRelease {
    /// Whether this is `version` (compared normalized).
    pub fn is_version(&self, version: &str) -> bool {
        normalize(version).is_some_and(|v| v.eq_ignore_ascii_case(&self.version))
    }
}

/// The resources of a service index backline uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceIndex {
    /// `PackageBaseAddress/3.0.0`.
    pub package_base_address: Option<String>,
    /// The registrations base: `RegistrationsBaseUrl/3.6.0` (SemVer 2.0.0 packages included),
    /// else `RegistrationsBaseUrl/3.4.0`, else `RegistrationsBaseUrl`.
    pub registrations_base_url: Option<String>,
}

/// Reads a service index (`GET index.json`).
pub fn parse_service_index(doc: &Value) -> Option<ServiceIndex> {
    let resources = doc.get("resources")?.as_array()?;
    let find = |types: &[&str]| {
        types.iter().find_map(|t| {
            resources.iter().find_map(|r| {
                let ty = r.get("@type")?.as_str()?;
                (ty == *t).then(|| r.get("@id")?.as_str().map(str::to_string))?
            })
        })
    };
    Some(ServiceIndex {
        package_base_address: find(&["PackageBaseAddress/3.0.0"]),
        registrations_base_url: find(&[
            "RegistrationsBaseUrl/3.6.0",
            "RegistrationsBaseUrl/3.4.0",
            "RegistrationsBaseUrl",
        ]),
    })
}

/// One page of a registration index.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationPage {
    /// The page's URL (fetch it when `items` is not inlined).
    pub url: String,
    /// Its lowest version.
    pub lower: String,
    /// Its highest version.
    pub upper: String,
    /// Its leaves, when inlined.
    pub items: Option<Vec<Value>>,
}

impl RegistrationPage {
    /// Whether `version` falls in the page's bounds.
    pub fn covers(&self, version: &str) -> bool {
        cmp(version, &self.lower).is_ge() && cmp(version, &self.upper).is_le()
    }
}

/// The pages of a registration index (or of a fetched page, which is one page itself).
pub fn parse_registration_pages(doc: &Value) -> Vec<RegistrationPage> {
    let page = |p: &Value| -> Option<RegistrationPage> {
        Some(RegistrationPage {
            url: p.get("@id")?.as_str()?.to_string(),
            lower: p.get("lower")?.as_str()?.to_string(),
            upper: p.get("upper")?.as_str()?.to_string(),
            items: p.get("items").and_then(Value::as_array).cloned(),
        })
    };
    match doc.get("items").and_then(Value::as_array) {
        // An index: `items` are pages (each with `lower`/`upper`).
        Some(items) if items.iter().all(|i| i.get("lower").is_some()) => {
            items.iter().filter_map(page).collect()
        }
        // A page fetched on its own.
        _ => page(doc).into_iter().collect(),
    }
}

/// What a registration leaf's catalog entry says of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The id as the package spells it.
    pub id: String,
    /// The normalized version.
    pub version: String,
    /// The catalog leaf's URL (where `packageHash` is).
    pub catalog_url: Option<String>,
    /// The dependency groups.
    pub dependency_groups: Vec<DependencyGroup>,
}

/// The catalog entry of `version` among a page's leaves.
pub fn find_catalog_entry(items: &[Value], version: &str) -> Option<CatalogEntry> {
    let want = normalize(version)?;
    items.iter().find_map(|leaf| {
        let entry = leaf.get("catalogEntry")?;
        let v = normalize(entry.get("version")?.as_str()?)?;
        if !v.eq_ignore_ascii_case(&want) {
            return None;
        }
        let groups = entry
            .get("dependencyGroups")
            .and_then(Value::as_array)
            .map(|gs| gs.iter().map(parse_group).collect())
            .unwrap_or_default();
        Some(CatalogEntry {
            id: entry.get("id")?.as_str()?.to_string(),
            version: v,
            catalog_url: entry.get("@id").and_then(Value::as_str).map(str::to_string),
            dependency_groups: groups,
        })
    })
}

fn parse_group(g: &Value) -> DependencyGroup {
    DependencyGroup {
        target_framework: g
            .get("targetFramework")
            .and_then(Value::as_str)
            .map(str::to_string),
        dependencies: g
            .get("dependencies")
            .and_then(Value::as_array)
            .map(|ds| {
                ds.iter()
                    .filter_map(|d| {
                        let id = d.get("id")?.as_str()?.to_string();
                        // A dependency without a range means any version (`(, )`).
                        let range = d
                            .get("range")
                            .and_then(Value::as_str)
                            .unwrap_or("(, )")
                            .to_string();
                        Some((id, range))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The catalog leaf's `packageHash` when its algorithm is SHA-512 (the lock's `contentHash`).
pub fn parse_package_hash(doc: &Value) -> Option<String> {
    let alg = doc.get("packageHashAlgorithm")?.as_str()?;
    if !alg.eq_ignore_ascii_case("SHA512") {
        return None;
    }
    let hash = doc.get("packageHash")?.as_str()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(hash)
        .ok()?;
    (raw.len() == 64).then(|| hash.to_string())
}

/// base64 SHA-512 of a `.nupkg`, as NuGet writes `contentHash`.
pub fn content_hash(nupkg: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha512::digest(nupkg))
}

/// The flat-container path of a `.nupkg` below `PackageBaseAddress`: ids and versions lower
/// case, the version normalized (`{id}/{version}/{id}.{version}.nupkg`).
pub fn nupkg_path(id: &str, version: &str) -> Option<String> {
    let id = id.to_ascii_lowercase();
    if !valid_id(&id) {
        return None;
    }
    let v = normalize(version)?.to_ascii_lowercase();
    Some(format!("{id}/{v}/{id}.{v}.nupkg"))
}

/// Whether a package id can go in a URL path as is (NuGet allows letters, digits, `.`, `-`,
/// `_`, at most 100 characters: NuGet.Client `PackageIdValidator`).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_index_prefers_semver2_registrations() {
        let doc: Value = serde_json::from_str(
            r#"{"version":"3.0.0","resources":[
            {"@id":"https://api.nuget.org/v3/registration5-semver1/","@type":"RegistrationsBaseUrl"},
            {"@id":"https://api.nuget.org/v3-flatcontainer/","@type":"PackageBaseAddress/3.0.0"},
            {"@id":"https://api.nuget.org/v3/registration5-gz-semver2/","@type":"RegistrationsBaseUrl/3.6.0"}]}"#,
        )
        .unwrap();
        let s = parse_service_index(&doc).unwrap();
        assert_eq!(
            s.registrations_base_url.as_deref(),
            Some("https://api.nuget.org/v3/registration5-gz-semver2/")
        );
        assert_eq!(
            s.package_base_address.as_deref(),
            Some("https://api.nuget.org/v3-flatcontainer/")
        );
    }

    #[test]
    fn pages_inlined_or_not_and_leaves() {
        let doc: Value = serde_json::from_str(
            r#"{"count":2,"items":[
            {"@id":"https://x/reg/a/page/1.0.0/1.0.0.json","lower":"1.0.0","upper":"1.0.0"},
            {"@id":"https://x/reg/a/index.json#page/2.0.0/2.1.0","lower":"2.0.0","upper":"2.1.0","items":[
              {"catalogEntry":{"@id":"https://x/cat/a.2.1.0.json","id":"A","version":"2.1.0",
               "dependencyGroups":[{"targetFramework":".NETStandard2.0","dependencies":[{"id":"B","range":"[1.0.0, )"},{"id":"C"}]}]}}]}]}"#,
        )
        .unwrap();
        let pages = parse_registration_pages(&doc);
        assert_eq!(pages.len(), 2);
        assert!(pages[0].items.is_none() && pages[0].covers("1.0"));
        assert!(pages[1].covers("2.0.5") && !pages[1].covers("2.2.0"));
        let e = find_catalog_entry(pages[1].items.as_ref().unwrap(), "2.1").unwrap();
        assert_eq!(e.catalog_url.as_deref(), Some("https://x/cat/a.2.1.0.json"));
        assert_eq!(
            e.dependency_groups[0].dependencies,
            vec![
                ("B".into(), "[1.0.0, )".into()),
                ("C".into(), "(, )".into())
            ]
        );
        assert!(find_catalog_entry(pages[1].items.as_ref().unwrap(), "2.0.0").is_none());
    }

    #[test]
    fn hashes_and_paths() {
        // The SHA-512 of empty input, base64: a known vector.
        assert_eq!(
            content_hash(b""),
            "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
        );
        let leaf = serde_json::json!({"packageHash": content_hash(b"x"), "packageHashAlgorithm": "SHA512"});
        assert_eq!(parse_package_hash(&leaf), Some(content_hash(b"x")));
        let leaf = serde_json::json!({"packageHash": "abc", "packageHashAlgorithm": "SHA256"});
        assert_eq!(parse_package_hash(&leaf), None);
        assert_eq!(
            nupkg_path("Newtonsoft.Json", "13.0.01").as_deref(),
            Some("newtonsoft.json/13.0.1/newtonsoft.json.13.0.1.nupkg")
        );
        assert_eq!(nupkg_path("../x", "1.0"), None);
    }
}
