//! The files to read: inputs and the folders under them, each real file once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The files to read, and the names that lead to a file already listed.
#[derive(Debug, Default)]
pub struct Files {
    /// Each real file once, sorted by name so results never depend on the file system.
    pub unique: Vec<PathBuf>,
    /// `(name, first)`: `name` is the same real file (by canonical path) as `first`.
    pub repeats: Vec<(PathBuf, PathBuf)>,
}

/// Whether a file in a folder is an input: device exports and CSVs.
fn is_input(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "jsonl" | "csv"))
}

/// Lists `inputs` (files, and the input files under folders) with every real file once: the
/// same file named twice (`x.csv` and `./x.csv`) or reached through a link counts once, and a
/// link to a folder already walked (a parent, say) is not walked again.
///
/// # Errors
/// A missing input, or a folder that cannot be listed.
pub fn files(inputs: &[PathBuf]) -> Result<Files> {
    let mut found = Vec::new();
    let mut walked = BTreeSet::new();
    for input in inputs {
        let real = input
            .canonicalize()
            .map_err(|_| anyhow::anyhow!("{}: no such file or folder", input.display()))?;
        if real.is_dir() {
            walk(input, &mut walked, &mut found)?;
        } else if real.is_file() {
            found.push(input.clone());
        } else {
            bail!("{}: not a file or folder", input.display());
        }
    }
    found.sort();
    let mut first_name: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut out = Files::default();
    for path in found {
        let real = path.canonicalize().with_context(|| format!("{}: cannot resolve", path.display()))?;
        match first_name.get(&real) {
            Some(first) => out.repeats.push((path, first.clone())),
            None => {
                first_name.insert(real, path.clone());
                out.unique.push(path);
            }
        }
    }
    Ok(out)
}

/// Adds the input files under `dir` to `found`, skipping folders (by real path) already walked.
fn walk(dir: &Path, walked: &mut BTreeSet<PathBuf>, found: &mut Vec<PathBuf>) -> Result<()> {
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let real = dir.canonicalize().with_context(|| format!("{}: cannot resolve", dir.display()))?;
        if !walked.insert(real) {
            continue;
        }
        for entry in std::fs::read_dir(&dir).with_context(|| format!("{}: cannot list", dir.display()))? {
            let path = entry.with_context(|| format!("{}: cannot list", dir.display()))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() && is_input(&path) {
                found.push(path);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_parent_folder_neither_loops_nor_repeats() {
        let dir = tempfile::TempDir::new().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("a.csv"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path(), sub.join("up")).unwrap();
        std::os::unix::fs::symlink(sub.join("a.csv"), dir.path().join("b.csv")).unwrap();
        let f = files(&[dir.path().to_owned(), sub.join("a.csv")]).unwrap();
        assert_eq!(f.unique, vec![dir.path().join("b.csv")]);
        assert_eq!(f.repeats.len(), 2, "{:?}", f.repeats);
    }

    #[test]
    fn the_same_file_by_two_names_is_listed_once() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(dir.path().join("x.csv"), "x").unwrap();
        let plain = dir.path().join("x.csv");
        let dotted = dir.path().join(".").join("x.csv");
        let f = files(&[plain.clone(), dotted.clone()]).unwrap();
        // Sorted by name, the first name is the one read.
        assert_eq!(f.unique, vec![plain.clone().min(dotted.clone())]);
        assert_eq!(f.repeats.len(), 1);
    }
}
