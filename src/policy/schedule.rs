//! `schedule`: when non-security upgrades may open. The grammar and the window decisions
//! live in the core ([`backline_core::schedule`]); re-exported here for the policy file.

pub use backline_core::schedule::{Schedule, ScheduleError, ScheduleWait, WAITING_PREFIX};
