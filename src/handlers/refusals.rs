//! Refusal replies to non-members at a bounded rate: a person without the Developer role who
//! comments `/backline ...` gets at most one "only members can..." reply per MR per day; further
//! attempts get only the emoji. The decision ([`should_reply`]) is pure; [`RefusalLog`] keeps
//! when each (project, MR, user) was last told, in the store, so restarts do not reset it.

use crate::gitlab::{MrIid, ProjectId, UserId};
use crate::store::{Millis, Store, StoreError, Table};

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
    table: Table<(ProjectId, MrIid, UserId), i64, Millis>,
}

impl RefusalLog {
    /// Opens the log.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(RefusalLog {
            table: store.table(REFUSALS)?,
        })
    }

    /// When `user` was last told on this MR.
    pub fn last(
        &self,
        project: ProjectId,
        mr: MrIid,
        user: UserId,
    ) -> Result<Option<i64>, StoreError> {
        self.table.get(&(project, mr, user))
    }

    /// Records a reply sent at `now_ms`, and drops this MR's entries older than a day.
    pub fn record(
        &self,
        project: ProjectId,
        mr: MrIid,
        user: UserId,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let told: Vec<((ProjectId, MrIid, UserId), i64)> = self
            .table
            .scan_prefix(&(project, mr))
            .collect::<Result<_, _>>()?;
        for (k, at) in told {
            if should_reply(Some(at), now_ms) {
                self.table.remove(&k)?;
            }
        }
        self.table.insert(&(project, mr, user), &now_ms)?;
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
