//! `schedule`: when non-security upgrades may open, `DAYS HH:MM-HH:MM ZONE`
//! (`Mon-Fri 06:00-09:00 Europe/Berlin`). Pure parsing; security fixes never wait.

use std::fmt;

/// Days of the week, Monday first.
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A checked schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Allowed days, Monday = 0.
    pub days: [bool; 7],
    /// Start, minutes after midnight.
    pub start_min: u16,
    /// End (exclusive), minutes after midnight; before `start_min` when the window spans
    /// midnight.
    pub end_min: u16,
    /// The time zone as written (`UTC`, `+01:00`, or an IANA name).
    pub zone: String,
    text: String,
}

/// Why a schedule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule {text:?}: {why} (expected like \"Mon-Fri 06:00-09:00 Europe/Berlin\")")]
pub struct ScheduleError {
    text: String,
    why: String,
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn day(word: &str) -> Option<usize> {
    let w = word.to_ascii_lowercase();
    DAYS.iter().position(|d| {
        w.len() >= 3 && d.starts_with(&w[..3]) && {
            let full = [
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
            ];
            full.iter().any(|f| f.starts_with(w.as_str()))
        }
    })
}

fn minutes(hm: &str) -> Option<u16> {
    let (h, m) = hm.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && (h < 24 || m == 0)).then_some(h * 60 + m)
}

fn zone_ok(z: &str) -> bool {
    if z == "UTC" {
        return true;
    }
    if let Some(rest) = z.strip_prefix('+').or_else(|| z.strip_prefix('-')) {
        return minutes(rest).is_some_and(|m| m <= 14 * 60);
    }
    // An IANA name: Area/Location, letters, digits, `_`, `-`, `+`.
    z.contains('/')
        && z.split('/').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
        })
}

impl Schedule {
    /// Parses a schedule.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let err = |why: &str| ScheduleError {
            text: text.to_string(),
            why: why.to_string(),
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [days_part, hours, zone] = parts.as_slice() else {
            return Err(err("three parts are needed: days, hours and time zone"));
        };
        let mut days = [false; 7];
        for item in days_part.split(',') {
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (
                        day(a).ok_or_else(|| err(&format!("{a:?} is not a day")))?,
                        day(b).ok_or_else(|| err(&format!("{b:?} is not a day")))?,
                    );
                    let mut d = a;
                    loop {
                        days[d] = true;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => {
                    days[day(item).ok_or_else(|| err(&format!("{item:?} is not a day")))?] = true
                }
            }
        }
        let (start, end) = hours
            .split_once('-')
            .ok_or_else(|| err("hours are HH:MM-HH:MM"))?;
        let start_min = minutes(start).ok_or_else(|| err(&format!("{start:?} is not HH:MM")))?;
        let end_min = minutes(end).ok_or_else(|| err(&format!("{end:?} is not HH:MM")))?;
        if start_min == end_min {
            return Err(err("the window is empty"));
        }
        if !zone_ok(zone) {
            return Err(err(&format!(
                "{zone:?} is not a time zone (UTC, +HH:MM, or a name like Europe/Berlin)"
            )));
        }
        Ok(Schedule {
            days,
            start_min,
            end_min,
            zone: zone.to_string(),
            text: text.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issues_example_parses() {
        let s = Schedule::parse("Mon-Fri 06:00-09:00 Europe/Berlin").unwrap();
        assert_eq!(s.days, [true, true, true, true, true, false, false]);
        assert_eq!((s.start_min, s.end_min), (360, 540));
        assert_eq!(s.zone, "Europe/Berlin");
        let s = Schedule::parse("sat,sun 22:00-02:00 +01:00").unwrap();
        assert_eq!(s.days, [false, false, false, false, false, true, true]);
        let s = Schedule::parse("Fri-Mon 00:00-24:00 UTC").unwrap();
        assert_eq!(s.days, [true, false, false, false, true, true, true]);
    }

    #[test]
    fn wrong_schedules_say_what_is_wrong() {
        for (text, why) in [
            ("Mon-Fri 06:00-09:00", "three parts"),
            ("Mon-Fry 06:00-09:00 UTC", "\"Fry\" is not a day"),
            ("Mon 6:00-09:00 UTC", "\"6:00\" is not HH:MM"),
            ("Mon 06:00-06:00 UTC", "empty"),
            ("Mon 06:00-07:00 Berlin", "not a time zone"),
        ] {
            let e = Schedule::parse(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
