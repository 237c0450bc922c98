//! GitLab's timestamps, parsed leniently: webhook payloads use several formats
//! (`2013-12-03T17:23:34Z`, `2015-05-17 18:08:09 UTC`, `2019-06-05T14:32:20.211Z`,
//! `2011-12-12T14:27:31+02:00`, `2015-05-17 18:08:09 -0700`), and the docs even show
//! `2015-04-08T21: 00:25-07:00`. Garbage is still an error.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A point in time from a GitLab payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GitlabTime(pub OffsetDateTime);

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a GitLab timestamp: {0:?}")]
pub struct TimeError(String);

impl GitlabTime {
    /// Parses any of GitLab's formats.
    pub fn parse(raw: &str) -> Result<Self, TimeError> {
        let err = || TimeError(raw.chars().take(64).collect());
        // The docs' stray space after a colon ("21: 00:25").
        let cleaned = raw.trim().replace(": ", ":");
        if let Ok(t) = OffsetDateTime::parse(&cleaned, &Rfc3339) {
            return Ok(GitlabTime(t));
        }
        // "YYYY-MM-DD HH:MM:SS" followed by "UTC", "+HHMM", "-HH:MM" or nothing.
        let (date_time, zone) = match cleaned.get(..19) {
            Some(dt) => (dt, cleaned[19..].trim()),
            None => return Err(err()),
        };
        let date_time = date_time.replacen('T', " ", 1);
        let primitive = PrimitiveDateTime::parse(
            &date_time,
            format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        )
        .map_err(|_| err())?;
        let zone = zone.split_once('.').map_or(zone, |(_, rest)| {
            // Fractional seconds before the zone: skip the digits.
            rest.trim_start_matches(|c: char| c.is_ascii_digit())
        });
        let offset = match zone.trim() {
            "" | "UTC" | "Z" => UtcOffset::UTC,
            z => parse_offset(z).ok_or_else(err)?,
        };
        Ok(GitlabTime(primitive.assume_offset(offset)))
    }
}

fn parse_offset(z: &str) -> Option<UtcOffset> {
    let (sign, digits) = match z.as_bytes().first()? {
        b'+' => (1i8, &z[1..]),
        b'-' => (-1i8, &z[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i8 = digits[..2].parse().ok()?;
    let minutes: i8 = digits[2..].parse().ok()?;
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

impl fmt::Display for GitlabTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{:?}", self.0),
        }
    }
}

impl<'de> Deserialize<'de> for GitlabTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        GitlabTime::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl Serialize for GitlabTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(raw: &str) -> String {
        GitlabTime::parse(raw)
            .unwrap()
            .0
            .to_offset(UtcOffset::UTC)
            .format(&Rfc3339)
            .unwrap()
    }

    #[test]
    fn every_gitlab_format() {
        assert_eq!(utc("2013-12-03T17:23:34Z"), "2013-12-03T17:23:34Z");
        assert_eq!(utc("2015-05-17 18:08:09 UTC"), "2015-05-17T18:08:09Z");
        assert_eq!(utc("2019-06-05T14:32:20.211Z"), "2019-06-05T14:32:20.211Z");
        assert_eq!(utc("2011-12-12T14:27:31+02:00"), "2011-12-12T12:27:31Z");
        assert_eq!(utc("2015-05-17 18:08:09 -0700"), "2015-05-18T01:08:09Z");
        assert_eq!(utc("2015-04-08T21: 00:25-07:00"), "2015-04-09T04:00:25Z");
        assert_eq!(utc("2026-01-16 05:56:22 UTC"), "2026-01-16T05:56:22Z");
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "",
            "yesterday",
            "2015-13-01 00:00:00 UTC",
            "2015-05-17 18:08:09 Mars",
        ] {
            assert!(GitlabTime::parse(bad).is_err(), "{bad}");
        }
    }
}
