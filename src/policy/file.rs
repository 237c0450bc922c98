//! The policy file `.gitlab/backline.yml` (or `.backline.yml`): its typed form and the parser
//! that checks it. Unknown keys and wrong values are errors with the line they are on. Pure.

use serde::{Deserialize, Serialize};

use super::glob::Glob;
use super::schedule::Schedule;

/// Where the policy file may be, first found wins.
pub const PATHS: [&str; 2] = [".gitlab/backline.yml", ".backline.yml"];

/// The largest policy file read.
pub const MAX_BYTES: usize = 64 * 1024;

/// `auto_approve`: fixes at or above this severity are approved without a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApproveLevel {
    /// Critical only.
    Critical,
    /// High and critical.
    High,
    /// Medium and above.
    Medium,
    /// Every known severity.
    Low,
    /// Every fix waits for a person.
    None,
}

impl ApproveLevel {
    /// The planner's threshold.
    pub fn level(self) -> Option<crate::advisories::cvss::Level> {
        use crate::advisories::cvss::Level;
        match self {
            ApproveLevel::Critical => Some(Level::Critical),
            ApproveLevel::High => Some(Level::High),
            ApproveLevel::Medium => Some(Level::Medium),
            ApproveLevel::Low => Some(Level::Low),
            ApproveLevel::None => None,
        }
    }

    /// From the planner's threshold.
    pub fn from_level(level: Option<crate::advisories::cvss::Level>) -> ApproveLevel {
        use crate::advisories::cvss::Level;
        match level {
            Some(Level::Critical) => ApproveLevel::Critical,
            Some(Level::High) => ApproveLevel::High,
            Some(Level::Medium) => ApproveLevel::Medium,
            Some(Level::Low) | Some(Level::Unknown) => ApproveLevel::Low,
            None => ApproveLevel::None,
        }
    }
}

/// How large a version bump may merge itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    /// `1.2.3 → 1.2.4`.
    Patch,
    /// `1.2.3 → 1.3.0`.
    Minor,
    /// `1.2.3 → 2.0.0`.
    Major,
}

impl Bump {
    /// The bump from `from` to `to`, by their leading numeric parts (missing parts are 0); a
    /// version that does not start with a number is a major bump (never merged by itself).
    pub fn between(from: &str, to: &str) -> Bump {
        fn parts(v: &str) -> Option<[u64; 3]> {
            let v = v.trim_start_matches('v');
            let mut out = [0u64; 3];
            let mut any = false;
            for (i, p) in v.split(['.', '-', '+']).take(3).enumerate() {
                match p.parse() {
                    Ok(n) => {
                        out[i] = n;
                        any = true;
                    }
                    Err(_) if any => break,
                    Err(_) => return None,
                }
            }
            any.then_some(out)
        }
        match (parts(from), parts(to)) {
            (Some(a), Some(b)) if a[0] == b[0] && a[1] == b[1] => Bump::Patch,
            (Some(a), Some(b)) if a[0] == b[0] => Bump::Minor,
            _ => Bump::Major,
        }
    }

    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

/// `group`: how fixes are split into MRs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// One MR per vulnerable package.
    None,
    /// One MR per manifest carrying all of its fixes.
    Manifest,
}

/// A GitLab username.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl TryFrom<String> for Username {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let name = s.strip_prefix('@').unwrap_or(&s);
        let ok = !name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            && !name.starts_with(['-', '.'])
            && !name.ends_with('.');
        if ok {
            Ok(Username(name.to_string()))
        } else {
            Err(format!("{s:?} is not a GitLab username"))
        }
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

impl Username {
    /// The name, without `@`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A reviewer: a username, or `codeowners` (the owners of the manifest's path in CODEOWNERS).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum Reviewer {
    /// A user.
    User(Username),
    /// From CODEOWNERS.
    Codeowners,
}

impl TryFrom<String> for Reviewer {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s == "codeowners" {
            Ok(Reviewer::Codeowners)
        } else {
            Username::try_from(s).map(Reviewer::User)
        }
    }
}

impl From<Reviewer> for String {
    fn from(r: Reviewer) -> String {
        match r {
            Reviewer::User(u) => u.0,
            Reviewer::Codeowners => "codeowners".into(),
        }
    }
}

/// A label (no commas: GitLab's API takes labels comma-separated).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

impl TryFrom<String> for Label {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() || t.contains(',') || t.len() > 255 || t.chars().any(char::is_control) {
            Err(format!(
                "{s:?} is not a label (non-empty, no commas, at most 255 characters)"
            ))
        } else {
            Ok(Label(t.to_string()))
        }
    }
}

impl From<Label> for String {
    fn from(l: Label) -> String {
        l.0
    }
}

impl Label {
    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A `paths_ignore` glob.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct PathGlob(pub Glob);

impl TryFrom<String> for PathGlob {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Glob::new(&s).map(PathGlob).map_err(|e| e.to_string())
    }
}

impl From<PathGlob> for String {
    fn from(g: PathGlob) -> String {
        g.0.as_str().to_string()
    }
}

/// A `schedule`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScheduleText(pub Schedule);

impl TryFrom<String> for ScheduleText {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Schedule::parse(&s)
            .map(ScheduleText)
            .map_err(|e| e.to_string())
    }
}

impl From<ScheduleText> for String {
    fn from(s: ScheduleText) -> String {
        s.0.to_string()
    }
}

/// A calendar day, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Day(pub time::Date);

impl TryFrom<String> for Day {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(s.trim(), &format)
            .map(Day)
            .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
    }
}

impl From<Day> for String {
    fn from(d: Day) -> String {
        d.to_string()
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

impl Day {
    /// The day holding `ms` since the epoch (UTC).
    pub fn of_ms(ms: i64) -> Day {
        let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        Day(t.date())
    }
}

/// One `ignore` entry: a package (optionally one version of it) or an advisory (by id or
/// alias), with why and until when.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, try_from = "RawIgnore")]
pub struct IgnoreRule {
    /// The package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// One version of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// An advisory id or alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<String>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The last day it holds; after it the fix is planned again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Day>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    package: Option<String>,
    version: Option<String>,
    advisory: Option<String>,
    reason: Option<String>,
    until: Option<Day>,
}

impl TryFrom<RawIgnore> for IgnoreRule {
    type Error = String;
    fn try_from(r: RawIgnore) -> Result<Self, String> {
        let blank = |s: &Option<String>| s.as_ref().is_some_and(|s| s.trim().is_empty());
        if blank(&r.package) || blank(&r.advisory) || blank(&r.version) {
            return Err("ignore: package, version and advisory may not be empty".into());
        }
        match (&r.package, &r.advisory, &r.version) {
            (None, None, _) => Err("ignore: an entry needs `package` or `advisory`".into()),
            (None, Some(_), Some(_)) => {
                Err("ignore: `version` goes with `package`, not with `advisory`".into())
            }
            _ => Ok(IgnoreRule {
                package: r.package,
                version: r.version,
                advisory: r.advisory,
                reason: r.reason,
                until: r.until,
            }),
        }
    }
}

impl IgnoreRule {
    /// Whether it still holds on `today`.
    pub fn holds_on(&self, today: Day) -> bool {
        self.until.is_none_or(|u| today <= u)
    }

    /// Whether it covers this package version with these advisories (ids and aliases).
    pub fn covers<'a>(
        &self,
        package: &str,
        version: &str,
        mut advisory_names: impl Iterator<Item = &'a str>,
    ) -> bool {
        if let Some(p) = &self.package {
            if p != package {
                return false;
            }
            if self.version.as_ref().is_some_and(|v| v != version) {
                return false;
            }
        }
        match &self.advisory {
            Some(a) => advisory_names.any(|n| n.eq_ignore_ascii_case(a)),
            None => true,
        }
    }

    /// A short description (`package lodash 4.17.20`, `advisory GHSA-…`).
    pub fn describe(&self) -> String {
        let mut s = match (&self.package, &self.version, &self.advisory) {
            (Some(p), Some(v), _) => format!("package {p} {v}"),
            (Some(p), None, _) => format!("package {p}"),
            (None, _, Some(a)) => format!("advisory {a}"),
            (None, _, None) => "nothing".to_string(),
        };
        if let (Some(_), Some(a)) = (&self.package, &self.advisory) {
            s.push_str(&format!(" for {a}"));
        }
        s
    }
}

/// `auto_merge`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AutoMergeFile {
    /// Merge the bot's MRs when their pipeline succeeds.
    pub enabled: Option<bool>,
    /// The largest bump that merges itself.
    pub max_bump: Option<Bump>,
}

/// The policy file as written: every key optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// `false`: catalogued, not scanned or acted on.
    pub enabled: Option<bool>,
    /// Approval threshold.
    pub auto_approve: Option<ApproveLevel>,
    /// Open bot MRs at most.
    pub max_open_mrs: Option<u32>,
    /// MR labels (replaces the instance's).
    pub labels: Option<Vec<Label>>,
    /// MR assignees.
    pub assignees: Option<Vec<Username>>,
    /// MR reviewers.
    pub reviewers: Option<Vec<Reviewer>>,
    /// Manifests under these globs are not read.
    pub paths_ignore: Option<Vec<PathGlob>>,
    /// Ignored packages and advisories.
    pub ignore: Option<Vec<IgnoreRule>>,
    /// Plan upgrades of outdated direct dependencies.
    pub update_outdated: Option<bool>,
    /// When non-security upgrades may open.
    pub schedule: Option<ScheduleText>,
    /// One MR per package, or per manifest.
    pub group: Option<Group>,
    /// Merging by itself.
    pub auto_merge: Option<AutoMergeFile>,
}

/// Why a policy file is refused: the message, and the line (1-based) when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct PolicyError {
    /// The line, 1-based.
    pub line: Option<usize>,
    /// What is wrong (the file's own text is quoted, never interpreted).
    pub message: String,
}

/// Parses and checks a policy file. A file with nothing but comments is the empty policy.
pub fn parse(text: &[u8]) -> Result<PolicyFile, PolicyError> {
    if text.len() > MAX_BYTES {
        return Err(PolicyError {
            line: None,
            message: format!("the file is larger than {} KiB", MAX_BYTES / 1024),
        });
    }
    let text = std::str::from_utf8(text).map_err(|e| PolicyError {
        line: None,
        message: format!("the file is not UTF-8 ({e})"),
    })?;
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
    if blank {
        return Ok(PolicyFile::default());
    }
    serde_norway::from_str::<PolicyFile>(text).map_err(|e| {
        let mut message = e.to_string();
        let line = e.location().map(|l| refine_line(text, l.line(), &message));
        // The location is given apart; serde_norway appends it to the message.
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        PolicyError { line, message }
    })
}

/// serde_norway places an error inside a checked entry (an `ignore` item) at the entry's
/// start; when the message quotes the wrong value, the line holding it from there on is the
/// one to name.
fn refine_line(text: &str, line: usize, message: &str) -> usize {
    let quoted = message
        .split('"')
        .nth(1)
        .filter(|q| !q.is_empty() && message.matches('"').count() >= 2);
    let Some(q) = quoted else { return line };
    text.lines()
        .enumerate()
        .skip(line.saturating_sub(1))
        .find(|(_, l)| l.contains(q))
        .map(|(i, _)| i + 1)
        .unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE_EXAMPLE: &str = r#"enabled: true                      # false: catalogued, not scanned or acted on
auto_approve: high                 # critical | high | medium | low | none
max_open_mrs: 10
labels: [security, backline]       # replaces the instance's labels
assignees: [alice]                 # usernames
reviewers: [bob]                   # usernames, or the word codeowners
paths_ignore: ["examples/**"]      # manifests under these globs are not read
ignore:
  - package: lodash                # optional version: "4.17.20"
    reason: not reachable from our code
    until: 2027-01-31              # optional
  - advisory: GHSA-29mw-wpgm-hmr9  # by id or alias
update_outdated: false
schedule: "Mon-Fri 06:00-09:00 Europe/Berlin"
group: none                        # none | manifest
auto_merge:
  enabled: false
  max_bump: patch                  # patch | minor | major
"#;

    #[test]
    fn the_issues_example_is_a_valid_policy() {
        let p = parse(ISSUE_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(p.enabled, Some(true));
        assert_eq!(p.auto_approve, Some(ApproveLevel::High));
        assert_eq!(p.max_open_mrs, Some(10));
        assert_eq!(
            p.labels
                .unwrap()
                .iter()
                .map(Label::as_str)
                .collect::<Vec<_>>(),
            ["security", "backline"]
        );
        assert_eq!(
            p.reviewers.unwrap(),
            [Reviewer::User(Username("bob".into()))]
        );
        let ignore = p.ignore.unwrap();
        assert_eq!(ignore[0].package.as_deref(), Some("lodash"));
        assert_eq!(ignore[0].until.unwrap().to_string(), "2027-01-31");
        assert_eq!(ignore[1].advisory.as_deref(), Some("GHSA-29mw-wpgm-hmr9"));
        assert_eq!(p.group, Some(Group::None));
        assert_eq!(p.auto_merge.unwrap().max_bump, Some(Bump::Patch));
        assert_eq!(p.schedule.unwrap().0.zone, "Europe/Berlin");
    }

    #[test]
    fn an_empty_or_comment_only_file_is_the_empty_policy() {
        assert_eq!(parse(b"").unwrap(), PolicyFile::default());
        assert_eq!(parse(b"# nothing yet\n\n").unwrap(), PolicyFile::default());
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("enabled: true\nlabelz: [a]\n", 2, "unknown field `labelz`"),
            (
                "auto_approve: sometimes\n",
                1,
                "unknown variant `sometimes`",
            ),
            ("max_open_mrs: -3\n", 1, "expected u32"),
            ("labels: [\"a,b\"]\n", 1, "no commas"),
            (
                "enabled: true\nassignees: [\"al ice\"]\n",
                2,
                "not a GitLab username",
            ),
            (
                "paths_ignore: [\"/abs\"]\n",
                1,
                "relative to the repository root",
            ),
            (
                "schedule: \"Mon-Fry 06:00-09:00 UTC\"\n",
                1,
                "\"Fry\" is not a day",
            ),
            (
                "auto_merge:\n  enabled: true\n  max_bump: huge\n",
                3,
                "unknown variant `huge`",
            ),
            (
                "ignore:\n  - package: a\n    until: 31.01.2027\n",
                3,
                "is not a date",
            ),
            (
                "ignore:\n  - reason: because\n",
                2,
                "needs `package` or `advisory`",
            ),
            (
                "ignore:\n  - package: a\n    why: x\n",
                3,
                "unknown field `why`",
            ),
            ("enabled: [\n", 1, "expected a boolean"),
            ("enabled: true\n\tlabels: x\n", 2, "tab character"),
        ];
        for (text, line, what) in cases {
            let e = parse(text.as_bytes()).unwrap_err();
            assert_eq!(e.line, Some(*line), "{text:?}: {e}");
            assert!(e.message.contains(what), "{text:?}: {e}");
            assert!(!e.message.contains(" at line "), "{e}");
        }
    }

    #[test]
    fn bumps_are_measured_on_the_leading_numbers() {
        assert_eq!(Bump::between("4.17.20", "4.17.21"), Bump::Patch);
        assert_eq!(Bump::between("1.5.4", "1.5.5"), Bump::Patch);
        assert_eq!(Bump::between("1.5.4", "1.6.0"), Bump::Minor);
        assert_eq!(Bump::between("v1.5", "v2.0"), Bump::Major);
        assert_eq!(Bump::between("abc", "1.0.0"), Bump::Major);
        assert_eq!(Bump::between("2.0.0-rc1", "2.0.1"), Bump::Patch);
    }

    #[test]
    fn ignores_match_package_version_and_advisory_aliases_and_lapse() {
        let r = IgnoreRule {
            package: Some("lodash".into()),
            version: Some("4.17.20".into()),
            advisory: None,
            reason: None,
            until: Some(Day::try_from("2027-01-31".to_string()).unwrap()),
        };
        assert!(r.covers("lodash", "4.17.20", std::iter::empty()));
        assert!(!r.covers("lodash", "4.17.19", std::iter::empty()));
        assert!(!r.covers("lodasher", "4.17.20", std::iter::empty()));
        assert!(r.holds_on(Day::try_from("2027-01-31".to_string()).unwrap()));
        assert!(!r.holds_on(Day::try_from("2027-02-01".to_string()).unwrap()));
        let a = IgnoreRule {
            package: None,
            version: None,
            advisory: Some("cve-2022-24713".into()),
            reason: None,
            until: None,
        };
        assert!(a.covers(
            "regex",
            "1.5.4",
            ["RUSTSEC-2022-0013", "CVE-2022-24713"].into_iter()
        ));
        assert!(!a.covers("regex", "1.5.4", ["RUSTSEC-2022-0013"].into_iter()));
    }
}
