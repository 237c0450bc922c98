//! `backline advisories import|sync|stats`: the command-line face of the advisories.
//!
//! Every command works on the store in `--data-dir` (flag, `BACKLINE_DATA_DIR`, the config
//! file's `data_dir`, then `./backline-data`), which `serve` must not hold at the same time.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::advisories::import::ImportReport;
use crate::advisories::import_into_store;
use crate::advisories::index::Index;
use crate::advisories::model::AdvisoryKind;
use crate::advisories::sync::{sync, Outcome, SyncOptions, DEFAULT_BASE_URL};
use crate::config::{FileConfig, DEFAULT_DATA_DIR};
use crate::ecosystem::Ecosystem;
use crate::store::Store;

/// `backline advisories ...`.
#[derive(Debug, Args)]
pub struct AdvisoriesArgs {
    /// Data directory of the store [default: the config file's data_dir, else ./backline-data].
    #[arg(long, env = "BACKLINE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: AdvisoriesCommand,
}

/// The advisories subcommands.
#[derive(Debug, Subcommand)]
pub enum AdvisoriesCommand {
    /// Import advisories from PATH: an OSV folder or zip, an OSV bucket (<Ecosystem>/all.zip),
    /// a RustSec advisory-db or a PyPA advisory-database checkout. Replaces what an earlier
    /// import of the same PATH brought; other sources stay.
    Import {
        /// Folder, zip or single record file.
        path: PathBuf,
    },
    /// Download OSV's <Ecosystem>/all.zip for each ecosystem (conditional requests) and swap
    /// the new index in.
    Sync {
        /// Base URL [env BACKLINE_OSV_BASE_URL; config osv_base_url; default OSV's bucket].
        #[arg(long, env = "BACKLINE_OSV_BASE_URL")]
        base_url: Option<String>,
        /// OSV ecosystem names, comma-separated [env BACKLINE_OSV_ECOSYSTEMS; config
        /// osv_ecosystems; default all eight backline scans].
        #[arg(long, env = "BACKLINE_OSV_ECOSYSTEMS", value_delimiter = ',')]
        ecosystems: Option<Vec<String>>,
    },
    /// Print counts per ecosystem and kind.
    Stats {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an advisories command; `Ok(false)` means "done, but something failed" (exit code 1).
pub async fn run(args: AdvisoriesArgs, file: &FileConfig) -> anyhow::Result<bool> {
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| file.data_dir().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let store = {
        let dir = data_dir.clone();
        tokio::task::spawn_blocking(move || Store::open(&dir))
            .await?
            .with_context(|| format!("opening the store in {}", data_dir.display()))?
    };
    match args.command {
        AdvisoriesCommand::Import { path } => import(store, path).await,
        AdvisoriesCommand::Sync {
            base_url,
            ecosystems,
        } => {
            let base_url = base_url
                .or_else(|| file.osv_base_url().map(str::to_string))
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
            let ecosystems = match ecosystems.or_else(|| file.osv_ecosystems()) {
                None => Ecosystem::ALL.to_vec(),
                Some(names) => names
                    .iter()
                    .map(|n| {
                        Ecosystem::from_osv(n.trim()).with_context(|| {
                            format!("unknown ecosystem {n:?} (expected OSV names such as crates.io, npm, PyPI)")
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
            };
            let ca_file = std::env::var_os("BACKLINE_CA_FILE")
                .map(PathBuf::from)
                .filter(|p| !p.as_os_str().is_empty())
                .or_else(|| file.ca_file().map(Path::to_path_buf));
            let options = SyncOptions {
                base_url,
                ecosystems,
                network: crate::config::network(ca_file.as_deref())?,
                ..Default::default()
            };
            run_sync(store, options).await
        }
        AdvisoriesCommand::Stats { json } => {
            let index =
                tokio::task::spawn_blocking(move || crate::advisories::persist::load_index(&store))
                    .await??;
            print_stats(&index, json)?;
            Ok(true)
        }
    }
}

async fn import(store: Store, path: PathBuf) -> anyhow::Result<bool> {
    let (report, imported, index) =
        tokio::task::spawn_blocking(move || import_into_store(&store, &path)).await??;
    let mut err = std::io::stderr().lock();
    for e in &report.errors {
        writeln!(err, "error: {e}")?;
    }
    println!(
        "{}",
        import_summary(&report, imported, index.stats().advisories)
    );
    Ok(true)
}

/// The line `advisories import` prints, naming the layout in a user's words.
fn import_summary(report: &ImportReport, imported: usize, held: usize) -> String {
    let layout = report.layout.map_or(
        "nothing recognisable",
        crate::advisories::import::Layout::describe,
    );
    format!(
        "imported {imported} {} from {layout}, skipped {} withdrawn, {} with errors; the index now holds {held} {}",
        plural(imported, "advisory", "advisories"),
        report.withdrawn.len(),
        match report.errors.len() {
            1 => "1 file".to_string(),
            n => format!("{n} files"),
        },
        plural(held, "advisory", "advisories"),
    )
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

async fn run_sync(store: Store, options: SyncOptions) -> anyhow::Result<bool> {
    let report = sync(&store, &options).await?;
    let mut ok = true;
    for (ecosystem, outcome) in &report.outcomes {
        match outcome {
            Outcome::Updated {
                advisories,
                withdrawn,
                errors,
            } => {
                println!(
                    "{ecosystem}: updated, {advisories} advisories ({withdrawn} withdrawn skipped, {} unreadable)",
                    errors.len()
                );
                for e in errors {
                    eprintln!("error: {e}");
                }
            }
            Outcome::NotModified => println!("{ecosystem}: not modified"),
            Outcome::Failed(message) => {
                ok = false;
                println!("{ecosystem}: FAILED, kept the stored advisories: {message}");
            }
        }
    }
    println!(
        "index now holds {} advisories",
        report.index.stats().advisories
    );
    Ok(ok)
}

fn print_stats(index: &Index, json: bool) -> anyhow::Result<()> {
    let stats = index.stats();
    if json {
        println!("{}", serde_json::to_string_pretty(stats)?);
        return Ok(());
    }
    println!(
        "{:<14} {:>13} {:>12} {:>8} {:>7}",
        "ecosystem", "vulnerability", "unmaintained", "unsound", "notice"
    );
    for (eco, kinds) in &stats.by_ecosystem {
        let n = |k: AdvisoryKind| kinds.get(&k).copied().unwrap_or(0);
        println!(
            "{:<14} {:>13} {:>12} {:>8} {:>7}",
            eco,
            n(AdvisoryKind::Vulnerability),
            n(AdvisoryKind::Unmaintained),
            n(AdvisoryKind::Unsound),
            n(AdvisoryKind::Notice)
        );
    }
    println!(
        "{} advisories, {} packages",
        stats.advisories, stats.packages
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(data_dir: &Path, command: AdvisoriesCommand) -> AdvisoriesArgs {
        AdvisoriesArgs {
            data_dir: Some(data_dir.to_path_buf()),
            command,
        }
    }

    #[tokio::test]
    async fn import_twice_replaces_its_own_source_and_stats_reads_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let db = dir.path().join("db");
        std::fs::create_dir_all(db.join("crates/foo")).unwrap();
        let advisory = |id: &str| {
            format!("```toml\n[advisory]\nid = \"{id}\"\npackage = \"foo\"\ndate = \"2099-01-01\"\n[versions]\npatched = [\">= 1.0.0\"]\n```\n# T\n")
        };
        std::fs::write(
            db.join("crates/foo/RUSTSEC-2099-0001.md"),
            advisory("RUSTSEC-2099-0001"),
        )
        .unwrap();
        let file = FileConfig::default();
        let import = || AdvisoriesCommand::Import { path: db.clone() };
        assert!(run(args(&data, import()), &file).await.unwrap());
        std::fs::write(
            db.join("crates/foo/RUSTSEC-2099-0002.md"),
            advisory("RUSTSEC-2099-0002"),
        )
        .unwrap();
        assert!(run(args(&data, import()), &file).await.unwrap());
        assert!(
            run(args(&data, AdvisoriesCommand::Stats { json: true }), &file)
                .await
                .unwrap()
        );
        let store = Store::open(&data).unwrap();
        let index = crate::advisories::persist::load_index(&store).unwrap();
        assert_eq!(index.stats().advisories, 2);
        assert_eq!(index.matches(Ecosystem::CratesIo, "foo", "0.5.0").len(), 2);
        drop(store);
        let bad = run(
            args(
                &data,
                AdvisoriesCommand::Sync {
                    base_url: None,
                    ecosystems: Some(vec!["Debian".to_string()]),
                },
            ),
            &file,
        )
        .await;
        assert!(bad.unwrap_err().to_string().contains("unknown ecosystem"));
    }

    #[test]
    fn import_output_names_the_layout_in_words() {
        let report = ImportReport {
            layout: Some(crate::advisories::import::Layout::OsvFolder),
            ..Default::default()
        };
        let line = import_summary(&report, 1, 3);
        assert_eq!(
            line,
            "imported 1 advisory from OSV folder, skipped 0 withdrawn, 0 files with errors; the index now holds 3 advisories"
        );
        let report = ImportReport {
            layout: Some(crate::advisories::import::Layout::PyPA),
            ..Default::default()
        };
        let line = import_summary(&report, 2, 2);
        assert!(line.contains("from PyPA advisory-database"), "{line}");
        assert!(!line.contains("PyPA layout") && !line.contains("OsvFolder"));
    }

    #[tokio::test]
    async fn importing_a_folder_without_advisories_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let file = FileConfig::default();
        let import = AdvisoriesCommand::Import {
            path: empty.clone(),
        };
        let err = run(args(&dir.path().join("data"), import), &file)
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("not an advisory database"),
            "{err:#}"
        );
    }

    #[tokio::test]
    async fn config_file_keys_reach_sync() {
        let file = FileConfig::parse(
            "osv_base_url = \"http://127.0.0.1:9\"\nosv_ecosystems = \"npm, Debian\"\n",
        )
        .unwrap();
        assert_eq!(file.osv_base_url(), Some("http://127.0.0.1:9"));
        assert_eq!(file.osv_ecosystems().unwrap(), ["npm", "Debian"]);
        let list = FileConfig::parse("osv_ecosystems = [\"npm\", \"PyPI\"]").unwrap();
        assert_eq!(list.osv_ecosystems().unwrap(), ["npm", "PyPI"]);
        let dir = tempfile::tempdir().unwrap();
        let sync = AdvisoriesCommand::Sync {
            base_url: None,
            ecosystems: None,
        };
        let err = run(args(dir.path(), sync), &file).await.unwrap_err();
        assert!(err.to_string().contains("\"Debian\""), "{err}");
    }
}
