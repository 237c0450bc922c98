//! RubyGems.org: one gem version from `GET /api/v2/rubygems/<name>/versions/<version>.json`
//! (rubygems.org's `Api::V2::RubygemsController#show`), with the `.gem` file's SHA-256 (what
//! Bundler's `CHECKSUMS` section records) and the runtime dependencies.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One published gem version (the `ruby` platform's unless `platform` says otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GemRelease {
    /// The gem name.
    pub name: String,
    /// The version (`3.0.9.1`).
    pub version: String,
    /// The platform (`ruby`, `x86_64-linux`).
    pub platform: String,
    /// `sha`: SHA-256 of the `.gem` file, lower-case hex.
    pub sha256: Option<String>,
    /// `dependencies.runtime`: (name, requirement as given, `~> 1.0, >= 1.0.2`).
    pub runtime: Vec<(String, String)>,
}

/// Parses the v2 version answer.
pub fn parse_gem_release(doc: &Value) -> Option<GemRelease> {
    let runtime = doc
        .pointer("/dependencies/runtime")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| {
                    Some((
                        d.get("name")?.as_str()?.to_string(),
                        d.get("requirements")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(GemRelease {
        name: doc.get("name")?.as_str()?.to_string(),
        version: doc
            .get("version")
            .or_else(|| doc.get("number"))?
            .as_str()?
            .to_string(),
        platform: doc
            .get("platform")
            .and_then(Value::as_str)
            .unwrap_or("ruby")
            .to_string(),
        sha256: doc
            .get("sha")
            .and_then(Value::as_str)
            .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase),
        runtime,
    })
}

/// Whether a gem name can be put in a URL path as is (RubyGems allows letters, digits, `.`,
/// `-`, `_`).
pub fn valid_gem_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v2_answer() {
        // Shape of rubygems.org's answer for rack 3.0.9.1 (fields backline reads).
        let doc = serde_json::json!({
            "name": "rack", "version": "3.0.9.1", "platform": "ruby",
            "sha": "E2B7F6CD2C36F5A6B2A1E5A1C9A2D0F61D4B8AC3E7F4B8A8C2E0D6F1B3A5C7D9",
            "dependencies": {"development": [{"name": "minitest", "requirements": "~> 5.0"}],
                             "runtime": [{"name": "webrick", "requirements": ">= 1.0, ~> 1.8"}]}
        });
        let r = parse_gem_release(&doc).unwrap();
        assert_eq!(r.version, "3.0.9.1");
        assert_eq!(
            r.sha256.as_deref(),
            Some("e2b7f6cd2c36f5a6b2a1e5a1c9a2d0f61d4b8ac3e7f4b8a8c2e0d6f1b3a5c7d9")
        );
        assert_eq!(
            r.runtime,
            vec![("webrick".to_string(), ">= 1.0, ~> 1.8".to_string())]
        );
        assert!(valid_gem_name("concurrent-ruby") && !valid_gem_name("../x"));
    }
}
