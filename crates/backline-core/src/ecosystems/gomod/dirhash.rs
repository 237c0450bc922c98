//! Go's module hashes (`h1:`), as `go.sum` records them (golang.org/x/mod/sumdb/dirhash
//! `Hash1`, `HashZip`): the SHA-256 of one line `"<hex sha256 of the file>  <name>\n"` per
//! file, names sorted, base64 (standard, padded), prefixed `h1:`. A module's own line hashes the
//! files of its zip under their zip names (`module@version/...`); its `/go.mod` line hashes the
//! `go.mod` file alone under the name `go.mod`.
//!
//! Checked on real go.sum lines in the tests (`a_real_go_sum_line`, `real_go_mod_vectors`) and
//! against `go` itself by `scripts/real-tool-proofs` (tests/data/gomod-proofs/).

use std::io::Read;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Why a hash could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirhashError {
    /// `Hash1` refuses file names with a newline.
    #[error("dirhash: a file name has a newline")]
    NewlineInName,
    /// The module zip could not be read.
    #[error("dirhash: unreadable module zip: {0}")]
    Zip(String),
    /// The zip's files add up to more than the limit (Go's own is 500 MiB, modzip.MaxZipFile).
    #[error("dirhash: the module zip's files exceed {0} bytes")]
    TooLarge(u64),
}

/// Go's limit on a module zip's uncompressed size (golang.org/x/mod/zip.MaxZipFile).
pub const MAX_ZIP_UNCOMPRESSED: u64 = 500 << 20;

/// `dirhash.Hash1` over (name, content) pairs.
pub fn hash1(files: &[(String, Vec<u8>)]) -> Result<String, DirhashError> {
    let mut sorted: Vec<&(String, Vec<u8>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut summary = Sha256::new();
    for (name, content) in sorted {
        if name.contains('\n') {
            return Err(DirhashError::NewlineInName);
        }
        let file = hex::encode(Sha256::digest(content));
        summary.update(format!("{file}  {name}\n").as_bytes());
    }
    Ok(format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(summary.finalize())
    ))
}

/// The `/go.mod h1:` hash of a module's `go.mod`.
pub fn hash_go_mod(content: &[u8]) -> String {
    hash1(&[("go.mod".to_string(), content.to_vec())]).unwrap_or_default()
}

/// `dirhash.HashZip`: the module's own `h1:` hash, from its zip as the proxy serves it. Each
/// file is hashed as it is inflated (nothing but the names is kept), and inflating stops at
/// `max_uncompressed` bytes in all.
pub fn hash_zip(zip_bytes: &[u8], max_uncompressed: u64) -> Result<String, DirhashError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| DirhashError::Zip(e.to_string()))?;
    let mut lines: Vec<(String, String)> = Vec::with_capacity(archive.len());
    let mut left = max_uncompressed;
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| DirhashError::Zip(e.to_string()))?;
        let name = entry.name().to_string();
        if name.contains('\n') {
            return Err(DirhashError::NewlineInName);
        }
        let mut hasher = Sha256::new();
        let mut limited = entry.take(left + 1);
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = limited
                .read(&mut buf)
                .map_err(|e| DirhashError::Zip(e.to_string()))?;
            if n == 0 {
                break;
            }
            if n as u64 > left {
                return Err(DirhashError::TooLarge(max_uncompressed));
            }
            left -= n as u64;
            hasher.update(&buf[..n]);
        }
        lines.push((name, hex::encode(hasher.finalize())));
    }
    lines.sort();
    let mut summary = Sha256::new();
    for (name, file) in lines {
        summary.update(format!("{file}  {name}\n").as_bytes());
    }
    Ok(format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(summary.finalize())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// golang.org/x/text v0.32.0's go.mod (github.com/golang/text at 0dd57a6e), and the line
    /// every go.sum that requires it carries:
    /// `golang.org/x/text v0.32.0/go.mod h1:o/rUWzghvpD5TXrTIBuJU77MTaN0ljMWE47kxGJQ7jY=`.
    const X_TEXT_0_32_GO_MOD: &str = "module golang.org/x/text\n\ngo 1.24.0\n\nrequire golang.org/x/tools v0.39.0 // tagx:ignore\n\nrequire (\n\tgolang.org/x/mod v0.30.0 // indirect; tagx:ignore\n\tgolang.org/x/sync v0.19.0 // indirect\n)\n";

    #[test]
    fn a_real_go_sum_line() {
        assert_eq!(
            hash_go_mod(X_TEXT_0_32_GO_MOD.as_bytes()),
            "h1:o/rUWzghvpD5TXrTIBuJU77MTaN0ljMWE47kxGJQ7jY="
        );
    }

    /// tests/data/gomod-proofs/vectors.txt: real go.sum `/go.mod` lines of real modules, each
    /// followed by the go.mod it hashes.
    #[test]
    fn real_go_mod_vectors() {
        let text = include_str!("../../../../../tests/data/gomod-proofs/vectors.txt");
        let mut checked = 0;
        for block in text.split("--\n").filter(|b| !b.trim().is_empty()) {
            let (line, go_mod) = block.split_once('\n').unwrap();
            let hash = line.rsplit(' ').next().unwrap();
            assert_eq!(hash_go_mod(go_mod.as_bytes()), hash, "{line}");
            checked += 1;
        }
        assert_eq!(checked, 2);
    }

    #[test]
    fn zips_hash_their_files_by_name_in_order() {
        use std::io::Write;
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            // Written out of order: the hash sorts the names.
            z.start_file("example.com/m@v1.0.0/m.go", opts).unwrap();
            z.write_all(b"package m\n").unwrap();
            z.start_file("example.com/m@v1.0.0/go.mod", opts).unwrap();
            z.write_all(b"module example.com/m\n").unwrap();
            z.finish().unwrap();
        }
        let from_zip = hash_zip(buf.get_ref(), MAX_ZIP_UNCOMPRESSED).unwrap();
        let direct = hash1(&[
            (
                "example.com/m@v1.0.0/go.mod".into(),
                b"module example.com/m\n".to_vec(),
            ),
            ("example.com/m@v1.0.0/m.go".into(), b"package m\n".to_vec()),
        ])
        .unwrap();
        assert_eq!(from_zip, direct);
        assert!(from_zip.starts_with("h1:") && from_zip.len() == 47);
        assert_eq!(
            hash1(&[("a\nb".into(), Vec::new())]),
            Err(DirhashError::NewlineInName)
        );
        assert!(hash_zip(b"not a zip", MAX_ZIP_UNCOMPRESSED).is_err());
        assert_eq!(
            hash_zip(buf.get_ref(), 12),
            Err(DirhashError::TooLarge(12)),
            "the two files are 31 bytes in all"
        );
    }
}
