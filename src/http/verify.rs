//! Webhook verification, on the raw bytes and before any parse: Standard Webhooks signatures
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`) or GitLab's `X-Gitlab-Token`.
//! Pure: headers, body and the current time in; a verdict out. Every comparison is constant-time.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::gitlab::ProjectId;
use crate::hook_secret::project_hook_secret;
use crate::secret::Secret;

pub use crate::signing_key::SigningKey;

/// The verification-relevant headers of a delivery.
#[derive(Debug, Default, Clone, Copy)]
pub struct VerifyHeaders<'a> {
    /// `X-Gitlab-Token`.
    pub gitlab_token: Option<&'a str>,
    /// `webhook-id`.
    pub webhook_id: Option<&'a str>,
    /// `webhook-timestamp` (Unix seconds).
    pub webhook_timestamp: Option<&'a str>,
    /// `webhook-signature` (space-separated `v1,<base64>` entries).
    pub webhook_signature: Option<&'a str>,
}

/// How a delivery was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// A valid Standard Webhooks signature.
    Signature,
    /// A matching `X-Gitlab-Token`.
    Token,
    /// Nothing is configured and insecure mode is on.
    Unverified,
}

/// Why a delivery was refused. The message is short and never contains a header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A secret token is configured but the delivery has no `X-Gitlab-Token`.
    #[error("missing X-Gitlab-Token")]
    MissingToken,
    /// `X-Gitlab-Token` matches no configured secret.
    #[error("invalid X-Gitlab-Token")]
    InvalidToken,
    /// Only signing tokens are configured and the delivery is not signed.
    #[error("missing webhook-signature")]
    MissingSignature,
    /// `webhook-id` or `webhook-timestamp` is missing beside a signature.
    #[error("missing webhook-id or webhook-timestamp")]
    MissingSignatureHeaders,
    /// `webhook-signature` holds no `v1,<base64>` entry.
    #[error("malformed webhook-signature")]
    MalformedSignature,
    /// No signature entry matches any configured key.
    #[error("invalid webhook-signature")]
    InvalidSignature,
    /// `webhook-timestamp` is not a Unix time in seconds.
    #[error("malformed webhook-timestamp")]
    MalformedTimestamp,
    /// `webhook-timestamp` is outside the tolerance window.
    #[error("webhook-timestamp outside the allowed window")]
    StaleTimestamp,
    /// Nothing is configured and insecure mode is off (the server refuses to start so).
    #[error("no webhook verification configured")]
    NotConfigured,
    /// A delivery to a project's hook URL is about another project.
    #[error("the delivery is about another project than its hook's")]
    ProjectMismatch,
}

impl VerifyError {
    /// A stable label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            VerifyError::MissingToken => "missing_token",
            VerifyError::InvalidToken => "invalid_token",
            VerifyError::MissingSignature => "missing_signature",
            VerifyError::MissingSignatureHeaders => "missing_signature_headers",
            VerifyError::MalformedSignature => "malformed_signature",
            VerifyError::InvalidSignature => "invalid_signature",
            VerifyError::MalformedTimestamp => "malformed_timestamp",
            VerifyError::StaleTimestamp => "stale_timestamp",
            VerifyError::NotConfigured => "not_configured",
            VerifyError::ProjectMismatch => "project_mismatch",
        }
    }

    /// Every label, for metrics that start at zero.
    pub const LABELS: [&'static str; 10] = [
        "missing_token",
        "invalid_token",
        "missing_signature",
        "missing_signature_headers",
        "malformed_signature",
        "invalid_signature",
        "malformed_timestamp",
        "stale_timestamp",
        "not_configured",
        "project_mismatch",
    ];
}

/// Where a delivery was posted: the shared URL (system hooks, hand-made hooks) or a managed
/// project hook's own URL, whose token is that project's derived secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookScope {
    /// `POST /webhooks/gitlab`: the global secrets.
    Global,
    /// `POST /webhooks/gitlab/projects/{id}`: the secret derived for this project.
    Project(ProjectId),
}

/// What the headers alone decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precheck {
    /// Verified already (token, or insecure mode): the body may be read as a trusted one.
    Verified(Verified),
    /// A well-formed, fresh signature: it can only be checked on the whole body
    /// ([`Verifier::verify_body`]), which must be read under the unverified-bytes budget.
    NeedsBody,
}

/// The configured secrets and keys, and the verdict rules over them.
#[derive(Debug, Clone)]
pub struct Verifier {
    secrets: Vec<Secret>,
    secret_digests: Vec<[u8; 32]>,
    keys: Vec<SigningKey>,
    tolerance: Duration,
    insecure: bool,
}

impl Verifier {
    /// Builds a verifier. With no secret and no key, only `insecure` lets deliveries through.
    pub fn new(
        secrets: &[Secret],
        keys: Vec<SigningKey>,
        tolerance: Duration,
        insecure: bool,
    ) -> Self {
        Verifier {
            secrets: secrets.to_vec(),
            secret_digests: secrets
                .iter()
                .map(|s| Sha256::digest(s.expose().as_bytes()).into())
                .collect(),
            keys,
            tolerance,
            insecure,
        }
    }

    /// Verifies a delivery posted to the shared URL. `now` is the current Unix time in seconds.
    ///
    /// A signature decides when one is present and a key is configured; otherwise the secret
    /// token does. Every configured secret and key is tried, so rotation works.
    pub fn verify(
        &self,
        headers: &VerifyHeaders<'_>,
        body: &[u8],
        now: i64,
    ) -> Result<Verified, VerifyError> {
        match self.precheck(headers, HookScope::Global, now)? {
            Precheck::Verified(v) => Ok(v),
            Precheck::NeedsBody => self.verify_body(headers, body),
        }
    }

    /// Everything that can be decided from the headers, before a byte of the body is read: the
    /// token (against the global secrets, or the project's derived one), or the signature's
    /// shape and timestamp.
    pub fn precheck(
        &self,
        headers: &VerifyHeaders<'_>,
        scope: HookScope,
        now: i64,
    ) -> Result<Precheck, VerifyError> {
        if let (Some(signature), false) = (headers.webhook_signature, self.keys.is_empty()) {
            self.precheck_signature(headers, signature, now)?;
            return Ok(Precheck::NeedsBody);
        }
        if !self.secret_digests.is_empty() {
            let token = headers.gitlab_token.ok_or(VerifyError::MissingToken)?;
            let matches = match scope {
                HookScope::Global => self.token_matches(token),
                HookScope::Project(project) => self.project_token_matches(token, project),
            };
            return if matches {
                Ok(Precheck::Verified(Verified::Token))
            } else {
                Err(VerifyError::InvalidToken)
            };
        }
        if !self.keys.is_empty() {
            return Err(VerifyError::MissingSignature);
        }
        if self.insecure {
            Ok(Precheck::Verified(Verified::Unverified))
        } else {
            Err(VerifyError::NotConfigured)
        }
    }

    fn token_matches(&self, token: &str) -> bool {
        // Compare digests so that neither the length nor the content of a secret leaks through
        // timing; fold over every secret without an early exit.
        let candidate: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.secret_digests
            .iter()
            .fold(subtle::Choice::from(0), |acc, d| acc | d.ct_eq(&candidate))
            .into()
    }

    fn project_token_matches(&self, token: &str, project: ProjectId) -> bool {
        // Every master secret of the rotation list derives a candidate; all are compared.
        let candidate: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.secrets
            .iter()
            .map(|master| {
                let derived = project_hook_secret(master, project);
                let digest: [u8; 32] = Sha256::digest(derived.expose().as_bytes()).into();
                digest
            })
            .fold(subtle::Choice::from(0), |acc, d| acc | d.ct_eq(&candidate))
            .into()
    }

    fn precheck_signature(
        &self,
        headers: &VerifyHeaders<'_>,
        signature: &str,
        now: i64,
    ) -> Result<(), VerifyError> {
        let (Some(_), Some(timestamp)) = (headers.webhook_id, headers.webhook_timestamp) else {
            return Err(VerifyError::MissingSignatureHeaders);
        };
        if signature_candidates(signature).is_empty() {
            return Err(VerifyError::MalformedSignature);
        }
        let ts: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| VerifyError::MalformedTimestamp)?;
        if now.abs_diff(ts) > self.tolerance.as_secs() {
            return Err(VerifyError::StaleTimestamp);
        }
        Ok(())
    }

    /// Checks the signature over the whole body (after [`Verifier::precheck`] said
    /// [`Precheck::NeedsBody`]).
    pub fn verify_body(
        &self,
        headers: &VerifyHeaders<'_>,
        body: &[u8],
    ) -> Result<Verified, VerifyError> {
        let (Some(id), Some(timestamp), Some(signature)) = (
            headers.webhook_id,
            headers.webhook_timestamp,
            headers.webhook_signature,
        ) else {
            return Err(VerifyError::MissingSignatureHeaders);
        };
        let candidates = signature_candidates(signature);
        if candidates.is_empty() {
            return Err(VerifyError::MalformedSignature);
        }
        let mut matched = subtle::Choice::from(0);
        for key in &self.keys {
            let expected = key.mac(id, timestamp, body);
            for candidate in &candidates {
                matched |= candidate.as_slice().ct_eq(&expected[..]);
            }
        }
        if bool::from(matched) {
            Ok(Verified::Signature)
        } else {
            Err(VerifyError::InvalidSignature)
        }
    }
}

/// The decoded `v1,<base64>` entries of a `webhook-signature` header.
fn signature_candidates(signature: &str) -> Vec<Vec<u8>> {
    signature
        .split_ascii_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| B64.decode(b64).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
    }

    #[derive(Deserialize)]
    struct Vector {
        secret: String,
        webhook_id: String,
        webhook_timestamp: String,
        body: Option<String>,
        body_file: Option<String>,
        expected_signature: String,
    }

    fn reference_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gitlab-webhooks")
    }

    fn load_vectors() -> Vec<(Vector, Vec<u8>)> {
        let path = reference_dir().join("signature-test-vectors.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let parsed: Vectors = serde_json::from_str(&text).unwrap();
        parsed
            .vectors
            .into_iter()
            .map(|v| {
                let body = match (&v.body, &v.body_file) {
                    (Some(b), _) => b.clone().into_bytes(),
                    (None, Some(f)) => std::fs::read(reference_dir().join(f)).unwrap(),
                    _ => panic!("vector without body"),
                };
                (v, body)
            })
            .collect()
    }

    fn signed_verifier(tokens: &[&str]) -> Verifier {
        let keys = tokens
            .iter()
            .map(|t| SigningKey::from_token(t).unwrap())
            .collect();
        Verifier::new(&[], keys, Duration::from_secs(300), false)
    }

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> VerifyHeaders<'a> {
        VerifyHeaders {
            gitlab_token: None,
            webhook_id: Some(id),
            webhook_timestamp: Some(ts),
            webhook_signature: Some(sig),
        }
    }

    #[test]
    fn reference_signature_vectors_sign_and_verify() {
        let vectors = load_vectors();
        assert_eq!(vectors.len(), 5);
        for (v, body) in &vectors {
            let key = SigningKey::from_token(&v.secret).unwrap();
            assert_eq!(
                key.sign(&v.webhook_id, &v.webhook_timestamp, body),
                v.expected_signature
            );
            let now: i64 = v.webhook_timestamp.parse().unwrap();
            let verifier = signed_verifier(&[&v.secret]);
            let h = headers(&v.webhook_id, &v.webhook_timestamp, &v.expected_signature);
            assert_eq!(
                verifier.verify(&h, body, now + 299),
                Ok(Verified::Signature)
            );
        }
    }

    #[test]
    fn reference_vectors_tampering_is_refused() {
        for (v, body) in &load_vectors() {
            let now: i64 = v.webhook_timestamp.parse().unwrap();
            let verifier = signed_verifier(&[&v.secret]);
            let sig = v.expected_signature.as_str();
            let mut tampered = body.clone();
            tampered[0] ^= 0x01;
            let h = headers(&v.webhook_id, &v.webhook_timestamp, sig);
            assert_eq!(
                verifier.verify(&h, &tampered, now),
                Err(VerifyError::InvalidSignature)
            );
            let other_id = format!("{}x", v.webhook_id);
            let h = headers(&other_id, &v.webhook_timestamp, sig);
            assert_eq!(
                verifier.verify(&h, body, now),
                Err(VerifyError::InvalidSignature)
            );
            let other_ts = (now + 1).to_string();
            let h = headers(&v.webhook_id, &other_ts, sig);
            assert_eq!(
                verifier.verify(&h, body, now),
                Err(VerifyError::InvalidSignature)
            );
            let h = headers(&v.webhook_id, &v.webhook_timestamp, sig);
            assert_eq!(
                verifier.verify(&h, body, now + 301),
                Err(VerifyError::StaleTimestamp)
            );
            assert_eq!(
                verifier.verify(&h, body, now - 301),
                Err(VerifyError::StaleTimestamp)
            );
            let wrong = signed_verifier(&["whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q="]);
            if v.secret != "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=" {
                assert_eq!(
                    wrong.verify(&h, body, now),
                    Err(VerifyError::InvalidSignature)
                );
            }
        }
    }

    #[test]
    fn one_right_signature_among_several_passes_and_rotation_works() {
        let (v, body) = &load_vectors()[2];
        let now: i64 = v.webhook_timestamp.parse().unwrap();
        let several = format!(
            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1a,whatever {} garbage",
            v.expected_signature
        );
        let verifier = signed_verifier(&[
            "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=",
            &v.secret,
        ]);
        let h = headers(&v.webhook_id, &v.webhook_timestamp, &several);
        assert_eq!(verifier.verify(&h, body, now), Ok(Verified::Signature));
        let h = headers(&v.webhook_id, &v.webhook_timestamp, "v1a,abc nonsense");
        assert_eq!(
            verifier.verify(&h, body, now),
            Err(VerifyError::MalformedSignature)
        );
    }

    #[test]
    fn each_secret_of_a_rotation_list_is_accepted() {
        let secrets = [Secret::new("old-secret"), Secret::new("new-secret")];
        let verifier = Verifier::new(&secrets, vec![], Duration::from_secs(300), false);
        for token in ["old-secret", "new-secret"] {
            let h = VerifyHeaders {
                gitlab_token: Some(token),
                ..Default::default()
            };
            assert_eq!(verifier.verify(&h, b"{}", 0), Ok(Verified::Token));
        }
        for token in ["", "new-secre", "new-secret2", "NEW-SECRET"] {
            let h = VerifyHeaders {
                gitlab_token: Some(token),
                ..Default::default()
            };
            assert_eq!(
                verifier.verify(&h, b"{}", 0),
                Err(VerifyError::InvalidToken)
            );
        }
        assert_eq!(
            verifier.verify(&VerifyHeaders::default(), b"{}", 0),
            Err(VerifyError::MissingToken)
        );
    }

    #[test]
    fn signature_decides_when_present_and_token_otherwise() {
        let (v, body) = &load_vectors()[2];
        let now: i64 = v.webhook_timestamp.parse().unwrap();
        let verifier = Verifier::new(
            &[Secret::new("tok")],
            vec![SigningKey::from_token(&v.secret).unwrap()],
            Duration::from_secs(300),
            false,
        );
        // A bad signature is not rescued by a good token.
        let h = VerifyHeaders {
            gitlab_token: Some("tok"),
            webhook_id: Some(&v.webhook_id),
            webhook_timestamp: Some(&v.webhook_timestamp),
            webhook_signature: Some("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        };
        assert_eq!(
            verifier.verify(&h, body, now),
            Err(VerifyError::InvalidSignature)
        );
        // Without a signature the token decides.
        let h = VerifyHeaders {
            gitlab_token: Some("tok"),
            ..Default::default()
        };
        assert_eq!(verifier.verify(&h, body, now), Ok(Verified::Token));
        // Only keys configured, nothing signed.
        let only_keys = signed_verifier(&[&v.secret]);
        assert_eq!(
            only_keys.verify(&h, body, now),
            Err(VerifyError::MissingSignature)
        );
        let h = VerifyHeaders {
            webhook_signature: Some(&v.expected_signature),
            ..Default::default()
        };
        assert_eq!(
            only_keys.verify(&h, body, now),
            Err(VerifyError::MissingSignatureHeaders)
        );
    }

    #[test]
    fn nothing_configured_needs_insecure_mode() {
        let strict = Verifier::new(&[], vec![], Duration::from_secs(300), false);
        let open = Verifier::new(&[], vec![], Duration::from_secs(300), true);
        let h = VerifyHeaders::default();
        assert_eq!(strict.verify(&h, b"{}", 0), Err(VerifyError::NotConfigured));
        assert_eq!(open.verify(&h, b"{}", 0), Ok(Verified::Unverified));
    }

    #[test]
    fn bad_tokens_are_refused_without_echo() {
        let err = SigningKey::from_token("whsec_%%%secret%%%").unwrap_err();
        assert!(!err.contains("secret"));
        assert!(SigningKey::from_token("nope").is_err());
        assert!(SigningKey::from_token("whsec_").is_err());
    }
    #[test]
    fn the_headers_decide_a_token_before_the_body_is_read() {
        let verifier = Verifier::new(
            &[Secret::new("tok")],
            vec![],
            Duration::from_secs(300),
            false,
        );
        let h = |t| VerifyHeaders {
            gitlab_token: Some(t),
            ..Default::default()
        };
        assert_eq!(
            verifier.precheck(&h("tok"), HookScope::Global, 0),
            Ok(Precheck::Verified(Verified::Token))
        );
        assert_eq!(
            verifier.precheck(&h("nope"), HookScope::Global, 0),
            Err(VerifyError::InvalidToken)
        );
    }

    #[test]
    fn a_signature_is_shaped_and_dated_on_the_headers_and_checked_on_the_body() {
        let (v, body) = &load_vectors()[2];
        let now: i64 = v.webhook_timestamp.parse().unwrap();
        let verifier = signed_verifier(&[&v.secret]);
        let h = headers(&v.webhook_id, &v.webhook_timestamp, &v.expected_signature);
        assert_eq!(
            verifier.precheck(&h, HookScope::Global, now),
            Ok(Precheck::NeedsBody)
        );
        assert_eq!(verifier.verify_body(&h, body), Ok(Verified::Signature));
        assert_eq!(
            verifier.verify_body(&h, b"other"),
            Err(VerifyError::InvalidSignature)
        );
        // Stale or malformed: refused before any body.
        assert_eq!(
            verifier.precheck(&h, HookScope::Global, now + 301),
            Err(VerifyError::StaleTimestamp)
        );
        let bad = headers(&v.webhook_id, &v.webhook_timestamp, "v2,xyz");
        assert_eq!(
            verifier.precheck(&bad, HookScope::Global, now),
            Err(VerifyError::MalformedSignature)
        );
    }

    #[test]
    fn a_project_url_takes_only_that_projects_derived_secret() {
        use crate::gitlab::ProjectId;
        use crate::hook_secret::project_hook_secret;
        let old = Secret::new("old-master");
        let new = Secret::new("new-master");
        let verifier = Verifier::new(
            &[old.clone(), new.clone()],
            vec![],
            Duration::from_secs(300),
            false,
        );
        let check = |token: &str, scope| {
            verifier.precheck(
                &VerifyHeaders {
                    gitlab_token: Some(token),
                    ..Default::default()
                },
                scope,
                0,
            )
        };
        let p7 = HookScope::Project(ProjectId(7));
        for master in [&old, &new] {
            let derived = project_hook_secret(master, ProjectId(7));
            assert_eq!(
                check(derived.expose(), p7),
                Ok(Precheck::Verified(Verified::Token))
            );
            // Not on another project's URL, nor on the shared URL.
            assert_eq!(
                check(derived.expose(), HookScope::Project(ProjectId(8))),
                Err(VerifyError::InvalidToken)
            );
            assert_eq!(
                check(derived.expose(), HookScope::Global),
                Err(VerifyError::InvalidToken)
            );
            // The master itself does not open a project URL.
            assert_eq!(check(master.expose(), p7), Err(VerifyError::InvalidToken));
            assert_eq!(
                check(master.expose(), HookScope::Global),
                Ok(Precheck::Verified(Verified::Token))
            );
        }
    }
}
