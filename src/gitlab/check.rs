//! The start-up check: who the token is, what it may do, when it expires, and which GitLab
//! answers. The judgement ([`assess_token`]) is pure; [`check`] asks GitLab.

use time::{Date, OffsetDateTime};

use crate::gitlab::rest::{TokenInfo, User, VersionInfo};
use crate::gitlab::{GitLab, GitLabError};

/// Warn when the token expires within this many days.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// What the token's details say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAssessment {
    /// Days until it expires (negative: expired), when it expires at all.
    pub days_left: Option<i64>,
    /// Whether it has the `api` scope (needed to open merge requests and comment).
    pub has_api_scope: bool,
    /// Things the operator should know.
    pub warnings: Vec<String>,
}

/// Judges a token's scopes and expiry on `today`.
pub fn assess_token(info: &TokenInfo, today: Date) -> TokenAssessment {
    let mut warnings = Vec::new();
    let has_api_scope = info.scopes.iter().any(|s| s == "api");
    if !has_api_scope {
        warnings.push(format!(
            "the token's scopes are [{}]; backline needs `api` to open merge requests and comment",
            info.scopes.join(", ")
        ));
    }
    for needed in ["read_repository", "write_repository"] {
        if !has_api_scope && !info.scopes.iter().any(|s| s == needed) {
            warnings.push(format!("the token lacks `{needed}`"));
        }
    }
    let days_left = info.expires_at.as_deref().and_then(|raw| {
        let date = Date::parse(
            raw.get(..10)?,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()?;
        Some((date - today).whole_days())
    });
    match days_left {
        Some(d) if d < 0 => warnings.push(format!("the token expired {} days ago", -d)),
        Some(d) if d < EXPIRY_WARNING_DAYS => warnings.push(format!(
            "the token expires in {d} days ({}); rotate it soon",
            info.expires_at.as_deref().unwrap_or("?")
        )),
        _ => {}
    }
    if info.revoked || !info.active {
        warnings.push("the token is revoked or inactive".to_string());
    }
    TokenAssessment {
        days_left,
        has_api_scope,
        warnings,
    }
}

/// What the start-up check found.
#[derive(Debug, Clone)]
pub struct Startup {
    /// The bot user.
    pub user: User,
    /// The token's details (`None` when GitLab would not tell).
    pub token: Option<TokenInfo>,
    /// The judgement of them.
    pub assessment: Option<TokenAssessment>,
    /// GitLab's version (`None` when it would not tell).
    pub version: Option<VersionInfo>,
}

impl Startup {
    /// Whether the bot may act on projects (the token has `api`, or its scopes are unknown).
    pub fn may_act(&self) -> bool {
        self.assessment.as_ref().is_none_or(|a| a.has_api_scope)
    }
}

/// Asks GitLab who the token is and what it may do. Only the user lookup must succeed; the
/// token and version details are informative.
pub async fn check(gitlab: &GitLab) -> Result<Startup, GitLabError> {
    let user = gitlab.current_user().await?;
    let token = match gitlab.token_info().await {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the token's scopes and expiry");
            None
        }
    };
    let version = match gitlab.version().await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(error = %e, "could not read GitLab's version");
            None
        }
    };
    let today = OffsetDateTime::now_utc().date();
    let assessment = token.as_ref().map(|t| assess_token(t, today));
    Ok(Startup {
        user,
        token,
        assessment,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn token(scopes: &[&str], expires: Option<&str>) -> TokenInfo {
        TokenInfo {
            id: 1,
            name: Some("backline".into()),
            revoked: false,
            active: true,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            user_id: None,
            expires_at: expires.map(str::to_string),
        }
    }

    #[test]
    fn expiry_and_scopes() {
        let today = date!(2026 - 11 - 25);
        let ok = assess_token(&token(&["api"], Some("2027-06-01")), today);
        assert!(ok.has_api_scope && ok.warnings.is_empty(), "{ok:?}");
        let soon = assess_token(&token(&["api"], Some("2026-12-01")), today);
        assert_eq!(soon.days_left, Some(6));
        assert!(soon.warnings[0].contains("expires in 6 days"));
        let never = assess_token(&token(&["api"], None), today);
        assert_eq!(never.days_left, None);
        let read_only = assess_token(&token(&["read_api", "read_repository"], None), today);
        assert!(!read_only.has_api_scope);
        assert!(read_only.warnings.iter().any(|w| w.contains("needs `api`")));
        assert!(read_only
            .warnings
            .iter()
            .any(|w| w.contains("write_repository")));
        let expired = assess_token(&token(&["api"], Some("2026-11-20")), today);
        assert!(expired.warnings[0].contains("expired 5 days ago"));
    }
}
