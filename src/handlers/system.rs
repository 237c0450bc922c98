//! System hooks that move the catalog: project lifecycle and the bot user's memberships.

use crate::catalog::{CatalogError, CatalogService, Change, Reconciled};
use crate::gitlab::hooks::system::TeamMemberEvent;
use crate::gitlab::hooks::HookEvent;
use crate::gitlab::ProjectId;
use crate::inbox::DeliveryRecord;

use super::HandlerError;

/// Reacts to a system event when it is one that moves the catalog; `None` for other events.
pub async fn react(
    catalog: &CatalogService,
    delivery: &DeliveryRecord,
    event: &HookEvent,
) -> Option<Result<String, HandlerError>> {
    use HookEvent as E;
    let uuid = delivery.event_uuid.as_deref();
    let result = match event {
        E::ProjectCreate(e) | E::ProjectRename(e) | E::ProjectTransfer(e) | E::ProjectUpdate(e) => {
            reconcile(catalog, e.project_id, &e.path_with_namespace, uuid).await
        }
        E::ProjectDestroy(e) => catalog
            .forget(e.project_id, "destroyed")
            .map(|r| describe(&r, &e.path_with_namespace))
            .map_err(into_handler_error),
        E::UserAddToTeam(e) | E::UserUpdateForTeam(e) | E::UserRemoveFromTeam(e) => {
            return Some(team_change(catalog, e, uuid).await)
        }
        _ => return None,
    };
    Some(result)
}

async fn team_change(
    catalog: &CatalogService,
    e: &TeamMemberEvent,
    uuid: Option<&str>,
) -> Result<String, HandlerError> {
    if e.user_id != catalog.bot().id {
        return Ok(format!(
            "{} of {} in {}: not the bot user, nothing to do",
            e.event_name, e.user_username, e.project_path_with_namespace
        ));
    }
    // A new role may now allow managing the hook.
    catalog
        .recheck_hook(e.project_id)
        .map_err(|err| into_handler_error(err.into()))?;
    // Removal from the project may leave access through a group: ask GitLab rather than guess.
    reconcile(catalog, e.project_id, &e.project_path_with_namespace, uuid).await
}

async fn reconcile(
    catalog: &CatalogService,
    id: ProjectId,
    path: &str,
    uuid: Option<&str>,
) -> Result<String, HandlerError> {
    catalog
        .reconcile(id, uuid)
        .await
        .map(|r| describe(&r, path))
        .map_err(into_handler_error)
}

fn describe(r: &Reconciled, path: &str) -> String {
    match r {
        Reconciled::Catalogued(Change::Added) => format!("catalog: added {path}"),
        Reconciled::Catalogued(Change::Updated) => format!("catalog: updated {path}"),
        Reconciled::Catalogued(Change::Unchanged) => format!("catalog: {path} already up to date"),
        Reconciled::NotCatalogued {
            reason,
            was_catalogued: true,
        } => format!("catalog: removed {path} ({reason})"),
        Reconciled::NotCatalogued {
            reason,
            was_catalogued: false,
        } => format!("catalog: {path} not catalogued ({reason})"),
    }
}

fn into_handler_error(e: CatalogError) -> HandlerError {
    if e.is_transient() {
        HandlerError::Transient(e.to_string())
    } else {
        HandlerError::Permanent(e.to_string())
    }
}
