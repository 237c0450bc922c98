//! Refusal replies to non-members at a bounded rate: a person without the Developer role who
//! comments `/backline ...` gets at most one "only members can..." reply per MR per day; further
//! attempts get only the emoji. The decision ([`should_reply`]) is pure; [`RefusalLog`] keeps
//! when each (project, MR, user) was last told, in the store, so restarts do not reset it.

use crate::gitlab::{MrIid, ProjectId, UserId};
use crate::store::{Store, StoreError};

const REFUSALS: &str = "refusal_replies";

/// One refusal reply per this long, per user and MR.
pub const REPLY_EVERY_MS: i64 = 24 * 3600 * 1000;

/// Whether to reply, given when this person was last told on this MR.
pub fn should_reply(last_ms: Option<i64>, now_ms: i64) -> bool {
    last_ms.is_none_or(|at| now_ms - at >= REPLY_EVERY_MS || at > now_ms)
}

/// When each (project, MR, user) was last refused with a reply.
#[derive(Clone)]
pub struct RefusalLog {
    tree: sled::Tree,
}

fn key(project: ProjectId, mr: MrIid, user: UserId) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..8].copy_from_slice(&project.get().to_be_bytes());
    k[8..16].copy_from_slice(&mr.get().to_be_bytes());
    k[16..].copy_from_slice(&user.get().to_be_bytes());
    k
}

impl RefusalLog {
    /// Opens the log.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(RefusalLog {
            tree: store.tree(REFUSALS)?,
        })
    }

    /// When `user` was last told on this MR.
    pub fn last(
        &self,
        project: ProjectId,
        mr: MrIid,
        user: UserId,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .tree
            .get(key(project, mr, user))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(i64::from_be_bytes))
    }

    /// Records a reply sent at `now_ms`, and drops this MR's entries older than a day.
    pub fn record(
        &self,
        project: ProjectId,
        mr: MrIid,
        user: UserId,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let prefix = &key(project, mr, user)[..16];
        for kv in self.tree.scan_prefix(prefix) {
            let (k, v) = kv?;
            let at = <[u8; 8]>::try_from(v.as_ref()).map_or(i64::MIN, i64::from_be_bytes);
            if should_reply(Some(at), now_ms) {
                self.tree.remove(k)?;
            }
        }
        self.tree
            .insert(key(project, mr, user), &now_ms.to_be_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_a_day() {
        assert!(should_reply(None, 0));
        assert!(!should_reply(Some(1000), 1000 + REPLY_EVERY_MS - 1));
        assert!(should_reply(Some(1000), 1000 + REPLY_EVERY_MS));
        // A clock that went back does not silence a person for ever.
        assert!(should_reply(Some(5000), 1000));
    }

    #[test]
    fn recorded_per_user_and_mr() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let log = RefusalLog::open(&store).unwrap();
        let (p, mr, u) = (ProjectId(1), MrIid(2), UserId(3));
        assert_eq!(log.last(p, mr, u).unwrap(), None);
        log.record(p, mr, u, 10).unwrap();
        assert_eq!(log.last(p, mr, u).unwrap(), Some(10));
        assert_eq!(log.last(p, MrIid(3), u).unwrap(), None);
        assert_eq!(log.last(p, mr, UserId(4)).unwrap(), None);
        // A later record on the MR sweeps entries older than a day.
        log.record(p, mr, UserId(4), 10 + REPLY_EVERY_MS).unwrap();
        assert_eq!(log.last(p, mr, u).unwrap(), None);
    }
}
