//! The catalog table: projects by id, with an index by path (lower case, since GitLab's
//! paths are case-insensitive). Writes go id record first, then the path index; a lookup by path
//! checks the record, so an index entry left behind by a crash is ignored and later replaced.

use std::sync::Arc;

use crate::catalog::model::CatalogProject;
use crate::gitlab::ProjectId;
use crate::store::{BigEndian, Store, StoreError, Table};

const PROJECTS: &str = "projects";
const PATHS: &str = "project_paths";

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new project.
    Added,
    /// An existing project whose record changed.
    Updated,
    /// Nothing to write.
    Unchanged,
}

/// The catalog of projects. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    inner: Arc<Tables>,
}

struct Tables {
    projects: Table<ProjectId, CatalogProject>,
    /// Lower-case path → project id.
    paths: Table<String, ProjectId, BigEndian>,
}

impl Catalog {
    /// Opens the catalog's tables in `store`.
    pub fn open(store: &Store) -> Result<Catalog, StoreError> {
        Ok(Catalog {
            inner: Arc::new(Tables {
                projects: store.table(PROJECTS)?,
                paths: store.table(PATHS)?,
            }),
        })
    }

    /// A project by id.
    pub fn get(&self, id: ProjectId) -> Result<Option<CatalogProject>, StoreError> {
        self.inner.projects.get(&id)
    }

    /// A project by full path (any case).
    pub fn get_by_path(&self, path: &str) -> Result<Option<CatalogProject>, StoreError> {
        let Some(id) = self.inner.paths.get(&path.to_ascii_lowercase())? else {
            return Ok(None);
        };
        Ok(self
            .get(id)?
            .filter(|p| p.path_with_namespace.eq_ignore_ascii_case(path)))
    }

    /// Writes `project` when it differs from what is stored.
    pub fn upsert(&self, project: &CatalogProject) -> Result<Change, StoreError> {
        let old = self.get(project.id)?;
        if old.as_ref() == Some(project) {
            return Ok(Change::Unchanged);
        }
        self.inner.projects.insert(&project.id, project)?;
        let new_path = project.path_with_namespace.to_ascii_lowercase();
        self.inner.paths.insert(&new_path, &project.id)?;
        if let Some(old) = &old {
            let old_path = old.path_with_namespace.to_ascii_lowercase();
            if old_path != new_path {
                self.remove_path_if_points_at(&old_path, project.id)?;
            }
        }
        Ok(if old.is_some() {
            Change::Updated
        } else {
            Change::Added
        })
    }

    /// Removes a project; returns what was stored.
    pub fn remove(&self, id: ProjectId) -> Result<Option<CatalogProject>, StoreError> {
        let Some(old) = self.get(id)? else {
            return Ok(None);
        };
        self.inner.projects.remove(&id)?;
        self.remove_path_if_points_at(&old.path_with_namespace.to_ascii_lowercase(), id)?;
        Ok(Some(old))
    }

    fn remove_path_if_points_at(&self, path: &str, id: ProjectId) -> Result<(), StoreError> {
        // Only if it still names this project (another may have taken the path since): a
        // conflict leaves the other project's entry.
        let _taken_since = self
            .inner
            .paths
            .compare_and_swap(&path.to_string(), Some(&id), None)?;
        Ok(())
    }

    /// Projects in the catalog (a walk of the table).
    pub fn len(&self) -> usize {
        self.inner.projects.count()
    }

    /// Whether the catalog is empty (looks at one key).
    pub fn is_empty(&self) -> bool {
        matches!(self.inner.projects.is_empty(), Ok(true))
    }

    /// Every id, ascending.
    pub fn ids(&self) -> Result<Vec<ProjectId>, StoreError> {
        self.inner.projects.keys().collect()
    }

    /// Projects whose managed hook GitLab has disabled (`HookState::Disabled`), by id.
    pub fn disabled_hooks(&self) -> Result<Vec<CatalogProject>, StoreError> {
        let mut out = Vec::new();
        for kv in self.inner.projects.iter() {
            let (_, p) = kv?;
            if p.hook.is_disabled() {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// A page of projects by ascending id: `(total, items)`.
    pub fn page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<CatalogProject>), StoreError> {
        let total = self.inner.projects.count();
        let mut items = Vec::new();
        for id in self.inner.projects.keys().skip(offset).take(limit) {
            if let Some(p) = self.get(id?)? {
                items.push(p);
            }
        }
        Ok((total, items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::HookState;

    fn project(id: u64, path: &str) -> CatalogProject {
        CatalogProject {
            id: ProjectId(id),
            path_with_namespace: path.to_string(),
            name: path.rsplit('/').next().unwrap().to_string(),
            default_branch: Some("main".into()),
            visibility: None,
            web_url: None,
            last_activity_at: None,
            added_at_ms: 1,
            updated_at_ms: 1,
            hook: HookState::Unchecked,
            badge: HookState::Unchecked,
        }
    }

    #[test]
    fn upsert_rename_and_remove_keep_the_path_index_right() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let c = Catalog::open(&store).unwrap();
        assert_eq!(c.upsert(&project(7, "acme/app")).unwrap(), Change::Added);
        assert_eq!(
            c.upsert(&project(7, "acme/app")).unwrap(),
            Change::Unchanged
        );
        assert_eq!(c.get_by_path("ACME/App").unwrap().unwrap().id, ProjectId(7));
        assert_eq!(
            c.upsert(&project(7, "acme/renamed")).unwrap(),
            Change::Updated
        );
        assert!(c.get_by_path("acme/app").unwrap().is_none());
        assert_eq!(
            c.get_by_path("acme/renamed").unwrap().unwrap().id,
            ProjectId(7)
        );
        // Another project takes the old path: the old project's removal must not unindex it.
        c.upsert(&project(8, "acme/app")).unwrap();
        c.upsert(&project(9, "x/y")).unwrap();
        assert_eq!(
            c.ids().unwrap(),
            vec![ProjectId(7), ProjectId(8), ProjectId(9)]
        );
        let (total, page) = c.page(1, 1).unwrap();
        assert_eq!((total, page[0].id), (3, ProjectId(8)));
        assert!(c.remove(ProjectId(7)).unwrap().is_some());
        assert!(c.remove(ProjectId(7)).unwrap().is_none());
        assert_eq!(c.get_by_path("acme/app").unwrap().unwrap().id, ProjectId(8));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn a_stale_path_entry_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let c = Catalog::open(&store).unwrap();
        c.upsert(&project(1, "a/b")).unwrap();
        // As a crash between the two writes of a rename would leave it.
        let paths: Table<String, ProjectId, BigEndian> = store.table(PATHS).unwrap();
        paths
            .insert(&"old/path".to_string(), &ProjectId(1))
            .unwrap();
        assert!(c.get_by_path("old/path").unwrap().is_none());
    }
}
