//! A file that holds one snapshot, replaced atomically.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::{ClientSnapshot, Encoding, Error};

/// One snapshot in one file, replaced atomically: the new snapshot goes to `FILE.tmp`, which is written,
/// flushed to disk (`fsync`), renamed over `FILE`, and then the directory is flushed. A crash at any instant
/// leaves either the old or the new snapshot at `FILE`, never a torn one (and a torn `FILE.tmp` is ignored and
/// overwritten).
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    tmp: PathBuf,
    encoding: Encoding,
    max_size: u64,
}

fn io<'p>(op: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> Error + 'p {
    move |source| Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

impl FileStore {
    /// A store at `path`, writing `encoding` (reading accepts both).
    #[must_use]
    pub fn new(path: impl Into<PathBuf>, encoding: Encoding) -> Self {
        let path = path.into();
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        Self {
            path,
            tmp: tmp.into(),
            encoding,
            max_size: crate::DEFAULT_MAX_SIZE,
        }
    }

    /// Sets the largest file [`FileStore::load`] accepts.
    #[must_use]
    pub fn with_max_size(mut self, max_size: u64) -> Self {
        self.max_size = max_size;
        self
    }

    /// The snapshot's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `snapshot` atomically (temporary file, fsync, rename, fsync of the directory).
    ///
    /// # Errors
    /// [`Error::Io`] naming the step and the file; encoding errors as [`ClientSnapshot::encode`].
    pub fn save(&self, snapshot: &ClientSnapshot) -> Result<(), Error> {
        let bytes = snapshot.encode(self.encoding)?;
        self.save_bytes(&bytes)
    }

    /// Writes already encoded bytes atomically.
    ///
    /// # Errors
    /// [`Error::Io`] naming the step and the file.
    pub fn save_bytes(&self, bytes: &[u8]) -> Result<(), Error> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.tmp)
            .map_err(io("create", &self.tmp))?;
        file.write_all(bytes).map_err(io("write", &self.tmp))?;
        file.sync_all().map_err(io("fsync", &self.tmp))?;
        drop(file);
        fs::rename(&self.tmp, &self.path).map_err(io("rename", &self.path))?;
        sync_dir(&self.path)
    }

    /// Reads the snapshot; `Ok(None)` when there is none yet.
    ///
    /// # Errors
    /// [`Error::Io`], or any decoding error of [`ClientSnapshot::decode`].
    pub fn load(&self) -> Result<Option<ClientSnapshot>, Error> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read", &self.path)(e)),
        };
        ClientSnapshot::decode_with_limit(&bytes, self.max_size).map(Some)
    }

    /// Deletes the snapshot (and a leftover temporary file); no error if there is none.
    ///
    /// # Errors
    /// [`Error::Io`] if a file exists and cannot be removed.
    pub fn remove(&self) -> Result<(), Error> {
        for path in [&self.tmp, &self.path] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("remove", path)(e)),
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn sync_dir(path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync", dir))
}

#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> Result<(), Error> {
    Ok(())
}
