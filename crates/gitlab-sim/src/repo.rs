//! Git repositories as the simulator models them: branches pointing into a commit graph where
//! every commit carries its full file map (contents shared, never copied).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;

use crate::util;

/// The all-zero sha GitLab uses for "no commit" in push events.
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// One file in a tree.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// The bytes.
    pub content: Bytes,
    /// Git blob id of the content.
    pub blob_id: Arc<str>,
    /// Mode `100755` instead of `100644`.
    pub executable: bool,
}

impl FileEntry {
    /// A regular file.
    pub fn new(content: Bytes) -> Self {
        let blob_id = util::blob_id(&content).into();
        FileEntry {
            content,
            blob_id,
            executable: false,
        }
    }

    /// The git mode string.
    pub fn mode(&self) -> &'static str {
        if self.executable {
            "100755"
        } else {
            "100644"
        }
    }
}

/// A full snapshot: path → file.
pub type Files = Arc<BTreeMap<String, FileEntry>>;

/// One commit.
#[derive(Debug, Clone)]
pub struct Commit {
    /// 40-hex id.
    pub id: String,
    /// Parents, first parent first.
    pub parent_ids: Vec<String>,
    /// Full message.
    pub message: String,
    /// Author name.
    pub author_name: String,
    /// Author e-mail.
    pub author_email: String,
    /// Creation time (ms since the epoch).
    pub created_at: i64,
    /// The tree at this commit.
    pub files: Files,
}

impl Commit {
    /// First line of the message.
    pub fn title(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

/// What one commit changed compared with another tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// New paths.
    pub added: Vec<String>,
    /// Changed paths.
    pub modified: Vec<String>,
    /// Removed paths.
    pub removed: Vec<String>,
}

/// Paths added, modified and removed between two trees.
pub fn diff_trees(old: &BTreeMap<String, FileEntry>, new: &BTreeMap<String, FileEntry>) -> Change {
    let mut c = Change::default();
    for (p, f) in new {
        match old.get(p) {
            None => c.added.push(p.clone()),
            Some(o) if o.blob_id != f.blob_id || o.executable != f.executable => {
                c.modified.push(p.clone())
            }
            _ => {}
        }
    }
    for p in old.keys() {
        if !new.contains_key(p) {
            c.removed.push(p.clone());
        }
    }
    c
}

/// A repository: commits by id and branch heads.
#[derive(Debug, Clone, Default)]
pub struct Repository {
    /// Every commit ever made (kept after branch deletion, like git objects).
    pub commits: HashMap<String, Arc<Commit>>,
    /// Branch name → head sha.
    pub branches: BTreeMap<String, String>,
}

impl Repository {
    /// Resolves a branch name or a (full or ≥7-char abbreviated) sha.
    pub fn resolve(&self, reference: &str) -> Option<Arc<Commit>> {
        if let Some(sha) = self.branches.get(reference) {
            return self.commits.get(sha).cloned();
        }
        let r = reference.strip_prefix("refs/heads/").unwrap_or(reference);
        if let Some(sha) = self.branches.get(r) {
            return self.commits.get(sha).cloned();
        }
        if let Some(c) = self.commits.get(reference) {
            return Some(c.clone());
        }
        if reference.len() >= 7 && reference.chars().all(|c| c.is_ascii_hexdigit()) {
            return self
                .commits
                .values()
                .find(|c| c.id.starts_with(reference))
                .cloned();
        }
        None
    }

    /// Head commit of a branch.
    pub fn head(&self, branch: &str) -> Option<Arc<Commit>> {
        self.branches
            .get(branch)
            .and_then(|s| self.commits.get(s))
            .cloned()
    }

    /// Stores a commit.
    pub fn insert(&mut self, commit: Commit) -> Arc<Commit> {
        let c = Arc::new(commit);
        self.commits.insert(c.id.clone(), c.clone());
        c
    }

    /// All ancestors of a commit, itself included.
    pub fn ancestors(&self, sha: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([sha.to_string()]);
        while let Some(s) = queue.pop_front() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if let Some(c) = self.commits.get(&s) {
                queue.extend(c.parent_ids.iter().cloned());
            }
        }
        seen
    }

    /// The nearest common ancestor of two commits (breadth-first from `b`).
    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        let anc = self.ancestors(a);
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([b.to_string()]);
        while let Some(s) = queue.pop_front() {
            if anc.contains(&s) {
                return Some(s);
            }
            if !seen.insert(s.clone()) {
                continue;
            }
            if let Some(c) = self.commits.get(&s) {
                queue.extend(c.parent_ids.iter().cloned());
            }
        }
        None
    }

    /// Commits reachable from `to` but not from `from`, oldest first (first-parent order).
    pub fn commits_between(&self, from: &str, to: &str) -> Vec<Arc<Commit>> {
        let exclude = self.ancestors(from);
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([to.to_string()]);
        while let Some(s) = queue.pop_front() {
            if exclude.contains(&s) || !seen.insert(s.clone()) {
                continue;
            }
            if let Some(c) = self.commits.get(&s) {
                queue.extend(c.parent_ids.iter().cloned());
                out.push(c.clone());
            }
        }
        out.sort_by_key(|c| c.created_at);
        // Keep parents before children even when timestamps tie.
        let mut ordered: Vec<Arc<Commit>> = Vec::with_capacity(out.len());
        let mut placed: HashSet<String> = HashSet::new();
        while ordered.len() < out.len() {
            let before = ordered.len();
            for c in &out {
                if placed.contains(&c.id) {
                    continue;
                }
                let ready = c
                    .parent_ids
                    .iter()
                    .all(|p| placed.contains(p) || !out.iter().any(|o| &o.id == p));
                if ready {
                    placed.insert(c.id.clone());
                    ordered.push(c.clone());
                }
            }
            if ordered.len() == before {
                break;
            }
        }
        ordered
    }
}

/// Result of applying one side's changes onto another tree.
#[derive(Debug)]
pub enum Merge {
    /// The merged tree.
    Clean(BTreeMap<String, FileEntry>),
    /// Paths changed on both sides in different ways.
    Conflict(Vec<String>),
}

/// Three-way merge of trees: changes from `base` to `theirs` applied onto `ours`.
pub fn three_way(
    base: &BTreeMap<String, FileEntry>,
    ours: &BTreeMap<String, FileEntry>,
    theirs: &BTreeMap<String, FileEntry>,
) -> Merge {
    let mut out = ours.clone();
    let mut conflicts = Vec::new();
    let paths: BTreeSet<&String> = base.keys().chain(theirs.keys()).collect();
    for p in paths {
        let b = base.get(p).map(|f| &f.blob_id);
        let t = theirs.get(p).map(|f| &f.blob_id);
        if b == t {
            continue; // they did not touch it
        }
        let o = ours.get(p).map(|f| &f.blob_id);
        if o == b || o == t {
            match theirs.get(p) {
                Some(f) => {
                    out.insert(p.clone(), f.clone());
                }
                None => {
                    out.remove(p);
                }
            }
        } else {
            conflicts.push(p.clone());
        }
    }
    if conflicts.is_empty() {
        Merge::Clean(out)
    } else {
        Merge::Conflict(conflicts)
    }
}

/// Directory paths implied by a file map (`a/b/c.txt` → `a`, `a/b`).
pub fn directories(files: &BTreeMap<String, FileEntry>) -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for p in files.keys() {
        let mut end = 0;
        while let Some(i) = p[end..].find('/') {
            end += i;
            dirs.insert(p[..end].to_string());
            end += 1;
        }
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(items: &[(&str, &str)]) -> BTreeMap<String, FileEntry> {
        items
            .iter()
            .map(|(p, c)| (p.to_string(), FileEntry::new(Bytes::from(c.to_string()))))
            .collect()
    }

    #[test]
    fn merges_and_detects_conflicts() {
        let base = tree(&[("a", "1"), ("b", "1")]);
        let ours = tree(&[("a", "2"), ("b", "1")]);
        let theirs = tree(&[("a", "1"), ("b", "3"), ("c", "new")]);
        match three_way(&base, &ours, &theirs) {
            Merge::Clean(t) => assert_eq!(t.len(), 3),
            Merge::Conflict(c) => panic!("{c:?}"),
        }
        let theirs = tree(&[("a", "9")]);
        assert!(matches!(
            three_way(&base, &ours, &theirs),
            Merge::Conflict(_)
        ));
    }

    #[test]
    fn lists_directories() {
        let t = tree(&[("a/b/c.txt", "x"), ("d.txt", "y")]);
        let d: Vec<_> = directories(&t).into_iter().collect();
        assert_eq!(d, vec!["a", "a/b"]);
    }
}
