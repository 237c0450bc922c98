//! Remediation: turning findings into merge requests.

pub mod patch;
