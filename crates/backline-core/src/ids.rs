//! Typed identifiers, so that a project id is never passed where an MR iid is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The raw numeric value, as GitLab sends it.
            pub fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<u64> for $name {
            fn from(value: u64) -> Self {
                Self(value)
            }
        }
    };
}

typed_id!(
    /// A project's global id (`project.id`, `project_id`).
    ProjectId
);
typed_id!(
    /// A merge request's project-scoped number (`iid`, the `!16` in the UI).
    MrIid
);
typed_id!(
    /// A user's global id.
    UserId
);
