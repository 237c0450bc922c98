//! Path globs of `paths_ignore`, checked: `**` any run of path segments, `*` any run within
//! one segment, `?` one character of a segment; matched as discovery's skip globs. Pure.

/// A checked glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

/// Why a glob is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// Nothing to match.
    #[error("an empty glob matches nothing")]
    Empty,
    /// Paths are relative to the repository root.
    #[error("glob {0:?} starts with `/`: paths are relative to the repository root")]
    Absolute(String),
    /// `**` must be a whole segment.
    #[error("glob {0:?}: `**` must be a whole path segment (`a/**/b`)")]
    DoubleStar(String),
}

impl Glob {
    /// Checks a glob.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        if pattern.starts_with('/') {
            return Err(GlobError::Absolute(pattern.to_string()));
        }
        if pattern
            .split('/')
            .any(|seg| seg.contains("**") && seg != "**")
        {
            return Err(GlobError::DoubleStar(pattern.to_string()));
        }
        Ok(Glob(pattern.to_string()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `path` (relative, `/`-separated) matches: the same matching as discovery's
    /// skip globs ([`crate::deps::DiscoveryRules`]).
    pub fn matches(&self, path: &str) -> bool {
        crate::deps::DiscoveryRules::replacing_skips([self.0.as_str()]).is_skipped(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_star_spans_segments_and_star_stays_in_one() {
        let g = Glob::new("examples/**").unwrap();
        assert!(g.matches("examples/a/Cargo.lock"));
        assert!(g.matches("examples/Cargo.lock"));
        assert!(!g.matches("src/examples/Cargo.lock"));
        let g = Glob::new("**/test/*.lock").unwrap();
        assert!(g.matches("test/Cargo.lock"));
        assert!(g.matches("a/b/test/Cargo.lock"));
        assert!(!g.matches("a/test/sub/Cargo.lock"));
        let g = Glob::new("vendor/?/package-lock.json").unwrap();
        assert!(g.matches("vendor/x/package-lock.json"));
        assert!(!g.matches("vendor/xy/package-lock.json"));
    }

    #[test]
    fn bad_globs_are_refused_with_why() {
        assert_eq!(Glob::new(""), Err(GlobError::Empty));
        assert!(matches!(Glob::new("/abs/**"), Err(GlobError::Absolute(_))));
        assert!(matches!(Glob::new("a/**b"), Err(GlobError::DoubleStar(_))));
    }
}
