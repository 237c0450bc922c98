//! `backline scan PATH`: an offline scan of a checkout or a single file against advisory
//! databases given on the command line, or against the index imported into the store.
//!
//! Exit codes ([`verdict`]): 0 clean, 1 vulnerable, 2 error, 3 nothing checked.

pub mod verdict;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::advisories::cvss::Level;
use crate::advisories::{import_path, Index};
use crate::deps::{self, DiscoveryRules};
use crate::findings::allow::AllowList;
use crate::findings::{findings_for, render, unchecked_for, Finding, Unchecked};
use crate::store::{Store, StoreError};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table per manifest.
    Table,
    /// `{"findings": [...], "unchecked": [...], "errors": [...], "warnings": [...]}`.
    Json,
}

/// `backline scan` arguments.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A checkout folder or a single manifest file.
    pub path: PathBuf,
    /// An advisory database: an OSV folder or zip, an OSV bucket, a RustSec advisory-db or a
    /// PyPA advisory-database (repeatable). Without it, the index imported into --data-dir.
    #[arg(long = "advisories", value_name = "PATH")]
    pub advisories: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// More paths to skip (globs such as `examples/**`), besides vendored folders and fixtures.
    #[arg(long = "skip", value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Data directory holding an imported index (used without --advisories).
    #[arg(long, env = "BACKLINE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A reviewed allow list (TOML: `[[allow]]` entries with `id`, optional `package`, and a
    /// `reason`). With it, every finding, informational ones included, must be listed or the
    /// scan fails; listed ones are shown apart with their reason.
    #[arg(long = "allow", value_name = "FILE")]
    pub allow: Option<PathBuf>,
    /// Severity given to vulnerabilities whose severity no vector, database word or twin
    /// record tells: critical, high, medium, low or unknown.
    #[arg(long, env = "BACKLINE_UNKNOWN_SEVERITY", default_value = "medium", value_parser = parse_level)]
    pub unknown_severity: Level,
}

fn parse_level(word: &str) -> Result<Level, String> {
    Level::parse(&word.trim().to_ascii_lowercase())
        .ok_or_else(|| format!("{word:?} is not one of critical, high, medium, low, unknown"))
}

/// What a scan found.
pub struct ScanOutcome {
    /// The findings (not accepted by the allow list).
    pub findings: Vec<Finding>,
    /// Findings the allow list accepts, with its reason.
    pub allowed: Vec<(Finding, String)>,
    /// An allow list was given: every finding left fails the scan.
    pub strict: bool,
    /// Manifests that could not be read or parsed.
    pub errors: Vec<deps::ParseError>,
    /// Manifests scanned.
    pub manifests: usize,
    /// Dependencies not checked (git, path, URL or other-registry sources; unpinned).
    pub unchecked: Vec<Unchecked>,
    /// What the verdict is decided from.
    pub facts: verdict::Facts,
}

impl ScanOutcome {
    /// 2 on an error, 1 when a vulnerability was found, 3 when nothing could be checked (no
    /// manifest, or no advisories for any ecosystem scanned), 0 otherwise. Informational
    /// advisories do not change it, unless an allow list was given: then any finding it does
    /// not accept is 1.
    pub fn exit_code(&self) -> u8 {
        let code = self.facts.verdict().exit_code();
        if code == 0 && self.strict && !self.findings.is_empty() {
            1
        } else {
            code
        }
    }

    /// Warning lines (`crates.io: no advisories loaded`, `no manifest or lockfile found`).
    pub fn warnings(&self) -> Vec<String> {
        self.facts.warnings()
    }
}

/// Loads the index the arguments ask for.
pub fn load_index(args: &ScanArgs) -> anyhow::Result<Index> {
    if args.advisories.is_empty() {
        let dir = args
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_DATA_DIR));
        let store = match Store::open(&dir) {
            Ok(s) => s,
            Err(StoreError::Locked(_)) => anyhow::bail!(
                "{} is held by a running `backline serve`; pass --advisories PATH to scan with a database directly",
                dir.display()
            ),
            Err(e) => return Err(e).context("opening the advisory index"),
        };
        let index = crate::advisories::persist::load_index(&store)?;
        if index.stats().advisories == 0 {
            // Not an error: the scan says which ecosystems went unchecked and exits 3.
            eprintln!(
                "warning: no advisories imported in {}: run `backline advisories import PATH` or `backline advisories sync`, or pass --advisories PATH",
                dir.display()
            );
        }
        return Ok(index);
    }
    let mut all = Vec::new();
    for path in &args.advisories {
        let report = import_path(path)
            .with_context(|| format!("reading advisories from {}", path.display()))?;
        for e in &report.errors {
            tracing::warn!("skipped an advisory file: {e}");
        }
        all.extend(report.advisories);
    }
    Ok(Index::new(all))
}

/// Scans `args.path` with `index`; with an allow list, the findings it accepts are set apart.
pub fn scan(args: &ScanArgs, index: &Index, allow: Option<&AllowList>) -> ScanOutcome {
    let rules = DiscoveryRules::with_extra_skips(args.skip.iter().cloned());
    let (parsed, errors) = deps::scan_dir(&args.path, &rules);
    let mut findings = Vec::new();
    let mut unchecked = Vec::new();
    for (path, dependencies) in &parsed {
        findings.extend(findings_for(path, dependencies, index));
        unchecked.extend(unchecked_for(path, dependencies));
    }
    let mut allowed = Vec::new();
    if let Some(list) = allow {
        let (accepted, rest): (Vec<Finding>, Vec<Finding>) = findings
            .into_iter()
            .partition(|f| list.entry_for(f).is_some());
        allowed = accepted
            .into_iter()
            .map(|f| {
                let reason = list
                    .entry_for(&f)
                    .map(|e| e.reason.clone())
                    .unwrap_or_default();
                (f, reason)
            })
            .collect();
        findings = rest;
    }
    let facts = verdict::Facts {
        errors: errors.len(),
        vulnerable: findings.iter().any(Finding::is_vulnerability),
        manifests: parsed.len(),
        scanned: parsed
            .iter()
            .filter_map(|(path, _)| deps::format_of(path).map(|f| f.ecosystem()))
            .collect(),
        with_advisories: index.ecosystems(),
    };
    ScanOutcome {
        findings,
        allowed,
        strict: allow.is_some(),
        errors,
        manifests: parsed.len(),
        unchecked,
        facts,
    }
}

/// Runs the command: prints the result, returns the exit code.
pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let allow = args.allow.as_deref().map(AllowList::load).transpose()?;
    let mut index = load_index(&args)?;
    index.set_unknown_severity(args.unknown_severity);
    let outcome = scan(&args, &index, allow.as_ref());
    let warnings = outcome.warnings();
    for w in &warnings {
        eprintln!("warning: {}", crate::untrusted::printable(w));
    }
    let all: Vec<Finding> = outcome
        .findings
        .iter()
        .chain(outcome.allowed.iter().map(|(f, _)| f))
        .cloned()
        .collect();
    let unused = allow.as_ref().map(|l| l.unused(&all)).unwrap_or_default();
    match args.format {
        Format::Json => {
            let mut value = render::json(&outcome.findings, &outcome.errors, &outcome.unchecked);
            value["warnings"] = warnings.into();
            if allow.is_some() {
                value["allowed"] = outcome
                    .allowed
                    .iter()
                    .map(|(f, reason)| {
                        let mut v = render::finding_json(f);
                        v["reason"] = reason.clone().into();
                        v
                    })
                    .collect();
                value["unused_allow_entries"] = unused.iter().map(|e| e.id.clone()).collect();
            }
            println!("{}", serde_json::to_string_pretty(&value)?)
        }
        Format::Table => {
            print!(
                "{}",
                render::allowed(
                    &outcome.allowed,
                    &unused.iter().map(|e| e.id.as_str()).collect::<Vec<_>>()
                )
            );
            print!(
                "{}",
                render::table(
                    &outcome.findings,
                    &outcome.errors,
                    &outcome.unchecked,
                    outcome.manifests
                )
            );
            if outcome.strict && !outcome.findings.is_empty() {
                println!(
                    "{} finding(s) not on the allow list: review them, then fix or list them with a reason",
                    outcome.findings.len()
                );
            }
        }
    }
    Ok(outcome.exit_code())
}
