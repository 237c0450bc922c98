//! Which failed GitLab calls may be tried again. How long to wait is the one retry policy's
//! ([`crate::retry`]): bounded attempts, jittered exponential backoff, and GitLab's own
//! `Retry-After` (seconds or an HTTP date) honoured up to a cap on 429 and 503.

pub use crate::retry::{parse_retry_after, RecordingSleeper, RetryPolicy, Sleeper, TokioSleeper};

/// Whether a failed attempt may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 429: GitLab did not process the request.
    RateLimited,
    /// 502, 503, 504: a proxy or an unavailable GitLab; the request did not run.
    Unavailable,
    /// 500 or another 5xx: the request may have run.
    ServerError,
    /// No connection could be made: the request was not sent.
    ConnectFailed,
    /// Timed out or the connection dropped mid-way: the request may have run.
    Interrupted,
    /// GitLab's TLS certificate was refused: trying again at once cannot help.
    CertificateRefused,
}

impl Outcome {
    /// Whether to try again. A request that is not idempotent (POST: create a commit, an MR, a
    /// note) is repeated only when GitLab cannot have run it, so a retry never makes a second
    /// commit or a second comment. The caller's handler is itself retried by the inbox, and it
    /// looks at GitLab's state before acting again.
    pub fn retryable(self, idempotent: bool) -> bool {
        match self {
            Outcome::RateLimited | Outcome::Unavailable | Outcome::ConnectFailed => true,
            Outcome::ServerError | Outcome::Interrupted => idempotent,
            Outcome::CertificateRefused => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_that_cannot_have_run_are_repeated_when_not_idempotent() {
        for o in [
            Outcome::RateLimited,
            Outcome::Unavailable,
            Outcome::ConnectFailed,
        ] {
            assert!(o.retryable(false) && o.retryable(true));
        }
        for o in [Outcome::ServerError, Outcome::Interrupted] {
            assert!(!o.retryable(false) && o.retryable(true));
        }
        assert!(!Outcome::CertificateRefused.retryable(true));
    }
}
