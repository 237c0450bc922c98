//! The simulated GitLab instance's state and every mutation on it.
//!
//! Mutations that GitLab would announce by webhook queue deliveries (see [`crate::events`]);
//! [`crate::GitLabSim::deliver_pending`] posts them.

mod background;
mod emit;
mod errors;
mod hooks;
mod merge_requests;
mod notes;
mod people;
mod pipelines;
mod projects;
mod repository;

pub use emit::PendingDelivery;
pub use errors::WorldError;
pub use hooks::{
    auto_disabling, Badge, HookAlert, HookTarget, ProjectHook, SystemHook, HOOK_TESTS_PER_MINUTE,
};
pub use merge_requests::{MergeCheck, MergeRequest, MrSpec, MrState};
pub use notes::{Award, Note};
pub use people::{access, AccessToken, Namespace, NamespaceKind, PersonSpec, User};
pub use pipelines::{Job, Pipeline, ProtectedBranch, ProtectedBranches};
pub use projects::{CommitStatus, Project, ProjectSpec, Visibility};
pub use repository::{CommitRequest, FileAction};

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::util;

/// A user id.
pub type UserId = u64;
/// A project id.
pub type ProjectId = u64;
/// A namespace (group or user namespace) id.
pub type NamespaceId = u64;

/// The whole simulated instance.
#[derive(Debug)]
pub struct World {
    /// Instance root URL (`http://127.0.0.1:PORT`), used in `web_url`s.
    pub base_url: String,
    /// Users by id.
    pub users: BTreeMap<UserId, User>,
    /// Tokens by token string.
    pub tokens: HashMap<String, AccessToken>,
    /// Namespaces by id.
    pub namespaces: BTreeMap<NamespaceId, Namespace>,
    /// Projects by id (ordered, for listing and keyset pagination).
    pub projects: BTreeMap<ProjectId, Project>,
    /// Full path → project id.
    pub project_paths: HashMap<String, ProjectId>,
    /// Full path → namespace id.
    pub namespace_paths: HashMap<String, NamespaceId>,
    /// System hooks.
    pub system_hooks: Vec<SystemHook>,
    /// Queued webhook deliveries.
    pub pending: Vec<PendingDelivery>,
    /// The bot user.
    pub bot_user: UserId,
    /// Hooks each event UUID has reached (by target URL), for recursion blocking.
    pub hook_chains: HashMap<String, HashSet<String>>,
    /// Deliveries dropped by recursion blocking.
    pub blocked_deliveries: Vec<PendingDelivery>,
    /// How many API requests a background job (rebase, mergeability check) takes to finish
    /// after it is queued; GitLab runs them in Sidekiq, so callers must poll.
    pub background_delay: u32,
    /// Hook test requests per (project, user), for the `web_hook_test` rate limit (ms).
    pub hook_tests: HashMap<(ProjectId, UserId), Vec<i64>>,
    /// People with a role on every project (`gitlab-sim --user NAME=TOKEN:ROLE`), given to
    /// projects created later too.
    pub people: Vec<(UserId, u8)>,
    next_id: u64,
    clock: i64,
}

impl World {
    /// An empty world whose URLs start with `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        World {
            base_url: base_url.into(),
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            namespaces: BTreeMap::new(),
            projects: BTreeMap::new(),
            project_paths: HashMap::new(),
            namespace_paths: HashMap::new(),
            system_hooks: Vec::new(),
            pending: Vec::new(),
            bot_user: 0,
            hook_chains: HashMap::new(),
            blocked_deliveries: Vec::new(),
            background_delay: 2,
            hook_tests: HashMap::new(),
            people: Vec::new(),
            next_id: 1,
            clock: 0,
        }
    }

    pub(super) fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Now, strictly increasing across calls (so commit order is well defined).
    pub fn now(&mut self) -> i64 {
        let t = util::now_ms().max(self.clock + 1);
        self.clock = t;
        t
    }
}

/// A path slug of a name (lower case, `-` for anything else).
pub fn slug(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    s.trim_matches('-').to_string()
}

/// Git's ref-name rules, the parts that matter for branch names.
pub fn valid_branch_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.starts_with('/')
        && !name.ends_with('/')
        && !name.ends_with('.')
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && name != "HEAD"
        && !name
            .chars()
            .any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
}
