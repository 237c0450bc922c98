//! Slowing down before GitLab says 429: its `RateLimit-*` headers (`lib/gitlab/rack_attack.rb`,
//! `throttled_response_headers` / `common_response_headers`) tell how many requests are left
//! (`RateLimit-Remaining`) until the window resets (`RateLimit-Reset`, Unix seconds; older
//! GitLab sent seconds from now). Near zero, the client spreads what is left over what remains
//! of the window instead of spending it and waiting out a 429 of a minute or more.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What GitLab said is left of the current rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Requests left.
    pub remaining: u64,
    /// Requests allowed per minute (`RateLimit-Limit`).
    pub limit: u64,
    /// Until the window resets.
    pub reset_in: Duration,
}

/// The budget from an answer's headers, if it carries one.
pub fn budget(header: impl Fn(&str) -> Option<String>, now: SystemTime) -> Option<Budget> {
    let number = |name: &str| header(name)?.trim().parse::<u64>().ok();
    let remaining = number("ratelimit-remaining")?;
    let limit = number("ratelimit-limit").unwrap_or(0);
    let reset = number("ratelimit-reset").unwrap_or(0);
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // A Unix time (any time after 2001) or, from older GitLab, seconds from now.
    let reset_in = if reset > 1_000_000_000 {
        reset.saturating_sub(now_secs)
    } else {
        reset
    };
    Some(Budget {
        remaining,
        limit,
        reset_in: Duration::from_secs(reset_in),
    })
}

/// How long to wait before the next request: `None` while a tenth of the limit is left (at least
/// one request); then the rest of the window shared among the requests left, at most `cap`.
pub fn delay(budget: &Budget, cap: Duration) -> Option<Duration> {
    let near_zero = (budget.limit / 10).max(1);
    if budget.remaining > near_zero || budget.reset_in.is_zero() {
        return None;
    }
    let share = budget.reset_in / u32::try_from(budget.remaining + 1).unwrap_or(u32::MAX);
    Some(share.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_unix_and_relative_resets() {
        let now = UNIX_EPOCH + Duration::from_secs(1_609_842_570);
        let b = budget(
            headers(&[
                ("RateLimit-Remaining", "3"),
                ("RateLimit-Limit", "60"),
                ("RateLimit-Reset", "1609844400"),
            ]),
            now,
        )
        .unwrap();
        assert_eq!(b.reset_in, Duration::from_secs(1830));
        let old = budget(
            headers(&[("RateLimit-Remaining", "0"), ("RateLimit-Reset", "30")]),
            now,
        )
        .unwrap();
        assert_eq!((old.remaining, old.reset_in), (0, Duration::from_secs(30)));
        assert_eq!(budget(headers(&[]), now), None);
    }

    #[test]
    fn slows_down_only_near_zero_and_never_past_the_cap() {
        let cap = Duration::from_secs(30);
        let plenty = Budget {
            remaining: 100,
            limit: 600,
            reset_in: Duration::from_secs(40),
        };
        assert_eq!(delay(&plenty, cap), None);
        let low = Budget {
            remaining: 3,
            ..plenty
        };
        assert_eq!(delay(&low, cap), Some(Duration::from_secs(10)));
        let none_left = Budget {
            remaining: 0,
            reset_in: Duration::from_secs(90),
            ..plenty
        };
        assert_eq!(delay(&none_left, cap), Some(cap));
    }
}
