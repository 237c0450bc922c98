//! Importers on small hand-made trees: folders, zips, the bucket layout, broken files.

use std::io::Write;

use super::*;

const GOOD: &str = r#"{"id": "GHSA-good", "affected": [{"package": {"ecosystem": "npm", "name": "x"},
  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]}]}"#;
const WITHDRAWN: &str = r#"{"id": "GHSA-gone", "withdrawn": "2024-01-01T00:00:00Z"}"#;

pub(crate) fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, body) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap();
    }
    out.into_inner()
}

#[test]
fn folder_of_json_is_recursive_and_names_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::fs::write(dir.path().join("a/b/good.json"), GOOD).unwrap();
    std::fs::write(dir.path().join("a/gone.json"), WITHDRAWN).unwrap();
    std::fs::write(dir.path().join("broken.json"), "{ not json").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    std::fs::write(dir.path().join("y.yaml"), "id: PYSEC-1\nsummary: s\n").unwrap();
    let r = import_path(dir.path()).unwrap();
    assert_eq!(r.layout, Some(Layout::OsvFolder));
    let ids: Vec<&str> = r.advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["GHSA-good", "PYSEC-1"]);
    assert_eq!(r.withdrawn, ["GHSA-gone"]);
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].file.ends_with("broken.json"), "{}", r.errors[0]);
}

#[test]
fn zip_and_bucket_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = zip_of(&[
        ("GHSA-good.json", GOOD),
        ("bad.json", "[]"),
        ("gone.json", WITHDRAWN),
    ]);
    std::fs::create_dir_all(dir.path().join("npm")).unwrap();
    std::fs::create_dir_all(dir.path().join("PyPI")).unwrap();
    std::fs::write(dir.path().join("npm/all.zip"), &bytes).unwrap();
    std::fs::write(dir.path().join("PyPI/all.zip"), b"not a zip").unwrap();
    let r = import_path(&dir.path().join("npm/all.zip")).unwrap();
    assert_eq!(r.layout, Some(Layout::OsvZip));
    assert_eq!(r.advisories.len(), 1);
    assert_eq!(r.withdrawn.len(), 1);
    assert_eq!(r.errors.len(), 1);
    assert!(
        r.errors[0].file.ends_with("all.zip!bad.json"),
        "{}",
        r.errors[0]
    );
    let r = import_path(dir.path()).unwrap();
    assert_eq!(r.layout, Some(Layout::OsvBucket));
    assert_eq!(r.advisories.len(), 1);
    assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
    assert!(r.errors.iter().any(|e| e.file.ends_with("PyPI/all.zip")));
    let r = import_zip_bytes("mem.zip", bytes);
    assert_eq!(r.advisories.len(), 1);
    let r = import_zip_bytes("junk.zip", b"PK\x03\x04 truncated".to_vec());
    assert_eq!(r.errors.len(), 1);
}

#[test]
fn rustsec_and_pypa_layouts_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("crates/foo")).unwrap();
    std::fs::write(
        dir.path().join("crates/foo/RUSTSEC-2099-0001.md"),
        "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"foo\"\ndate = \"2099-01-01\"\n[versions]\npatched = [\">= 1.0.0\"]\n```\n# T\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("crates/foo/RUSTSEC-2099-0002.md"),
        "no front matter",
    )
    .unwrap();
    std::fs::write(dir.path().join("README.md"), "# not an advisory").unwrap();
    let r = import_path(dir.path()).unwrap();
    assert_eq!(r.layout, Some(Layout::RustSec));
    assert_eq!(r.advisories.len(), 1);
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].to_string().contains("RUSTSEC-2099-0002.md"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("vulns/pkg")).unwrap();
    std::fs::write(dir.path().join("vulns/pkg/PYSEC-1.yaml"), "id: PYSEC-1\n").unwrap();
    std::fs::write(dir.path().join("vulns/pkg/PYSEC-2.yaml"), "id: [\n").unwrap();
    let r = import_path(dir.path()).unwrap();
    assert_eq!(r.layout, Some(Layout::PyPA));
    assert_eq!((r.advisories.len(), r.errors.len()), (1, 1));
}

#[test]
fn missing_path_and_unknown_file_fail_the_import() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        import_path(&dir.path().join("nope")),
        Err(ImportFailure::Io { .. })
    ));
    std::fs::write(dir.path().join("x.bin"), b"\0").unwrap();
    assert!(matches!(
        import_path(&dir.path().join("x.bin")),
        Err(ImportFailure::UnknownLayout(_))
    ));
}

#[test]
fn a_folder_without_any_record_is_not_an_advisory_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "nothing here").unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    let e = import_path(dir.path()).unwrap_err();
    assert!(
        matches!(e, ImportFailure::NoAdvisories { errors: 0, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("not an advisory database"), "{e}");
    // Only unreadable records: still nothing imported, still an error.
    std::fs::write(dir.path().join("broken.json"), "{ not json").unwrap();
    assert!(matches!(
        import_path(dir.path()),
        Err(ImportFailure::NoAdvisories { errors: 1, .. })
    ));
}

/// Issue 12 item 6: a small zip whose entry decompresses past the per-record cap (17 MiB of
/// zeros, about 17 KB compressed) is an error naming the entry; the other records are read.
#[test]
fn a_zip_bomb_entry_is_refused_and_the_rest_read() {
    let huge = "0".repeat((16 << 20) + (1 << 20));
    let zip = zip_of(&[("bomb.json", &huge), ("good.json", GOOD)]);
    assert!(zip.len() < 100_000, "{} bytes", zip.len());
    let report = import_zip_bytes("all.zip", zip);
    assert_eq!(report.advisories.len(), 1);
    assert!(!report.incomplete);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(
        report.errors[0].to_string(),
        format!(
            "all.zip!bomb.json: decompresses to more than {} bytes: skipped",
            16 << 20
        )
    );
}

#[test]
fn an_archive_past_its_total_cap_stops_the_import() {
    let record = format!("{GOOD}{}", " ".repeat(1000));
    let names: Vec<String> = (0..10).map(|i| format!("r{i}.json")).collect();
    let entries: Vec<(&str, &str)> = names
        .iter()
        .map(|n| (n.as_str(), record.as_str()))
        .collect();
    let limits = ArchiveLimits {
        max_archive_bytes: 5 * record.len() as u64,
        ..ArchiveLimits::default()
    };
    let report = import_zip_bytes_within("all.zip", zip_of(&entries), &limits);
    assert!(report.incomplete);
    assert_eq!(report.advisories.len(), 5);
    assert_eq!(
        report.errors.last().unwrap().to_string(),
        format!(
            "all.zip: decompresses to more than {} bytes: import stopped",
            limits.max_archive_bytes
        )
    );
}
