//! System hooks that move the catalog: project lifecycle and the bot user's memberships.

use crate::catalog::{CatalogError, CatalogService, Change, Reconciled};
use crate::gitlab::hooks::system::TeamMemberEvent;
use crate::gitlab::hooks::HookEvent;
use crate::gitlab::ProjectId;
use crate::inbox::DeliveryRecord;

use super::refresh::Scanner;
use super::HandlerError;

/// Reacts to a system event when it is one that moves the catalog; `None` for other events.
pub async fn react(
    catalog: &CatalogService,
    scanner: &Scanner,
    delivery: &DeliveryRecord,
    event: &HookEvent,
) -> Option<Result<String, HandlerError>> {
    use HookEvent as E;
    let uuid = delivery.event_uuid.as_deref();
    let result = match event {
        E::ProjectCreate(e) | E::ProjectRename(e) | E::ProjectTransfer(e) | E::ProjectUpdate(e) => {
            reconcile(catalog, scanner, e.project_id, &e.path_with_namespace, uuid).await
        }
        E::ProjectDestroy(e) => {
            let r = catalog
                .forget(e.project_id, "destroyed")
                .map_err(into_handler_error);
            match r {
                Ok(r) => scanner
                    .forget(e.project_id)
                    .map(|()| describe(&r, &e.path_with_namespace))
                    .map_err(|err| into_handler_error(err.into())),
                Err(err) => Err(err),
            }
        }
        E::UserAddToTeam(e) | E::UserUpdateForTeam(e) | E::UserRemoveFromTeam(e) => {
            return Some(team_change(catalog, scanner, e, uuid).await)
        }
        _ => return None,
    };
    Some(result)
}

async fn team_change(
    catalog: &CatalogService,
    scanner: &Scanner,
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
    reconcile(
        catalog,
        scanner,
        e.project_id,
        &e.project_path_with_namespace,
        uuid,
    )
    .await
}

/// Reconciles the catalog entry, then the dependency state: a project catalogued anew (or
/// changed) is scanned when its state is behind; one no longer catalogued is forgotten.
async fn reconcile(
    catalog: &CatalogService,
    scanner: &Scanner,
    id: ProjectId,
    path: &str,
    uuid: Option<&str>,
) -> Result<String, HandlerError> {
    let r = catalog
        .reconcile(id, uuid)
        .await
        .map_err(into_handler_error)?;
    let mut text = describe(&r, path);
    let store_err = |err: crate::store::StoreError| into_handler_error(err.into());
    match &r {
        Reconciled::Catalogued(_) => {
            if let Some(project) = catalog.catalog.get(id).map_err(store_err)? {
                if scanner.is_stale(&project).map_err(store_err)? {
                    let summary = scanner.scan(&project, uuid).await.map_err(refresh_error)?;
                    if let Some(s) = summary {
                        text.push_str(&format!("; scanned: {}", s.describe()));
                    }
                }
            }
        }
        Reconciled::NotCatalogued {
            was_catalogued: true,
            ..
        } => scanner.forget(id).map_err(store_err)?,
        Reconciled::NotCatalogued { .. } => {}
    }
    Ok(text)
}

/// A refresh failure as a handler error: GitLab's transient failures are retried.
pub fn refresh_error(e: crate::inventory::RefreshError) -> HandlerError {
    use crate::inventory::RefreshError as R;
    match e {
        R::GitLab(g) => HandlerError::from_gitlab(&g),
        R::Store(s) => HandlerError::Permanent(s.to_string()),
        R::Registry(u) => HandlerError::Transient(u.to_string()),
    }
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

pub(crate) fn into_handler_error(e: CatalogError) -> HandlerError {
    if e.is_transient() {
        HandlerError::Transient(e.to_string())
    } else {
        HandlerError::Permanent(e.to_string())
    }
}
