//! The NuGet v3 server API over HTTP: the service index, then the registration index of the
//! package (its pages inlined or fetched one by one, as the API allows), the leaf of the
//! version (dependency groups), and the catalog leaf's `packageHash`; when the catalog has no
//! SHA-512 hash, the `.nupkg` from `PackageBaseAddress/3.0.0` (size-bounded) hashed here.
//! <https://learn.microsoft.com/nuget/api/overview>. nuget.org serves the
//! `RegistrationsBaseUrl/3.6.0` documents gzip-compressed whatever the request says: bodies
//! starting with the gzip magic are inflated (size-bounded).

use std::io::Read as _;

use serde_json::Value;

use super::HttpRegistry;
use crate::registry::{nuget, NugetRelease, RegistryError};

/// The largest `.nupkg` hashed (nuget.org's upload limit is 250 MiB).
const MAX_NUPKG_BYTES: usize = 250 * 1024 * 1024;
/// The largest JSON document read after inflating.
const MAX_JSON_BYTES: u64 = 64 * 1024 * 1024;

impl HttpRegistry {
    /// One version of a NuGet package, `None` when the registry does not list it.
    pub(super) async fn nuget_release_v3(
        &self,
        id: &str,
        version: &str,
    ) -> Result<Option<NugetRelease>, RegistryError> {
        let lower = id.to_ascii_lowercase();
        if !nuget::valid_id(&lower) {
            return Err(RegistryError::InvalidName(id.to_string()));
        }
        let index_url = self.config.nuget_url.clone();
        let Some(doc) = self.nuget_json(&index_url).await? else {
            return Err(malformed(&index_url, "no service index"));
        };
        let service = nuget::parse_service_index(&doc)
            .ok_or_else(|| malformed(&index_url, "not a service index"))?;
        let Some(base) = service.registrations_base_url else {
            return Err(malformed(&index_url, "no RegistrationsBaseUrl resource"));
        };
        let reg_url = format!("{}/{lower}/index.json", base.trim_end_matches('/'));
        let Some(reg) = self.nuget_json(&reg_url).await? else {
            return Ok(None);
        };
        let mut entry = None;
        for page in nuget::parse_registration_pages(&reg) {
            if !page.covers(version) {
                continue;
            }
            let items = match page.items {
                Some(items) => items,
                None => {
                    let Some(doc) = self.nuget_json(&page.url).await? else {
                        return Err(malformed(&page.url, "a listed page is missing"));
                    };
                    doc.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                }
            };
            entry = nuget::find_catalog_entry(&items, version);
            if entry.is_some() {
                break;
            }
        }
        let Some(entry) = entry else {
            return Ok(None);
        };
        let mut hash = None;
        if let Some(url) = &entry.catalog_url {
            if let Some(leaf) = self.nuget_json(url).await? {
                hash = nuget::parse_package_hash(&leaf);
            }
        }
        let content_hash = match hash {
            Some(h) => h,
            None => {
                let Some(base) = service.package_base_address else {
                    return Err(malformed(
                        &index_url,
                        "no packageHash in the catalog and no PackageBaseAddress to hash the .nupkg",
                    ));
                };
                let path = nuget::nupkg_path(&lower, &entry.version)
                    .ok_or_else(|| RegistryError::InvalidName(id.to_string()))?;
                let url = format!("{}/{path}", base.trim_end_matches('/'));
                let Some(body) = self.get(&url).await? else {
                    return Err(malformed(
                        &url,
                        "the .nupkg the registration lists is missing",
                    ));
                };
                if body.len() > MAX_NUPKG_BYTES {
                    return Err(malformed(&url, "the .nupkg is larger than 250 MiB"));
                }
                nuget::content_hash(&body)
            }
        };
        Ok(Some(NugetRelease {
            id: entry.id,
            version: entry.version,
            content_hash,
            dependency_groups: entry.dependency_groups,
        }))
    }

    /// A JSON document of the NuGet API, inflated when served gzip-compressed.
    async fn nuget_json(&self, url: &str) -> Result<Option<Value>, RegistryError> {
        let Some(body) = self.get(url).await? else {
            return Ok(None);
        };
        let bytes = inflated(url, &body, MAX_JSON_BYTES)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| malformed(url, &e.to_string()))
    }
}

/// `body`, inflated when it is gzip data (at most `max` bytes after inflating).
fn inflated(url: &str, body: &[u8], max: u64) -> Result<Vec<u8>, RegistryError> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| malformed(url, &format!("bad gzip: {e}")))?;
    if out.len() as u64 > max {
        return Err(malformed(url, "the document is larger than the limit"));
    }
    Ok(out)
}

fn malformed(url: &str, message: &str) -> RegistryError {
    RegistryError::Malformed {
        url: url.to_string(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::inflated;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_answers_are_inflated_within_a_bound_and_plain_ones_kept() {
        let doc = br#"{"items":[]}"#;
        assert_eq!(inflated("u", &gz(doc), 1024).unwrap(), doc.to_vec());
        assert_eq!(inflated("u", doc, 1024).unwrap(), doc.to_vec());
        // A bomb: 1 MiB of zeros inflates past a 1 KiB bound and is refused.
        let bomb = gz(&vec![0u8; 1 << 20]);
        assert!(bomb.len() < 4096);
        assert!(inflated("u", &bomb, 1024).is_err());
        assert!(inflated("u", &[0x1f, 0x8b, 0, 1, 2], 1024).is_err());
    }
}
