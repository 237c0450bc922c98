//! Package names compared the way each ecosystem compares them.

use crate::ecosystem::Ecosystem;

/// The form of `name` under which `ecosystem` considers two names the same package:
///
/// - PyPI: PEP 503 (lower case, runs of `-`, `_`, `.` become one `-`);
/// - crates.io: lower case, `_` as `-` (crates.io refuses names differing only so);
/// - NuGet, Packagist, npm: lower case (NuGet and Packagist ids are case-insensitive; npm
///   has required lower case since 2017 and old mixed-case names cannot be re-registered
///   in another case);
/// - Go, Maven, RubyGems: as given (their registries are case-sensitive).
pub fn normalize(ecosystem: Ecosystem, name: &str) -> String {
    let name = name.trim();
    match ecosystem {
        Ecosystem::PyPI => {
            let mut out = String::with_capacity(name.len());
            let mut in_sep = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_sep {
                        out.push('-');
                    }
                    in_sep = true;
                } else {
                    out.extend(c.to_lowercase());
                    in_sep = false;
                }
            }
            out
        }
        Ecosystem::CratesIo => name.to_ascii_lowercase().replace('_', "-"),
        Ecosystem::NuGet | Ecosystem::Packagist | Ecosystem::Npm => name.to_lowercase(),
        Ecosystem::Go | Ecosystem::Maven | Ecosystem::RubyGems => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ecosystem_rules() {
        assert_eq!(
            normalize(Ecosystem::PyPI, "Django_REST.framework"),
            "django-rest-framework"
        );
        assert_eq!(normalize(Ecosystem::PyPI, "a__-.b"), "a-b");
        assert_eq!(normalize(Ecosystem::CratesIo, "Serde_JSON"), "serde-json");
        assert_eq!(
            normalize(Ecosystem::NuGet, "Newtonsoft.Json"),
            normalize(Ecosystem::NuGet, "newtonsoft.json")
        );
        assert_eq!(
            normalize(Ecosystem::Packagist, "Symfony/HTTP-Kernel"),
            "symfony/http-kernel"
        );
        assert_eq!(
            normalize(Ecosystem::Go, "github.com/BurntSushi/toml"),
            "github.com/BurntSushi/toml"
        );
    }
}
