//! Packagist: a package's versions from the Composer v2 metadata API
//! (`GET /p2/<vendor>/<name>.json`), whose version list is "minified" (composer/metadata-minifier:
//! each entry holds only what changed from the one before, `"__unset"` removing a key).

use super::ordered_json::Json;

/// One published version of a Composer package, expanded, members in Packagist's order.
#[derive(Debug, Clone, PartialEq)]
pub struct PackagistRelease {
    /// The package name (`vendor/name`).
    pub name: String,
    /// The version as published (`v1.0.1`).
    pub version: String,
    /// The whole version object (`source`, `dist`, `require`, `autoload`, `time`, ...).
    pub data: Json,
}

impl PackagistRelease {
    /// Whether it is `version`, a leading `v` aside (`v1.0.1` is `1.0.1`).
    pub fn is_version(&self, version: &str) -> bool {
        self.version.trim_start_matches('v') == version.trim_start_matches('v')
    }
}

/// `MetadataMinifier::expand`: every version of `name` in a p2 document, expanded.
pub fn parse_p2(name: &str, doc: &Json) -> Vec<PackagistRelease> {
    let Some(Json::Array(list)) = doc.get("packages").and_then(|p| match p {
        Json::Object(m) => m
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v),
        _ => None,
    }) else {
        return Vec::new();
    };
    let minified = doc.get("minified").and_then(Json::as_str) == Some("composer/2.0");
    let mut out = Vec::new();
    let mut current: Vec<(String, Json)> = Vec::new();
    for entry in list {
        let Json::Object(members) = entry else {
            continue;
        };
        if !minified || out.is_empty() {
            current = members.clone();
        } else {
            for (k, v) in members {
                let unset = v.as_str() == Some("__unset");
                match current.iter().position(|(key, _)| key == k) {
                    Some(i) if unset => {
                        current.remove(i);
                    }
                    Some(i) => current[i].1 = v.clone(),
                    None if unset => {}
                    None => current.push((k.clone(), v.clone())),
                }
            }
        }
        let data = Json::Object(current.clone());
        let Some(version) = data
            .get("version")
            .and_then(Json::as_str)
            .map(str::to_string)
        else {
            continue;
        };
        out.push(PackagistRelease {
            name: data
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or(name)
                .to_string(),
            version,
            data,
        });
    }
    out
}

/// Whether a package name can be asked for (`vendor/name`, lower-case letters, digits, `-_.`).
pub fn valid_package_name(name: &str) -> bool {
    let part = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(name.split_once('/'), Some((v, n)) if part(v) && part(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minified_versions_expand() {
        let doc = Json::parse(
            r#"{"minified":"composer/2.0","packages":{"acme/x":[
                {"name":"acme/x","version":"2.0.0","require":{"php":">=8"},"description":"d"},
                {"version":"1.0.0","require":"__unset"},
                {"version":"0.9.0","description":"old"}]}}"#,
        )
        .unwrap();
        let rs = parse_p2("acme/x", &doc);
        assert_eq!(rs.len(), 3);
        assert_eq!(rs[1].data.get("require"), None);
        assert_eq!(
            rs[1].data.get("description").and_then(Json::as_str),
            Some("d")
        );
        assert_eq!(rs[2].name, "acme/x");
        assert!(rs[2].is_version("v0.9.0"));
        assert!(valid_package_name("acme/x") && !valid_package_name("../x"));
    }
}
