//! The one retry policy of the three backoff loops: the inbox's redelivery of failed
//! deliveries, the GitLab client and the package-registry client. One schedule (exponential
//! from a base, capped), one set of jitters, one reading of `Retry-After` (seconds or an HTTP
//! date, RFC 9110 §10.2.3) and one way of waiting ([`Sleeper`], which tests replace so that
//! nothing waits).
//!
//! Decisions are pure ([`RetryPolicy::decide`] takes the random draw as an argument); only
//! [`RetryPolicy::next`] draws, and only a [`Sleeper`] waits.

mod backoff;
mod policy;
mod retry_after;
mod sleeper;

pub use backoff::{Backoff, Jitter};
pub use policy::{AfterRule, Decision, RetryPolicy};
pub use retry_after::parse_retry_after;
pub use sleeper::{RecordingSleeper, Sleeper, TokioSleeper};
