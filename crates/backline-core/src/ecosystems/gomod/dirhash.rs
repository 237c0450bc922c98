//! Go's module hashes (`h1:`), as `go.sum` records them (golang.org/x/mod/sumdb/dirhash
//! `Hash1`, `HashZip`): the SHA-256 of one line `"<hex sha256 of the file>  <name>\n"` per
//! file, names sorted, base64 (standard, padded), prefixed `h1:`. A module's own line hashes the
//! files of its zip under their zip names (`module@version/...`); its `/go.mod` line hashes the
//! `go.mod` file alone under the name `go.mod`.
//!
//! Groundwork for the go.mod/go.sum patcher (issue 18), which is not written yet.

#![allow(dead_code)]

use std::io::Read;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Why a hash could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DirhashError {
    /// `Hash1` refuses file names with a newline.
    #[error("dirhash: a file name has a newline")]
    NewlineInName,
    /// The module zip could not be read.
    #[error("dirhash: unreadable module zip: {0}")]
    Zip(String),
}

/// `dirhash.Hash1` over (name, content) pairs.
pub(crate) fn hash1(files: &[(String, Vec<u8>)]) -> Result<String, DirhashError> {
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
pub(crate) fn hash_go_mod(content: &[u8]) -> String {
    hash1(&[("go.mod".to_string(), content.to_vec())]).unwrap_or_default()
}

/// `dirhash.HashZip`: the module's own `h1:` hash, from its zip as the proxy serves it.
pub(crate) fn hash_zip(zip_bytes: &[u8]) -> Result<String, DirhashError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| DirhashError::Zip(e.to_string()))?;
    let mut files = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| DirhashError::Zip(e.to_string()))?;
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|e| DirhashError::Zip(e.to_string()))?;
        files.push((entry.name().to_string(), content));
    }
    hash1(&files)
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
        let from_zip = hash_zip(buf.get_ref()).unwrap();
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
        assert!(hash_zip(b"not a zip").is_err());
    }
}
