//! Bounds on what an advisory download or zip may make backline hold: a zip of a few MB can
//! decompress to gigabytes, and a download can be endless. Checked while reading (the sizes a
//! zip declares are not trusted).

/// The caps of one advisory download and the zip in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Largest download body (OSV's largest `all.zip`, npm's, is about 150 MB).
    pub max_download_bytes: u64,
    /// Largest decompressed record (OSV records are kilobytes; the largest about 1 MB).
    pub max_entry_bytes: u64,
    /// Largest decompressed archive, all records together.
    pub max_archive_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_download_bytes: 1 << 30,
            max_entry_bytes: 16 << 20,
            max_archive_bytes: 4 << 30,
        }
    }
}
