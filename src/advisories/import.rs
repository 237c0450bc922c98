//! Importers: OSV JSON folders, OSV zips, the OSV bucket layout (`<Ecosystem>/all.zip`), the
//! RustSec advisory-db layout and the PyPA advisory-database layout, detected from a path.
//!
//! A file that cannot be read or parsed becomes an [`ImportError`] naming it; the import goes on.

use std::io::{Cursor, Read, Seek};
use std::path::{Path, PathBuf};

use super::limits::ArchiveLimits;
use super::model::Advisory;
use super::osv::{self, Parsed};
use super::rustsec;

/// The layouts [`import_path`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A folder of OSV records (`*.json`, and `*.yaml` / `*.yml`), searched recursively.
    OsvFolder,
    /// One zip of OSV JSON records (as OSV publishes `all.zip`).
    OsvZip,
    /// A folder whose subfolders hold `all.zip` (OSV's bucket: `<Ecosystem>/all.zip`).
    OsvBucket,
    /// The RustSec advisory-db (`crates/<name>/RUSTSEC-*.md`).
    RustSec,
    /// The PyPA advisory-database (`vulns/<package>/PYSEC-*.yaml`).
    PyPA,
    /// A single record file (`.json`, `.yaml`, `.yml`, or a RustSec `.md`).
    SingleFile,
}

impl Layout {
    /// The layout in a user's words, as the import output names it.
    pub fn describe(self) -> &'static str {
        match self {
            Layout::OsvFolder => "OSV folder",
            Layout::OsvZip => "OSV zip",
            Layout::OsvBucket => "OSV bucket (<Ecosystem>/all.zip)",
            Layout::RustSec => "RustSec advisory-db",
            Layout::PyPA => "PyPA advisory-database",
            Layout::SingleFile => "single advisory file",
        }
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// What an import found.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// The layout detected (`None` only for the empty default).
    pub layout: Option<Layout>,
    /// The advisories read, withdrawn ones left out.
    pub advisories: Vec<Advisory>,
    /// Ids of withdrawn records that were skipped.
    pub withdrawn: Vec<String>,
    /// Files that could not be read, one entry each.
    pub errors: Vec<ImportError>,
    /// The import stopped early (a zip over its decompressed size cap): what was read is not
    /// the whole database.
    pub incomplete: bool,
}

/// A file that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ImportError {
    /// The file (`archive.zip!entry.json` inside a zip).
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// The whole import failed (nothing to read at the path).
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The path does not exist or cannot be read.
    #[error("cannot read {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The path is neither a folder nor a file of a known kind.
    #[error("{0}: not an advisory folder, zip, or OSV / RustSec file")]
    UnknownLayout(PathBuf),
    /// The path holds no advisory record at all: not an advisory database.
    #[error(
        "{path}: no advisory records found ({errors} unreadable files): not an advisory database"
    )]
    NoAdvisories {
        /// The path.
        path: PathBuf,
        /// Files that looked like records but could not be read.
        errors: usize,
    },
}

/// Detects the layout at `path`.
pub fn detect(path: &Path) -> Result<Layout, ImportFailure> {
    let meta = std::fs::metadata(path).map_err(|source| ImportFailure::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        return match extension(path).as_deref() {
            Some("zip") => Ok(Layout::OsvZip),
            Some("json" | "yaml" | "yml" | "md") => Ok(Layout::SingleFile),
            _ => Err(ImportFailure::UnknownLayout(path.to_path_buf())),
        };
    }
    if path.join("crates").is_dir() || path.file_name().is_some_and(|n| n == "crates") {
        return Ok(Layout::RustSec);
    }
    if path.join("vulns").is_dir() {
        return Ok(Layout::PyPA);
    }
    let entries = std::fs::read_dir(path).map_err(|source| ImportFailure::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bucket = entries
        .filter_map(Result::ok)
        .any(|e| e.path().join("all.zip").is_file());
    Ok(if bucket {
        Layout::OsvBucket
    } else {
        Layout::OsvFolder
    })
}

/// Imports every advisory at `path`, whatever its layout. A path holding no record at all
/// (neither an advisory nor a withdrawn one) is [`ImportFailure::NoAdvisories`], never an
/// import of nothing.
pub fn import_path(path: &Path) -> Result<ImportReport, ImportFailure> {
    let layout = detect(path)?;
    let mut report = ImportReport {
        layout: Some(layout),
        ..Default::default()
    };
    match layout {
        Layout::SingleFile => import_file(path, &mut report),
        Layout::OsvZip => import_zip_file(path, &mut report),
        Layout::OsvBucket => {
            let mut zips: Vec<PathBuf> = read_dir_sorted(path, &mut report)
                .into_iter()
                .map(|p| p.join("all.zip"))
                .filter(|p| p.is_file())
                .collect();
            zips.sort();
            for zip in zips {
                import_zip_file(&zip, &mut report);
            }
        }
        Layout::RustSec => {
            let root = if path.join("crates").is_dir() {
                path.join("crates")
            } else {
                path.to_path_buf()
            };
            walk(&root, &mut report, &|p: &Path| {
                extension(p).as_deref() == Some("md")
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("RUSTSEC-"))
            });
        }
        Layout::PyPA => walk(&path.join("vulns"), &mut report, &|p: &Path| {
            matches!(extension(p).as_deref(), Some("yaml" | "yml"))
        }),
        Layout::OsvFolder => walk(path, &mut report, &|p: &Path| {
            matches!(extension(p).as_deref(), Some("json" | "yaml" | "yml"))
        }),
    }
    if report.advisories.is_empty() && report.withdrawn.is_empty() {
        for e in &report.errors {
            tracing::warn!("skipped an advisory file: {e}");
        }
        return Err(ImportFailure::NoAdvisories {
            path: path.to_path_buf(),
            errors: report.errors.len(),
        });
    }
    Ok(report)
}

/// Imports the OSV records of a zip held in memory; `name` names it in errors.
pub fn import_zip_bytes(name: &str, bytes: Vec<u8>) -> ImportReport {
    import_zip_bytes_within(name, bytes, &ArchiveLimits::default())
}

/// [`import_zip_bytes`] within `limits`: a record decompressing past `max_entry_bytes` is an
/// error (the others are read); an archive past `max_archive_bytes` stops the import
/// ([`ImportReport::incomplete`]).
pub fn import_zip_bytes_within(name: &str, bytes: Vec<u8>, limits: &ArchiveLimits) -> ImportReport {
    let mut report = ImportReport {
        layout: Some(Layout::OsvZip),
        ..Default::default()
    };
    read_zip(name, Cursor::new(bytes), limits, &mut report);
    report
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

fn read_dir_sorted(dir: &Path, report: &mut ImportReport) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut paths: Vec<PathBuf> =
                entries.filter_map(Result::ok).map(|e| e.path()).collect();
            paths.sort();
            paths
        }
        Err(e) => {
            report.errors.push(ImportError {
                file: dir.display().to_string(),
                message: e.to_string(),
            });
            Vec::new()
        }
    }
}

/// Recursive walk in name order; hidden entries (`.git`) are skipped.
fn walk(dir: &Path, report: &mut ImportReport, wanted: &dyn Fn(&Path) -> bool) {
    for path in read_dir_sorted(dir, report) {
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        if path.is_dir() {
            walk(&path, report, wanted);
        } else if wanted(&path) {
            import_file(&path, report);
        }
    }
}

fn import_file(path: &Path, report: &mut ImportReport) {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => record(&name, extension(path).as_deref(), &bytes, report),
        Err(e) => report.errors.push(ImportError {
            file: name,
            message: e.to_string(),
        }),
    }
}

/// Parses one record by its file extension and adds it to the report.
fn record(name: &str, ext: Option<&str>, bytes: &[u8], report: &mut ImportReport) {
    let parsed = match ext {
        Some("json") => osv::parse_json(bytes).map_err(|e| e.to_string()),
        Some("yaml" | "yml") => osv::parse_yaml(bytes).map_err(|e| e.to_string()),
        Some("md") => match std::str::from_utf8(bytes) {
            Ok(text) => rustsec::parse_markdown(text).map_err(|e| e.to_string()),
            Err(e) => Err(format!("not UTF-8: {e}")),
        },
        _ => Err("unknown file type".to_string()),
    };
    match parsed {
        Ok(Parsed::Advisory(a)) => report.advisories.push(*a),
        Ok(Parsed::Withdrawn(id)) => report.withdrawn.push(id),
        Err(message) => report.errors.push(ImportError {
            file: name.to_string(),
            message,
        }),
    }
}

fn import_zip_file(path: &Path, report: &mut ImportReport) {
    let name = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(file) => read_zip(
            &name,
            std::io::BufReader::new(file),
            &ArchiveLimits::default(),
            report,
        ),
        Err(e) => report.errors.push(ImportError {
            file: name,
            message: e.to_string(),
        }),
    }
}

fn read_zip<R: Read + Seek>(
    name: &str,
    reader: R,
    limits: &ArchiveLimits,
    report: &mut ImportReport,
) {
    let mut archive = match zip::ZipArchive::new(reader) {
        Ok(a) => a,
        Err(e) => {
            report.errors.push(ImportError {
                file: name.to_string(),
                message: format!("not a readable zip: {e}"),
            });
            return;
        }
    };
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = match archive.by_index(i) {
            Ok(entry) => entry,
            Err(e) => {
                report.errors.push(ImportError {
                    file: format!("{name}!#{i}"),
                    message: e.to_string(),
                });
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let entry_name = format!("{name}!{}", entry.name());
        let ext = extension(Path::new(entry.name()));
        if !matches!(ext.as_deref(), Some("json" | "yaml" | "yml")) {
            continue;
        }
        buf.clear();
        // Read one byte past the caps, whatever size the entry declares.
        let allowed = limits
            .max_entry_bytes
            .min(limits.max_archive_bytes.saturating_sub(total));
        if let Err(e) = (&mut entry).take(allowed + 1).read_to_end(&mut buf) {
            report.errors.push(ImportError {
                file: entry_name,
                message: e.to_string(),
            });
            continue;
        }
        total += buf.len() as u64;
        if total > limits.max_archive_bytes {
            report.errors.push(ImportError {
                file: name.to_string(),
                message: format!(
                    "decompresses to more than {} bytes: import stopped",
                    limits.max_archive_bytes
                ),
            });
            report.incomplete = true;
            return;
        }
        if buf.len() as u64 > limits.max_entry_bytes {
            report.errors.push(ImportError {
                file: entry_name,
                message: format!(
                    "decompresses to more than {} bytes: skipped",
                    limits.max_entry_bytes
                ),
            });
            continue;
        }
        record(&entry_name, ext.as_deref(), &buf, report);
    }
}

#[cfg(test)]
pub(crate) mod tests;
