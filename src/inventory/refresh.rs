//! Reading a project's manifests through the API: one tree listing, then only the manifest files
//! (and the companions and includes their parse needs) whose blobs changed; or, after a push, only
//! the manifests the push touched, with no listing at all.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use serde::Serialize;

use crate::clock::now_ms;
use crate::deps::limits::PARSE_BUDGET;
use crate::deps::{self, DiscoveryRules, ParseError};
use crate::gitlab::{GitLab, GitLabError, ProjectId, ProjectRef};
use crate::inventory::table::{Input, Inventory, StoredManifest};
use crate::store::StoreError;

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// GitLab failed.
    #[error(transparent)]
    GitLab(#[from] GitLabError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A package registry could not be reached.
    #[error(transparent)]
    Registry(crate::registry::Unreachable),
}

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    /// Manifests the project has now.
    pub manifests: usize,
    /// Manifests parsed again (a blob changed, or new).
    pub parsed: usize,
    /// Manifests whose blobs had not changed: neither fetched nor parsed.
    pub reused: usize,
    /// Manifests gone.
    pub removed: usize,
    /// Files fetched.
    pub files_fetched: usize,
    /// Parser runs (once per manifest parsed, plus once more per round of includes it named).
    pub parser_runs: usize,
    /// GitLab requests made.
    pub requests: u64,
    /// Manifests that could not be parsed.
    pub errors: Vec<ParseError>,
}

/// A file read: its bytes and blob id, or `None` when absent.
type ReadFile = Option<(Bytes, Option<String>)>;

/// What one refresh of a project may fetch: each file is read up to `max_file_bytes`, and the
/// whole refresh stops fetching after `max_files` files or `max_total_bytes` bytes. Only the
/// files of the manifest being parsed are held at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshLimits {
    /// Largest file read.
    pub max_file_bytes: usize,
    /// Most files fetched in one refresh.
    pub max_files: usize,
    /// Most bytes fetched in one refresh.
    pub max_total_bytes: usize,
}

impl Default for RefreshLimits {
    fn default() -> Self {
        RefreshLimits {
            max_file_bytes: deps::limits::MAX_FILE_BYTES,
            max_files: 2_000,
            max_total_bytes: 256 << 20,
        }
    }
}

/// Why a file was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OverLimit {
    /// The file is larger than `max_file_bytes`.
    File,
    /// The refresh already fetched `max_files` files or `max_total_bytes` bytes.
    Refresh,
}

/// Reads files of one project at one ref, remembering what it read.
struct Reader<'a> {
    gitlab: &'a GitLab,
    project: ProjectRef,
    git_ref: &'a str,
    /// Blob ids from a tree listing, when there was one (then a path not in it is absent).
    tree: Option<&'a HashMap<String, String>>,
    files: HashMap<String, ReadFile>,
    /// Files not read because of the limits (held as absent in `files`).
    over: HashMap<String, OverLimit>,
    limits: RefreshLimits,
    fetched: usize,
    /// Files asked for (fetched or refused as too large): what `max_files` counts.
    attempts: usize,
    /// Bytes read, a refused file counting for what was read of it.
    fetched_bytes: usize,
    parser_runs: usize,
}

impl<'a> Reader<'a> {
    fn new(
        gitlab: &'a GitLab,
        project: ProjectId,
        git_ref: &'a str,
        tree: Option<&'a HashMap<String, String>>,
        limits: RefreshLimits,
    ) -> Self {
        Reader {
            gitlab,
            project: ProjectRef::Id(project),
            git_ref,
            tree,
            files: HashMap::new(),
            over: HashMap::new(),
            limits,
            fetched: 0,
            attempts: 0,
            fetched_bytes: 0,
            parser_runs: 0,
        }
    }

    /// Forgets the files read so far (between manifests: memory stays one manifest's worth).
    fn release(&mut self) {
        self.files.clear();
        self.over.clear();
    }

    /// The error a manifest gets when one of its files was not read because of the limits.
    fn over_limit_error(&self, manifest: &str, inputs: &[String]) -> Option<ParseError> {
        let (path, over) = inputs
            .iter()
            .find_map(|p| self.over.get(p).map(|o| (p, *o)))?;
        let message = match over {
            OverLimit::File if path == manifest => format!(
                "file too large (over the limit of {} bytes)",
                self.limits.max_file_bytes
            ),
            OverLimit::File => format!(
                "{path} is too large (over the limit of {} bytes)",
                self.limits.max_file_bytes
            ),
            OverLimit::Refresh => format!(
                "not read: this refresh of the project reached its limit of {} files or {} bytes",
                self.limits.max_files, self.limits.max_total_bytes
            ),
        };
        Some(ParseError::new(manifest, None, message))
    }

    async fn read(&mut self, path: &str) -> Result<(), GitLabError> {
        if self.files.contains_key(path) {
            return Ok(());
        }
        if let Some(tree) = self.tree {
            if !tree.contains_key(path) {
                self.files.insert(path.to_string(), None);
                return Ok(());
            }
        }
        if self.attempts >= self.limits.max_files
            || self.fetched_bytes >= self.limits.max_total_bytes
        {
            self.over.insert(path.to_string(), OverLimit::Refresh);
            self.files.insert(path.to_string(), None);
            return Ok(());
        }
        let max_bytes = self
            .limits
            .max_file_bytes
            .min(self.limits.max_total_bytes - self.fetched_bytes);
        self.attempts += 1;
        let found = match self
            .gitlab
            .raw_file_within(&self.project, path, self.git_ref, max_bytes)
            .await
        {
            Err(GitLabError::TooLarge { .. }) => {
                let over = if max_bytes < self.limits.max_file_bytes {
                    OverLimit::Refresh
                } else {
                    OverLimit::File
                };
                self.fetched_bytes += max_bytes;
                self.over.insert(path.to_string(), over);
                None
            }
            Ok(raw) => {
                self.fetched += 1;
                self.fetched_bytes += raw.content.len();
                let blob = raw
                    .blob_id
                    .or_else(|| self.tree.and_then(|t| t.get(path).cloned()));
                Some((raw.content, blob))
            }
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        self.files.insert(path.to_string(), found);
        Ok(())
    }

    fn bytes(&self, path: &str) -> Option<Bytes> {
        self.files
            .get(path)
            .and_then(|f| f.as_ref())
            .map(|(b, _)| b.clone())
    }

    /// Reads a manifest and everything its parse asks for, then parses it. `None` when the
    /// manifest itself is absent. The companions are read first, so that the parse (on the
    /// blocking pool, within [`PARSE_BUDGET`]) usually runs once; it runs again only when it
    /// names files not read yet (requirement includes).
    async fn parse(&mut self, path: &str) -> Result<Option<StoredManifest>, GitLabError> {
        self.read(path).await?;
        let Some(bytes) = self.bytes(path) else {
            // Present but not read (over a limit): an error, not a removal.
            return Ok(self
                .over_limit_error(path, &[path.to_string()])
                .map(|error| StoredManifest {
                    path: path.to_string(),
                    inputs: vec![Input {
                        path: path.to_string(),
                        blob_id: self.tree.and_then(|t| t.get(path).cloned()),
                    }],
                    dependencies: Vec::new(),
                    error: Some(error),
                    parsed_at_ms: now_ms(),
                }));
        };
        for companion in deps::companion_paths(path) {
            self.read(&companion).await?;
        }
        let mut asked: BTreeSet<String> = BTreeSet::new();
        let result = loop {
            let files: HashMap<String, Bytes> = self
                .files
                .iter()
                .filter_map(|(p, f)| f.as_ref().map(|(b, _)| (p.clone(), b.clone())))
                .collect();
            let attempt = parse_on_blocking_pool(path, bytes.clone(), files).await;
            self.parser_runs += 1;
            asked.extend(attempt.asked);
            let new: Vec<String> = attempt
                .missing
                .into_iter()
                .filter(|p| !self.files.contains_key(p))
                .collect();
            if new.is_empty() {
                break attempt.result;
            }
            for p in new {
                self.read(&p).await?;
            }
        };
        let read: Vec<String> = asked.iter().cloned().collect();
        let (dependencies, error) = match (self.over_limit_error(path, &read), result) {
            (Some(over), _) => (Vec::new(), Some(over)),
            (None, Ok(d)) => (d, None),
            (None, Err(e)) => (Vec::new(), Some(e)),
        };
        let inputs = std::iter::once(path.to_string())
            .chain(asked)
            .map(|p| Input {
                blob_id: self
                    .files
                    .get(&p)
                    .and_then(|f| f.as_ref())
                    .and_then(|(_, b)| b.clone()),
                path: p,
            })
            .collect();
        Ok(Some(StoredManifest {
            path: path.to_string(),
            inputs,
            dependencies,
            error,
            parsed_at_ms: now_ms(),
        }))
    }
}

/// One [`deps::parse_attempt`] on tokio's blocking pool, so that a slow parse never holds a
/// worker thread; an answer later than [`PARSE_BUDGET`] is a parse error (the thread finishes
/// on its own: the size and nesting caps of [`deps::limits`] bound its work).
async fn parse_on_blocking_pool(
    path: &str,
    bytes: Bytes,
    files: HashMap<String, Bytes>,
) -> deps::Attempt {
    let owned = path.to_string();
    let job = tokio::task::spawn_blocking(move || {
        deps::parse_attempt(&owned, &bytes, &|p| files.get(p).map(|b| b.to_vec()))
    });
    let failed = |message: String| deps::Attempt {
        result: Err(ParseError::new(path, None, message)),
        asked: Vec::new(),
        missing: Vec::new(),
    };
    match tokio::time::timeout(PARSE_BUDGET, job).await {
        Ok(Ok(attempt)) => attempt,
        Ok(Err(e)) => failed(format!("the parser failed ({e})")),
        Err(_) => {
            tracing::warn!(
                manifest = %crate::untrusted::printable(path),
                budget_s = PARSE_BUDGET.as_secs(),
                "a manifest parse ran over its time budget"
            );
            failed(format!(
                "took longer than {} s to parse",
                PARSE_BUDGET.as_secs()
            ))
        }
    }
}

/// Reads a manifest at `git_ref` and every file its parse needs (companions, includes): the
/// files a patch of it may edit. Absent files are left out.
pub async fn fetch_manifest_files(
    gitlab: &GitLab,
    project: ProjectId,
    git_ref: &str,
    path: &str,
) -> Result<HashMap<String, Vec<u8>>, GitLabError> {
    let mut reader = Reader::new(gitlab, project, git_ref, None, RefreshLimits::default());
    reader.parse(path).await?;
    Ok(reader
        .files
        .into_iter()
        .filter_map(|(p, f)| f.map(|(bytes, _)| (p, bytes.to_vec())))
        .collect())
}

/// Reads and parses `paths` at `git_ref` without storing anything (an MR check reads a merge
/// request's head and merge base this way); a manifest absent at that ref is left out. Also
/// answers the GitLab requests made.
pub async fn read_manifests_at(
    gitlab: &GitLab,
    project: ProjectId,
    git_ref: &str,
    paths: &[String],
) -> Result<(Vec<StoredManifest>, u64), GitLabError> {
    let before = gitlab.requests_sent();
    let mut reader = Reader::new(gitlab, project, git_ref, None, RefreshLimits::default());
    let mut out = Vec::new();
    for path in paths {
        if let Some(m) = reader.parse(path).await? {
            out.push(m);
        }
        reader.release();
    }
    Ok((out, gitlab.requests_sent() - before))
}

/// Lists the tree at `git_ref` and brings every manifest up to date; unchanged blobs are kept
/// without a request.
pub async fn refresh_all(
    gitlab: &GitLab,
    inventory: &Inventory,
    project: ProjectId,
    git_ref: &str,
    rules: &DiscoveryRules,
) -> Result<RefreshReport, RefreshError> {
    refresh_all_within(
        gitlab,
        inventory,
        project,
        git_ref,
        rules,
        RefreshLimits::default(),
    )
    .await
}

/// [`refresh_all`] within `limits`: a file over them becomes its manifest's error.
pub async fn refresh_all_within(
    gitlab: &GitLab,
    inventory: &Inventory,
    project: ProjectId,
    git_ref: &str,
    rules: &DiscoveryRules,
    limits: RefreshLimits,
) -> Result<RefreshReport, RefreshError> {
    let before = gitlab.requests_sent();
    let entries = gitlab.tree(&ProjectRef::Id(project), git_ref).await?;
    let tree: HashMap<String, String> = entries
        .into_iter()
        .filter(|e| e.kind == "blob")
        .map(|e| (e.path, e.id))
        .collect();
    let paths: Vec<String> = tree.keys().cloned().collect();
    let wanted: BTreeSet<String> = deps::discover(&paths, rules).into_iter().collect();
    let stored: BTreeMap<String, StoredManifest> = inventory
        .manifests(project)?
        .into_iter()
        .map(|m| (m.path.clone(), m))
        .collect();
    let mut report = RefreshReport::default();
    let mut reader = Reader::new(gitlab, project, git_ref, Some(&tree), limits);
    for path in &wanted {
        let unchanged = stored.get(path).is_some_and(|m| {
            m.inputs
                .iter()
                .all(|i| tree.get(&i.path) == i.blob_id.as_ref())
        });
        if unchanged {
            report.reused += 1;
            if let Some(e) = &stored[path].error {
                report.errors.push(e.clone());
            }
            continue;
        }
        let parsed = reader.parse(path).await?;
        reader.release();
        if let Some(m) = parsed {
            if let Some(e) = &m.error {
                report.errors.push(e.clone());
            }
            inventory.put(project, &m)?;
            report.parsed += 1;
        }
    }
    for path in stored.keys() {
        if !wanted.contains(path) {
            inventory.remove(project, path)?;
            report.removed += 1;
        }
    }
    report.manifests = wanted.len();
    report.files_fetched = reader.fetched;
    report.parser_runs = reader.parser_runs;
    report.requests = gitlab.requests_sent() - before;
    Ok(report)
}

/// After a push that touched `touched` (added, modified or removed paths), re-reads at `git_ref`
/// only the manifests that read one of them, and new manifests among them. No tree listing; a
/// push that touched no manifest makes no request at all.
pub async fn refresh_touched(
    gitlab: &GitLab,
    inventory: &Inventory,
    project: ProjectId,
    git_ref: &str,
    touched: &BTreeSet<&str>,
    rules: &DiscoveryRules,
) -> Result<RefreshReport, RefreshError> {
    let limits = RefreshLimits::default();
    let before = gitlab.requests_sent();
    let stored = inventory.manifests(project)?;
    let mut candidates: BTreeSet<String> = stored
        .iter()
        .filter(|m| touched.iter().any(|t| m.reads(t)))
        .map(|m| m.path.clone())
        .collect();
    let touched_paths: Vec<String> = touched.iter().map(|s| s.to_string()).collect();
    candidates.extend(deps::discover(&touched_paths, rules));
    let mut report = RefreshReport::default();
    let mut reader = Reader::new(gitlab, project, git_ref, None, limits);
    for path in &candidates {
        let parsed = reader.parse(path).await?;
        reader.release();
        match parsed {
            Some(m) => {
                if let Some(e) = &m.error {
                    report.errors.push(e.clone());
                }
                inventory.put(project, &m)?;
                report.parsed += 1;
            }
            None => {
                if inventory.remove(project, path)? {
                    report.removed += 1;
                }
            }
        }
    }
    report.manifests = inventory.manifests(project)?.len();
    report.reused = report.manifests.saturating_sub(report.parsed);
    report.files_fetched = reader.fetched;
    report.parser_runs = reader.parser_runs;
    report.requests = gitlab.requests_sent() - before;
    Ok(report)
}
