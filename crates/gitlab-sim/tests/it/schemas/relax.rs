//! Where a copied schema is older than the GitLab entity it describes.
//!
//! The mirror holds snapshots of some schemas from before GitLab added fields to the entity,
//! and those schemas say `additionalProperties: false`. Each allowance below names the entity
//! file (`lib/api/entities/*.rb` of gitlabhq/gitlabhq) that renders the extra fields today;
//! nothing else is overlooked, and the types of every field a schema describes are still
//! checked.

use super::validator::Relax;

/// `GET /projects?simple=true` against `projects.json`: `lib/api/entities/basic_project_details.rb`
/// also exposes `topics`, `readme_url` and `namespace` (`NamespaceBasic`).
pub fn projects_simple() -> Relax {
    Relax {
        extra: vec!["topics", "readme_url", "namespace"],
        ..Relax::default()
    }
}

/// The full `Project` entity (`lib/api/entities/project.rb`, a `BasicProjectDetails` with many
/// more fields) has no schema of its own in GitLab's specs: its answers must still carry every
/// field `projects.json` requires, with the types it gives.
pub fn project_full() -> Relax {
    Relax {
        any_extra: true,
        ..Relax::default()
    }
}

/// `GET /projects/:id/merge_requests` against `merge_requests.json`, a snapshot older than
/// `lib/api/entities/merge_request_basic.rb` (and `issuable_entity.rb`), which also render the
/// fields below; the author/assignee objects are `UserBasic` (`lib/api/entities/user_basic.rb`),
/// which also exposes `locked`. `approvals_before_merge` is exposed only by Enterprise Edition
/// (`ee/lib/ee/api/entities/merge_request_basic.rb`); the simulator is Community Edition
/// (`GET /version` says `"enterprise": false`).
pub fn merge_requests_list() -> Relax {
    Relax {
        extra: vec![
            "merged_by",
            "merge_user",
            "merged_at",
            "closed_by",
            "closed_at",
            "assignees",
            "reviewers",
            "draft",
            "detailed_merge_status",
            "squash_commit_sha",
            "prepared_at",
            "reference",
            "references",
            "squash_on_merge",
            "task_completion_status",
            "has_conflicts",
            "blocking_discussions_resolved",
            "locked",
        ],
        not_required: vec!["approvals_before_merge"],
        ..Relax::default()
    }
}

/// Notes against `notes.json`: `lib/api/entities/note.rb` also renders `project_id`,
/// `imported` and `imported_from`.
pub fn notes() -> Relax {
    Relax {
        extra: vec!["project_id", "imported", "imported_from"],
        ..Relax::default()
    }
}

/// Project hooks against `project_hook.json`: `lib/api/entities/hook.rb` also renders `name`,
/// `description`, `branch_filter_strategy` and `custom_headers`, since GitLab 19.0
/// `token_present` and `signing_token_present` (`doc/api/project_webhooks.md`), and
/// `lib/api/entities/project_hook.rb` `feature_flag_events`, `milestone_events` and
/// `resource_access_token_events`.
pub fn project_hooks() -> Relax {
    Relax {
        extra: vec![
            "name",
            "description",
            "branch_filter_strategy",
            "custom_headers",
            "token_present",
            "signing_token_present",
            "feature_flag_events",
            "milestone_events",
            "resource_access_token_events",
        ],
        ..Relax::default()
    }
}

/// Schemas that are current with their entity.
pub fn none() -> Relax {
    Relax::default()
}
