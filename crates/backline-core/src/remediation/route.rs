//! Which of the three ways a fix got through (issue 18), as the plan records it and the MR
//! text and the API show it: the package moved within its parents' ranges, parents were
//! bumped to releases that allow the fix, a pinned override forces it, or nothing gets
//! through and the chain that blocks it is named.

use serde::{Deserialize, Serialize};

pub use super::patch::OverrideKind;

/// One parent moved so that its range admits the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentBump {
    /// The parent.
    pub package: String,
    /// Its installed version.
    pub from: String,
    /// The release it moves to (the smallest whose range allows the fix).
    pub to: String,
}

/// How the fix gets through. Stored with postcard (not self-describing: no internally tagged
/// enum); [`FixRoute::to_json`] is the API's shape, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixRoute {
    /// The package moves; every range on it already allows the fix (or is the project's own).
    Direct,
    /// Parents move first, nearest first: each one's new release allows the one below.
    ParentBump {
        /// The bumps, the package's own parent first.
        bumps: Vec<ParentBump>,
    },
    /// A pinned override installs the fix under parents whose ranges exclude it.
    Override {
        /// The mechanism written.
        mechanism: OverrideKind,
        /// Why no parent bump did.
        reason: String,
    },
    /// Nothing gets through.
    Blocked {
        /// `app -> a@1.2.0 -> b@^2 (fix needs b 3.0.1)`.
        chain: String,
        /// Why neither a bump nor an override did.
        reason: String,
    },
}

impl FixRoute {
    /// The word the API uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            FixRoute::Direct => "direct",
            FixRoute::ParentBump { .. } => "parent_bump",
            FixRoute::Override { .. } => "override",
            FixRoute::Blocked { .. } => "blocked",
        }
    }

    /// The API's shape: `{"kind": "parent_bump", "bumps": [...]}`, `{"kind": "override",
    /// "mechanism": "npm_overrides", "reason": ...}`, `{"kind": "blocked", "chain": ...,
    /// "reason": ...}`, `{"kind": "direct"}`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            FixRoute::Direct => json!({"kind": self.as_str()}),
            FixRoute::ParentBump { bumps } => json!({"kind": self.as_str(), "bumps": bumps}),
            FixRoute::Override { mechanism, reason } => {
                json!({"kind": self.as_str(), "mechanism": mechanism, "reason": reason})
            }
            FixRoute::Blocked { chain, reason } => {
                json!({"kind": self.as_str(), "chain": chain, "reason": reason})
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_survive_the_store_and_show_their_kind() {
        let routes = [
            FixRoute::Direct,
            FixRoute::ParentBump {
                bumps: vec![ParentBump {
                    package: "a".into(),
                    from: "1.2.0".into(),
                    to: "1.3.0".into(),
                }],
            },
            FixRoute::Override {
                mechanism: OverrideKind::PnpmOverrides,
                reason: "r".into(),
            },
            FixRoute::Blocked {
                chain: "app -> a@1 -> b@^2 (fix needs b 3)".into(),
                reason: "r".into(),
            },
        ];
        for r in &routes {
            // The store's codec (postcard): a route survives the remediation table.
            let bytes = postcard::to_allocvec(&Some(r.clone())).unwrap();
            let back: Option<FixRoute> = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(back.as_ref(), Some(r));
        }
        assert_eq!(
            routes[2].to_json(),
            serde_json::json!({"kind": "override", "mechanism": "pnpm_overrides", "reason": "r"})
        );
        assert_eq!(routes[1].to_json()["bumps"][0]["to"], "1.3.0");
    }
}
