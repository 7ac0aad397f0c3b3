//! Output files are written whole or not at all: into a temporary file beside the target, then
//! renamed over it. A run that is killed, or fails, while writing leaves the previous file as it
//! was (and at worst a stray temporary file), never a truncated one (docs/design.md, "Why are
//! outputs renamed into place?"). [`write_new`] never replaces a file at all, and
//! [`file_name_part`] spells text from input files (trust codes, device ids) safely in a name.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::{Context, Result};
use tempfile::NamedTempFile;

/// Writes `bytes` to `path`, replacing any file there only once all of them are on disk.
///
/// # Errors
/// The folder is missing or not writable, the disk is full, or `path` cannot be replaced (it is
/// a folder, say); the message names `path`.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let cannot = || format!("{}: cannot write", path.display());
    let mut file = temporary_beside(path, 0o666).with_context(cannot)?;
    file.write_all(bytes).with_context(cannot)?;
    file.as_file().sync_all().with_context(cannot)?;
    file.persist(path).map_err(|e| e.error).with_context(cannot)?;
    Ok(())
}

/// A file written a piece at a time into a temporary file beside its path, and renamed over it
/// by [`Staged::finish`] once all of it is on disk: [`write()`] for output too large to hold whole.
pub struct Staged {
    path: std::path::PathBuf,
    file: std::io::BufWriter<NamedTempFile>,
}

impl Staged {
    /// Starts writing `path`.
    ///
    /// # Errors
    /// The folder is missing or not writable; the message names `path`.
    pub fn new(path: &Path) -> Result<Self> {
        let file =
            temporary_beside(path, 0o666).with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(Self { path: path.to_owned(), file: std::io::BufWriter::with_capacity(1 << 20, file) })
    }

    /// Appends `bytes`.
    ///
    /// # Errors
    /// The disk is full; the message names the path.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes).with_context(|| format!("{}: cannot write", self.path.display()))
    }

    /// Puts the file in place of any file at its path, once every byte is on disk.
    ///
    /// # Errors
    /// The disk is full, or the path cannot be replaced; the message names it.
    pub fn finish(self) -> Result<()> {
        let cannot = || format!("{}: cannot write", self.path.display());
        let file = self.file.into_inner().map_err(|e| e.into_error()).with_context(cannot)?;
        file.as_file().sync_all().with_context(cannot)?;
        file.persist(&self.path).map_err(|e| e.error).with_context(cannot)?;
        Ok(())
    }
}

/// What [`write_new`] found at its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewFile {
    /// Nothing was there; the file is now written.
    Written,
    /// A file with exactly these bytes was already there; it was left as it was.
    Identical,
    /// A file with other bytes was there; it was left as it was and nothing was written.
    Different,
}

/// Writes `bytes` to `path` unless a file is there already, which is never replaced: the
/// bytes go to a temporary file beside it, synced, and are then published under `path` with
/// a no-clobber rename or hard link (`rename(2)` with `RENAME_NOREPLACE`, else `link(2)`), so
/// of two writers racing for one name exactly one wins and the other sees its file
/// (docs/design.md, "Why are collected exports published without clobbering?").
///
/// # Errors
/// The folder is missing or not writable, the disk is full, or what is at `path` cannot be
/// read to compare it; the message names `path`.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<NewFile> {
    publish_new(path, bytes, 0o666)
}

/// As [`write_new`], for a secret (a provisioning image): readable and writable by its owner
/// only, whatever the umask.
///
/// # Errors
/// As [`write_new`].
pub fn write_new_secret(path: &Path, bytes: &[u8]) -> Result<NewFile> {
    publish_new(path, bytes, 0o600)
}

fn publish_new(path: &Path, bytes: &[u8], mode: u32) -> Result<NewFile> {
    if let Some(found) = compare_existing(path, bytes)? {
        return Ok(found);
    }
    let cannot = || format!("{}: cannot write", path.display());
    let mut file = temporary_beside(path, mode).with_context(cannot)?;
    file.write_all(bytes).with_context(cannot)?;
    file.as_file().sync_all().with_context(cannot)?;
    match file.persist_noclobber(path) {
        Ok(_) => Ok(NewFile::Written),
        // Another writer got there between the check and the publish; its file stands.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            drop(e.file);
            compare_existing(path, bytes)?.with_context(cannot)
        }
        Err(e) => Err(e.error).with_context(cannot),
    }
}

/// Whether the file at `path` holds exactly `bytes` (`None` if there is no file), reading at
/// most one byte more than `bytes` has.
fn compare_existing(path: &Path, bytes: &[u8]) -> Result<Option<NewFile>> {
    let cannot = || format!("{}: already there, cannot be read to compare", path.display());
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(cannot),
    };
    let mut found = Vec::with_capacity(bytes.len() + 1);
    file.take(bytes.len() as u64 + 1).read_to_end(&mut found).with_context(cannot)?;
    Ok(Some(if found == bytes { NewFile::Identical } else { NewFile::Different }))
}

/// `text` (a trust code, a device id: text from an input file) spelled as part of a file name,
/// so that no text can leave the folder, look like a URL scheme, or share a name with other
/// text, even on a case-insensitive file system. Upper-case letters, digits and `-` stand for
/// themselves; every other byte (lower-case letters and `_` too) is `_` and two lower-case hex
/// digits: `RT5` is `RT5`, `a/b:c` is `_61_2f_62_3a_63` (docs/design.md, "Why are report file
/// names spelled with `_xx`?").
#[must_use]
pub fn file_name_part(text: &str) -> String {
    let mut name = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' {
            name.push(char::from(b));
        } else {
            let _ = write!(name, "_{b:02x}");
        }
    }
    name
}

/// A new temporary file in `path`'s folder (so the rename stays on one file system), with the
/// permissions `std::fs::write` would give a new file.
/// A temporary file in `path`'s folder with permissions `mode` less the umask (Unix).
fn temporary_beside(path: &Path, mode: u32) -> std::io::Result<NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".surveybench-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // 0o666 less the umask is what a plain `File::create` gives.
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    builder.tempfile_in(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old, longer than the new text").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn a_failed_replace_names_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        std::fs::create_dir_all(path.join("inside")).unwrap();
        let e = write(&path, b"text").unwrap_err();
        assert!(format!("{e:#}").starts_with(&format!("{}: cannot write", path.display())), "{e:#}");
        assert_eq!(names(dir.path()), ["taken"]);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_get_the_permissions_a_plain_write_gives() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let (plain, ours) = (dir.path().join("plain"), dir.path().join("ours"));
        std::fs::write(&plain, "x").unwrap();
        write(&ours, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&ours), mode(&plain));
    }

    #[test]
    fn write_new_writes_once_and_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        assert_eq!(write_new(&path, b"one\n").unwrap(), NewFile::Written);
        assert_eq!(write_new(&path, b"one\n").unwrap(), NewFile::Identical);
        assert_eq!(write_new(&path, b"two\n").unwrap(), NewFile::Different);
        // A longer text that starts with the file's bytes is different too.
        assert_eq!(write_new(&path, b"one\nmore").unwrap(), NewFile::Different);
        assert_eq!(write_new(&path, b"one").unwrap(), NewFile::Different);
        assert_eq!(std::fs::read(&path).unwrap(), b"one\n");
        assert_eq!(names(dir.path()), ["a.json"]);
    }

    #[test]
    fn racing_writers_of_one_name_leave_one_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("race.json");
        let texts: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 100_000]).collect();
        let results: Vec<NewFile> = std::thread::scope(|s| {
            let handles: Vec<_> = texts.iter().map(|t| s.spawn(|| write_new(&path, t).unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results.iter().filter(|r| **r == NewFile::Written).count(), 1, "{results:?}");
        assert_eq!(results.iter().filter(|r| **r == NewFile::Different).count(), 7, "{results:?}");
        let kept = std::fs::read(&path).unwrap();
        assert!(texts.contains(&kept));
        assert_eq!(names(dir.path()), ["race.json"]);
    }

    #[test]
    fn file_name_parts_keep_codes_and_escape_the_rest() {
        assert_eq!(file_name_part("RT5"), "RT5");
        assert_eq!(file_name_part("a/b:c"), "_61_2f_62_3a_63");
        assert_eq!(file_name_part(".."), "_2e_2e");
        assert_eq!(file_name_part("_"), "_5f");
    }
}
