//! The namespace allowlist and denylist: which projects the bot may look after at all. GitLab
//! accepts invitations on the bot's behalf, so without an allowlist anyone can enrol a project.

/// Allow and deny lists of namespace paths. A namespace covers itself and everything below it
/// (`acme` covers `acme/app` and `acme/tools/cli`, not `acme-labs/app`). Comparison ignores case,
/// as GitLab's paths do. The denylist wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceFilter {
    allow: Vec<String>,
    deny: Vec<String>,
}

impl NamespaceFilter {
    /// From the two lists (an empty allowlist allows everything not denied).
    pub fn new(allow: &[String], deny: &[String]) -> Self {
        let norm = |v: &[String]| {
            v.iter()
                .map(|s| s.trim().trim_matches('/').to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        };
        NamespaceFilter {
            allow: norm(allow),
            deny: norm(deny),
        }
    }

    /// Whether a project at `path_with_namespace` may be catalogued.
    pub fn allows(&self, path_with_namespace: &str) -> bool {
        let path = path_with_namespace.to_ascii_lowercase();
        let covered = |ns: &String| {
            path.len() > ns.len()
                && path.starts_with(ns.as_str())
                && path.as_bytes()[ns.len()] == b'/'
        };
        if self.deny.iter().any(covered) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(covered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(allow: &[&str], deny: &[&str]) -> NamespaceFilter {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        NamespaceFilter::new(&v(allow), &v(deny))
    }

    #[test]
    fn namespaces_cover_their_subtree_only() {
        let filter = f(&["acme", "tools/infra/"], &[]);
        assert!(filter.allows("acme/app"));
        assert!(filter.allows("ACME/sub/deep/app"));
        assert!(filter.allows("tools/infra/terraform"));
        assert!(!filter.allows("acme-labs/app"));
        assert!(!filter.allows("tools/other"));
        assert!(!filter.allows("acme"));
    }

    #[test]
    fn deny_wins_and_empty_allow_allows_all() {
        let filter = f(&[], &["sandbox", "acme/legacy"]);
        assert!(filter.allows("anything/app"));
        assert!(!filter.allows("sandbox/x"));
        assert!(!filter.allows("acme/legacy/old"));
        assert!(filter.allows("acme/app"));
        let filter = f(&["acme"], &["acme/legacy"]);
        assert!(!filter.allows("acme/legacy/x"));
        assert!(filter.allows("acme/x"));
    }
}
