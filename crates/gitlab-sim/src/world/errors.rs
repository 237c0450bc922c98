//! Errors of world mutations.

/// Errors of world mutations; the messages are GitLab's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    /// Missing project.
    #[error("404 Project Not Found")]
    ProjectNotFound,
    /// Missing user.
    #[error("404 User Not Found")]
    UserNotFound,
    /// Missing branch.
    #[error("404 Branch Not Found")]
    BranchNotFound,
    /// Missing MR.
    #[error("404 Not found")]
    MergeRequestNotFound,
    /// Missing note.
    #[error("404 Not found")]
    NoteNotFound,
    /// Missing namespace.
    #[error("404 Namespace Not Found")]
    NamespaceNotFound,
    /// `Branch already exists`.
    #[error("Branch already exists")]
    BranchExists,
    /// `Invalid reference name: <ref>`.
    #[error("Invalid reference name: {0}")]
    InvalidRef(String),
    /// A create on an existing path.
    #[error("A file with this name already exists")]
    FileExists,
    /// An update/delete/move of a missing path.
    #[error("A file with this name doesn't exist")]
    FileMissing,
    /// Branch missing and no start point.
    #[error("You can only create or edit files when you are on a branch")]
    NotOnBranch,
    /// Another open MR for the source branch.
    #[error("Another open merge request already exists for this source branch: !{0}")]
    MrExists(u64),
    /// A bad argument.
    #[error("{0}")]
    Invalid(String),
    /// The MR's source branch does not exist.
    #[error("Source branch \"{0}\" does not exist")]
    SourceBranchMissing(String),
    /// The MR's target branch does not exist.
    #[error("Target branch \"{0}\" does not exist")]
    TargetBranchMissing(String),
    /// Source and target are the same branch.
    #[error("You can't use same project/branch for source and target")]
    SameBranch,
    /// A path taken by another project.
    #[error("has already been taken")]
    PathTaken,
    /// A reopen refused because a branch of the MR is gone (422).
    #[error("{0}")]
    ReopenBranchGone(String),
}
