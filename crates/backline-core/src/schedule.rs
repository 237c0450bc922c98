//! `schedule`: when non-security upgrades may open their MRs (security fixes never wait).
//! Pure: the grammar, and the two decisions [`Schedule::allows`] and [`Schedule::next_open`]
//! over a given instant (the caller owns the clock).
//!
//! ```text
//! schedule = days " " hours " " zone
//! days     = "*" | "daily" | "every day" | item ("," item)*
//! item     = day | day "-" day           (a range may wrap: Fri-Mon)
//! day      = mon | tue | wed | thu | fri | sat | sun   (or the full name; any case)
//! hours    = HH:MM "-" HH:MM             (end 24:00 allowed; an end before the start runs past
//!                                         midnight into the next day; equal times are refused)
//! zone     = UTC | +HH:MM | -HH:MM | an IANA name (Europe/Berlin) from the system tzdb
//! ```
//!
//! The window is civil time in the zone: a day listed opens at its start time and closes at
//! its end (the next day's, when the window runs past midnight). Daylight saving time is
//! followed through jiff: a start inside a spring-forward gap opens at the end of the gap; a
//! start inside a fall-back fold opens at its first occurrence.

use std::fmt;

use jiff::civil::{DateTime, Time};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::Timestamp;

/// Days of the week, Monday first.
const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A checked schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Allowed days (the day a window starts), Monday = 0.
    pub days: [bool; 7],
    /// Start, minutes after midnight.
    pub start_min: u16,
    /// End (exclusive), minutes after midnight (1440 for 24:00); before `start_min` when the
    /// window spans midnight.
    pub end_min: u16,
    /// The time zone as written (`UTC`, `+01:00`, or an IANA name).
    pub zone: String,
    tz: TimeZone,
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

/// A day by its name or a prefix of it of three letters or more.
fn day(word: &str) -> Option<usize> {
    let w = word.to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    DAYS.iter().position(|d| d.starts_with(w.as_str()))
}

fn minutes(hm: &str) -> Option<u16> {
    let (h, m) = hm.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && (h < 24 || m == 0)).then_some(h * 60 + m)
}

/// The zone: `UTC`, a fixed offset, or an IANA name the system tzdb knows.
fn zone(z: &str) -> Result<TimeZone, String> {
    if z == "UTC" {
        return Ok(TimeZone::UTC);
    }
    if let Some((sign, rest)) = z
        .strip_prefix('+')
        .map(|r| (1, r))
        .or_else(|| z.strip_prefix('-').map(|r| (-1, r)))
    {
        let m = minutes(rest)
            .filter(|m| *m <= 14 * 60)
            .ok_or_else(|| format!("{z:?} is not an offset (+HH:MM, at most 14:00)"))?;
        let offset = Offset::from_seconds(sign * i32::from(m) * 60)
            .map_err(|_| format!("{z:?} is not an offset"))?;
        return Ok(TimeZone::fixed(offset));
    }
    let well_formed = z.contains('/')
        && z.split('/').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
        });
    if !well_formed {
        return Err(format!(
            "{z:?} is not a time zone (UTC, +HH:MM, or a name like Europe/Berlin)"
        ));
    }
    TimeZone::get(z).map_err(|_| format!("{z:?} is not a time zone this system's tzdb knows"))
}

fn parse_days(
    text: &str,
    err: &dyn Fn(String) -> ScheduleError,
) -> Result<[bool; 7], ScheduleError> {
    if text == "*" || text.eq_ignore_ascii_case("daily") {
        return Ok([true; 7]);
    }
    let name = |w: &str| day(w).ok_or_else(|| err(format!("{w:?} is not a day")));
    let mut days = [false; 7];
    for item in text.split(',') {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (name(a)?, name(b)?);
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[name(item)?] = true,
        }
    }
    Ok(days)
}

impl Schedule {
    /// Parses a schedule (see the module's grammar).
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let err = |why: String| ScheduleError {
            text: text.to_string(),
            why,
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        let (days_part, hours, zone_part) = match words.as_slice() {
            [e, d, h, z] if e.eq_ignore_ascii_case("every") && d.eq_ignore_ascii_case("day") => {
                ("*", *h, *z)
            }
            [d, h, z] => (*d, *h, *z),
            _ => {
                return Err(err(
                    "three parts are needed: days, hours and time zone".into()
                ))
            }
        };
        let days = parse_days(days_part, &err)?;
        let (start, end) = hours
            .split_once('-')
            .ok_or_else(|| err("hours are HH:MM-HH:MM".into()))?;
        let start_min = minutes(start).ok_or_else(|| err(format!("{start:?} is not HH:MM")))?;
        let end_min = minutes(end).ok_or_else(|| err(format!("{end:?} is not HH:MM")))?;
        if start_min == end_min {
            return Err(err("the window is empty".into()));
        }
        if start_min == 24 * 60 {
            return Err(err("a window cannot start at 24:00".into()));
        }
        let tz = zone(zone_part).map_err(err)?;
        Ok(Schedule {
            days,
            start_min,
            end_min,
            zone: zone_part.to_string(),
            tz,
            text: text.to_string(),
        })
    }

    /// Whether the window is open at `now_ms` (Unix milliseconds).
    pub fn allows(&self, now_ms: i64) -> bool {
        let Ok(ts) = Timestamp::from_millisecond(now_ms) else {
            return false;
        };
        let local = ts.to_zoned(self.tz.clone());
        let weekday = local.date().weekday().to_monday_zero_offset() as usize;
        let t = minute_of_day(local.time());
        let (start, end) = (self.start_min, self.end_min);
        if end > start {
            self.days[weekday] && t >= start && t < end
        } else {
            // Past midnight: today's window from the start on, or yesterday's until the end.
            (self.days[weekday] && t >= start) || (self.days[(weekday + 6) % 7] && t < end)
        }
    }

    /// When the window next opens at or after `now_ms`: `now_ms` itself when it is open.
    pub fn next_open(&self, now_ms: i64) -> i64 {
        if self.allows(now_ms) {
            return now_ms;
        }
        let Ok(ts) = Timestamp::from_millisecond(now_ms) else {
            return now_ms;
        };
        let today = ts.to_zoned(self.tz.clone()).date();
        // Every listed day is within a week; two more days cover zone transitions.
        for ahead in 0..9 {
            let Ok(date) = today.checked_add(jiff::Span::new().days(ahead)) else {
                break;
            };
            if !self.days[date.weekday().to_monday_zero_offset() as usize] {
                continue;
            }
            let start = Time::constant(
                (self.start_min / 60) as i8,
                (self.start_min % 60) as i8,
                0,
                0,
            );
            if let Some(at) = self.first_instant_at(date.to_datetime(start)) {
                let at = at.as_millisecond();
                if at >= now_ms {
                    return at;
                }
            }
        }
        now_ms
    }

    /// The first instant whose civil time in the zone is `dt` or later that day: `dt` itself,
    /// its first occurrence in a fold, or the end of a gap it falls in.
    fn first_instant_at(&self, dt: DateTime) -> Option<Timestamp> {
        match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok(),
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt).ok(),
            AmbiguousOffset::Gap { after, .. } => {
                // Read with the later offset, `dt` falls before the jump; the jump itself is
                // the first instant past it.
                let early = after.to_timestamp(dt).ok()?;
                self.tz.following(early).next().map(|t| t.timestamp())
            }
        }
    }

    /// `2026-12-07 06:00 Europe/Berlin`: an instant in the schedule's zone, for people.
    pub fn local_text(&self, at_ms: i64) -> String {
        match Timestamp::from_millisecond(at_ms) {
            Ok(ts) => format!(
                "{} {}",
                ts.to_zoned(self.tz.clone()).strftime("%Y-%m-%d %H:%M"),
                self.zone
            ),
            Err(_) => at_ms.to_string(),
        }
    }

    /// Why a non-security upgrade waits at `now_ms`, or `None` when the window is open:
    /// `waiting for schedule (opens 2026-12-07 06:00 Europe/Berlin)`.
    pub fn waits(&self, now_ms: i64) -> Option<ScheduleWait> {
        if self.allows(now_ms) {
            return None;
        }
        let opens_ms = self.next_open(now_ms);
        Some(ScheduleWait {
            opens_ms,
            reason: format!("{WAITING_PREFIX} (opens {})", self.local_text(opens_ms)),
        })
    }
}

/// How a waiting remediation's reason begins.
pub const WAITING_PREFIX: &str = "waiting for schedule";

/// A closed window: when it opens and the reason a waiting remediation shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleWait {
    /// When the window opens (Unix ms).
    pub opens_ms: i64,
    /// `waiting for schedule (opens ...)`.
    pub reason: String,
}

fn minute_of_day(t: Time) -> u16 {
    t.hour() as u16 * 60 + t.minute() as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix ms of an RFC 3339 instant.
    fn at(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn utc(ms: i64) -> String {
        Timestamp::from_millisecond(ms).unwrap().to_string()
    }

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
        for every in [
            "* 01:00-02:00 UTC",
            "daily 01:00-02:00 UTC",
            "every day 01:00-02:00 UTC",
        ] {
            assert_eq!(Schedule::parse(every).unwrap().days, [true; 7], "{every}");
        }
        let s = Schedule::parse("Mon,Wednesday-Thu 01:00-02:00 UTC").unwrap();
        assert_eq!(s.days, [true, false, true, true, false, false, false]);
        assert_eq!(s.to_string(), "Mon,Wednesday-Thu 01:00-02:00 UTC");
    }

    #[test]
    fn wrong_schedules_say_what_is_wrong() {
        for (text, why) in [
            ("Mon-Fri 06:00-09:00", "three parts"),
            ("Mon-Fry 06:00-09:00 UTC", "\"Fry\" is not a day"),
            ("Mo 06:00-09:00 UTC", "\"Mo\" is not a day"),
            ("Mon 6:00-09:00 UTC", "\"6:00\" is not HH:MM"),
            ("Mon 06:00-25:00 UTC", "\"25:00\" is not HH:MM"),
            ("Mon 06:00-06:00 UTC", "empty"),
            ("Mon 24:00-06:00 UTC", "cannot start at 24:00"),
            ("Mon 06:00-07:00 Berlin", "not a time zone"),
            ("Mon 06:00-07:00 Europe/Atlantis", "tzdb knows"),
            ("Mon 06:00-07:00 +15:00", "not an offset"),
        ] {
            let e = Schedule::parse(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn berlin_windows_follow_winter_and_summer_time() {
        let s = Schedule::parse("Mon-Fri 06:00-09:00 Europe/Berlin").unwrap();
        // Winter (CET, +01:00): 06:00 Berlin is 05:00 UTC.
        assert!(!s.allows(at("2026-12-07T04:59:59Z")));
        assert!(s.allows(at("2026-12-07T05:00:00Z")));
        assert!(s.allows(at("2026-12-07T07:59:59Z")));
        assert!(!s.allows(at("2026-12-07T08:00:00Z")));
        // Summer (CEST, +02:00): 06:00 Berlin is 04:00 UTC.
        assert!(s.allows(at("2026-07-06T04:00:00Z")));
        assert!(!s.allows(at("2026-07-06T07:00:00Z")));
        // A Saturday never opens; the next window is Monday's.
        let saturday = at("2026-12-05T06:00:00Z");
        assert!(!s.allows(saturday));
        assert_eq!(utc(s.next_open(saturday)), "2026-12-07T05:00:00Z");
        assert_eq!(
            s.waits(saturday).unwrap().reason,
            "waiting for schedule (opens 2026-12-07 06:00 Europe/Berlin)"
        );
        // Open now: now.
        let open = at("2026-12-07T06:00:00Z");
        assert_eq!(s.next_open(open), open);
        assert!(s.waits(open).is_none());
        // Across the spring change (Sunday 2026-03-29, 02:00 CET → 03:00 CEST): Friday's
        // window was at 05:00 UTC, Monday's is at 04:00 UTC.
        assert_eq!(
            utc(s.next_open(at("2026-03-27T09:00:00Z"))),
            "2026-03-30T04:00:00Z"
        );
        // And back in autumn (Sunday 2026-10-25, 03:00 CEST → 02:00 CET).
        assert_eq!(
            utc(s.next_open(at("2026-10-23T09:00:00Z"))),
            "2026-10-26T05:00:00Z"
        );
    }

    #[test]
    fn starts_in_a_gap_or_a_fold_open_at_the_first_matching_instant() {
        // 02:30 does not exist in Berlin on 2026-03-29: the window opens at the jump, 03:00
        // CEST (01:00 UTC), and is open then.
        let s = Schedule::parse("Sun 02:30-04:00 Europe/Berlin").unwrap();
        let opens = s.next_open(at("2026-03-28T12:00:00Z"));
        assert_eq!(utc(opens), "2026-03-29T01:00:00Z");
        assert!(s.allows(opens));
        assert!(!s.allows(opens - 1));
        // 02:30 happens twice on 2026-10-25: the first one (CEST, 00:30 UTC) opens it.
        let opens = s.next_open(at("2026-10-24T12:00:00Z"));
        assert_eq!(utc(opens), "2026-10-25T00:30:00Z");
        assert!(s.allows(opens));
    }

    #[test]
    fn windows_past_midnight_belong_to_their_start_day() {
        let s = Schedule::parse("Fri 22:00-02:00 UTC").unwrap();
        assert!(s.allows(at("2026-12-04T23:00:00Z"))); // Friday night
        assert!(s.allows(at("2026-12-05T01:59:00Z"))); // Saturday early: Friday's window
        assert!(!s.allows(at("2026-12-05T02:00:00Z")));
        assert!(!s.allows(at("2026-12-04T01:00:00Z"))); // Friday early: Thursday is not listed
        assert!(!s.allows(at("2026-12-05T23:00:00Z"))); // Saturday night
        assert_eq!(
            utc(s.next_open(at("2026-12-05T02:00:00Z"))),
            "2026-12-11T22:00:00Z"
        );
        let all_day = Schedule::parse("Sat 00:00-24:00 UTC").unwrap();
        assert!(all_day.allows(at("2026-12-05T23:59:59Z")));
        assert!(!all_day.allows(at("2026-12-06T00:00:00Z")));
    }

    #[test]
    fn a_zone_far_from_utc_moves_the_day() {
        // Auckland is +13:00 in its summer (NZDT) and +12:00 in winter (NZST): Monday 06:00
        // there is Sunday 17:00 / 18:00 UTC.
        let s = Schedule::parse("Mon 06:00-09:00 Pacific/Auckland").unwrap();
        assert!(s.allows(at("2026-12-06T17:00:00Z"))); // Sunday in UTC
        assert!(!s.allows(at("2026-12-07T17:00:00Z"))); // Tuesday in Auckland
        assert_eq!(
            utc(s.next_open(at("2026-07-01T00:00:00Z"))),
            "2026-07-05T18:00:00Z"
        );
        // New Zealand leaves summer time on Sunday 2026-04-05 (03:00 NZDT → 02:00 NZST): the
        // window before is at 17:00 UTC, the one after at 18:00 UTC.
        assert_eq!(
            utc(s.next_open(at("2026-03-29T00:00:00Z"))),
            "2026-03-29T17:00:00Z"
        );
        assert_eq!(
            utc(s.next_open(at("2026-04-01T00:00:00Z"))),
            "2026-04-05T18:00:00Z"
        );
        // A fixed offset never changes.
        let fixed = Schedule::parse("Mon 06:00-09:00 -05:30").unwrap();
        assert_eq!(
            utc(fixed.next_open(at("2026-07-01T00:00:00Z"))),
            "2026-07-06T11:30:00Z"
        );
    }
}
