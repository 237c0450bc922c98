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
    /// The findings.
    pub findings: Vec<Finding>,
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
    /// advisories do not change it.
    pub fn exit_code(&self) -> u8 {
        self.facts.verdict().exit_code()
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
        let index = Index::load(&store)?;
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

/// Scans `args.path` with `index`.
pub fn scan(args: &ScanArgs, index: &Index) -> ScanOutcome {
    let rules = DiscoveryRules::with_extra_skips(args.skip.iter().cloned());
    let (parsed, errors) = deps::scan_dir(&args.path, &rules);
    let mut findings = Vec::new();
    let mut unchecked = Vec::new();
    for (path, dependencies) in &parsed {
        findings.extend(findings_for(path, dependencies, index));
        unchecked.extend(unchecked_for(path, dependencies));
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
        errors,
        manifests: parsed.len(),
        unchecked,
        facts,
    }
}

/// Runs the command: prints the result, returns the exit code.
pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let mut index = load_index(&args)?;
    index.set_unknown_severity(args.unknown_severity);
    let outcome = scan(&args, &index);
    let warnings = outcome.warnings();
    for w in &warnings {
        eprintln!("warning: {}", render::printable(w));
    }
    match args.format {
        Format::Json => {
            let mut json = render::json(&outcome.findings, &outcome.errors, &outcome.unchecked);
            json["warnings"] = warnings.into();
            println!("{}", serde_json::to_string_pretty(&json)?)
        }
        Format::Table => print!(
            "{}",
            render::table(
                &outcome.findings,
                &outcome.errors,
                &outcome.unchecked,
                outcome.manifests
            )
        ),
    }
    Ok(outcome.exit_code())
}
