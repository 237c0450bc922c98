//! Small helpers: timestamps, git object ids, percent-encoding, a deterministic PRNG.

use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::{Digest, Sha1};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-11-25T15:18:19.123Z`, the form GitLab's REST API uses.
pub fn iso_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        (rem / 60_000) % 60,
        (rem / 1000) % 60,
        rem % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `2026-11-25 15:18:19 UTC`, the form several webhook payloads use.
pub fn hook_time(ms: i64) -> String {
    let s = iso_ms(ms);
    format!("{} {} UTC", &s[..10], &s[11..19])
}

/// `2026-11-25T15:18:19+00:00`, the form push-hook commit timestamps use.
pub fn hook_commit_time(ms: i64) -> String {
    let s = iso_ms(ms);
    format!("{}+00:00", &s[..19])
}

/// `YYYY-MM-DD` of a time.
pub fn date(ms: i64) -> String {
    iso_ms(ms)[..10].to_string()
}

/// Today's date, `YYYY-MM-DD`.
pub fn today() -> String {
    date(now_ms())
}

/// A user's avatar URL when they uploaded none: GitLab's default Gravatar URL
/// (`app/services/gravatar_service.rb`: SHA-256 of the trimmed, lower-cased email, size
/// `40 * 2`, into `gravatar.plain_url` of `config/gitlab.yml.example`). `UserBasic`
/// (`lib/api/entities/user_basic.rb`) renders it as `avatar_url`, a string.
pub fn gravatar_url(email: &str) -> String {
    let hash = hex(&sha2::Sha256::digest(
        email.trim().to_lowercase().as_bytes(),
    ));
    format!("https://www.gravatar.com/avatar/{hash}?s=80&d=identicon")
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The git blob id of some content: `sha1("blob {len}\0" + content)`.
pub fn blob_id(content: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", content.len()).as_bytes());
    h.update(content);
    hex(&h.finalize())
}

/// A 40-hex id from arbitrary parts (used for commit and tree ids).
pub fn sha1_of(parts: &[&[u8]]) -> String {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
        h.update(b"\0");
    }
    hex(&h.finalize())
}

const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path component or query value (`/` becomes `%2F`).
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Percent-decodes one path component; `None` when it is not UTF-8.
pub fn decode(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// SplitMix64: a small deterministic generator for the project generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_like_gitlab() {
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(1_764_083_899_123), "2025-11-25T15:18:19.123Z");
        assert_eq!(hook_time(1_764_083_899_123), "2025-11-25 15:18:19 UTC");
        assert_eq!(date(951_782_400_000), "2000-02-29");
    }

    #[test]
    fn blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    #[test]
    fn encodes_paths() {
        assert_eq!(encode("group/sub name"), "group%2Fsub%20name");
        assert_eq!(decode("group%2Fsub").as_deref(), Some("group/sub"));
    }
}
