//! Writing files in a repository that may be hostile: migrated CI files
//! (`fix`) and reports (`check -o`).
//!
//! Every write goes to a temporary file in the target's directory, is synced,
//! and is renamed over the target, so a reader sees the old file or the new
//! one, never a mix. A temporary file is named `.NAME.kaniko2buildkit-XXXXXX.tmp`;
//! (without the first dot when NAME has one); one left by a crash (older than [`STALE_AFTER`]) is removed by the next
//! write to the same file.

use std::io::{Read, Write as _};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Where temporary file names start after the target's name.
const TEMP_MARK: &str = ".kaniko2buildkit-";
const TEMP_SUFFIX: &str = ".tmp";
/// A run writes its temporary file in well under a second: one this old is
/// left over from a run that crashed, not one in progress.
pub const STALE_AFTER: Duration = Duration::from_secs(600);

/// What is known of a file when it was read: a later write goes ahead only
/// if it is still the same file with the same size and modification time.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    device_inode: (u64, u64),
}

impl Identity {
    fn of(metadata: &std::fs::Metadata) -> Identity {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Identity {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            device_inode: (metadata.dev(), metadata.ino()),
        }
    }
}

/// A new text written beside its target, synced, waiting for the rename.
pub struct Prepared<'a> {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
    /// The text the file must still hold: the pipeline's, borrowed (a copy
    /// read back from the file held the whole file once more).
    expected: &'a [u8],
    identity: Identity,
    /// What could not be kept (the owner, when not permitted).
    pub warnings: Vec<String>,
}

/// Writes `text` beside `path` for [`Prepared::commit`], if the file still
/// holds `expected` (the text that was migrated). Refused: a file that is
/// not a regular file, and one with other hard links, which the rename
/// would split from it (the other names would keep the old text). `path`
/// is the file's real path (the pipeline keeps them canonical), so a
/// symlink inside the project has its target rewritten.
pub fn prepare<'a>(path: &Path, expected: &'a str, text: &str) -> Result<Prepared<'a>, String> {
    let shown = path.display();
    // Opening a FIFO would block: look before opening.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Err(format!(
            "{shown} is not a regular file; nothing was written"
        ));
    }
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !metadata.is_file() {
        return Err(format!(
            "{shown} is not a regular file; nothing was written"
        ));
    }
    if let Some(links) = other_links(&metadata) {
        return Err(format!(
            "{shown} has {links} other hard link(s); replacing it would leave them with the old text, \
             so nothing was written (copy the file to break the link, then run `fix` again)"
        ));
    }
    let identity = Identity::of(&metadata);
    if !holds(&mut file, expected.as_bytes()).map_err(|e| format!("cannot read {shown}: {e}"))? {
        return Err(changed(path));
    }
    let mut temp = temporary_beside(path, false)?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| format!("cannot write beside {shown}: {e}"))?;
    let warnings = keep_owner(temp.as_file(), &metadata, path);
    std::fs::set_permissions(temp.path(), metadata.permissions())
        .map_err(|e| format!("cannot give the new {shown} the old permissions: {e}"))?;
    Ok(Prepared {
        temp,
        target: path.to_path_buf(),
        expected: expected.as_bytes(),
        identity,
        warnings,
    })
}

/// Whether `reader` yields exactly `expected`, read a block at a time: a
/// copy of the file would hold it once more for as long as it is compared.
fn holds(mut reader: impl Read, expected: &[u8]) -> std::io::Result<bool> {
    let mut block = vec![0; 64 * 1024];
    let mut at = 0;
    loop {
        let read = match reader.read(&mut block) {
            Ok(0) => return Ok(at == expected.len()),
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if expected.get(at..at + read) != Some(&block[..read]) {
            return Ok(false);
        }
        at += read;
    }
}

impl Prepared<'_> {
    /// Renames the new text over the target, after checking once more that
    /// the target is the file that was read (same device, inode, size and
    /// modification time, and the same bytes), under an advisory lock on it.
    /// An editor takes no such lock: an edit saved after this last check and
    /// before the rename (microseconds) would still be lost, as no portable
    /// rename can compare and swap.
    pub fn commit(self) -> Result<(), String> {
        let path = &self.target;
        if failpoint("edit-before-rename") {
            let edit = std::fs::OpenOptions::new().append(true).open(path);
            let _ = edit.and_then(|mut file| file.write_all(b"# saved meanwhile\n"));
        }
        // Another `fix` holds the same lock from its check to its rename, so
        // two runs cannot both pass the check and then both rename.
        let locked = std::fs::File::open(path).and_then(|file| file.lock().map(|()| file));
        let still_same = locked.as_ref().is_ok_and(|file| {
            file.metadata()
                .is_ok_and(|metadata| Identity::of(&metadata) == self.identity)
        }) && std::fs::symlink_metadata(path)
            .is_ok_and(|metadata| Identity::of(&metadata) == self.identity)
            && locked
                .as_ref()
                .is_ok_and(|file| holds(file, self.expected).unwrap_or(false));
        if !still_same {
            return Err(changed(path));
        }
        if failpoint("before-rename") {
            std::process::abort();
        }
        self.temp
            .persist(path)
            .map_err(|e| format!("cannot replace {}: {}", path.display(), e.error))?;
        sync_directory(path);
        Ok(())
    }
}

fn changed(path: &Path) -> String {
    format!(
        "{} changed on disk while it was being migrated; nothing was written",
        path.display()
    )
}

/// Writes a report to `path`, replacing a regular file there. A symlink, a
/// directory, a FIFO or a device at `path` is refused, and so is a relative
/// path through a symlinked directory: a repository could commit
/// `gl-code-quality-report.json -> ../../somewhere` to have the report
/// overwrite a file outside it.
pub fn write_report(path: &Path, text: &str) -> Result<(), String> {
    let shown = path.display();
    refuse_symlinked_directories(path)?;
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            return Err(format!(
                "{shown} is a symlink; the report is not written through it \
                 (remove it, or redirect standard output to write there on purpose)"
            ));
        }
        Ok(metadata) if !metadata.is_file() => {
            return Err(format!("{shown} exists and is not a regular file"));
        }
        _ => {}
    }
    // The permissions a plain write would give: the old file's, or those
    // of a new file under the umask (a temporary file is private).
    let mut temp = temporary_beside(path, true)?;
    if let Ok(metadata) = std::fs::metadata(path) {
        std::fs::set_permissions(temp.path(), metadata.permissions())
            .map_err(|e| format!("cannot write {shown}: {e}"))?;
    }
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| format!("cannot write beside {shown}: {e}"))?;
    temp.persist(path)
        .map_err(|e| format!("cannot write {shown}: {}", e.error))?;
    sync_directory(path);
    Ok(())
}

/// Every directory of a relative `path` must be a real directory, not a
/// symlink. An absolute path is the user's own choice.
fn refuse_symlinked_directories(path: &Path) -> Result<(), String> {
    if path.is_absolute() {
        return Ok(());
    }
    let mut prefix = PathBuf::new();
    let parent = path.parent().unwrap_or(Path::new(""));
    for component in parent.components() {
        prefix.push(component);
        if matches!(component, Component::Normal(_))
            && std::fs::symlink_metadata(&prefix).is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(format!(
                "{} is a symlink; the report is not written through it",
                prefix.display()
            ));
        }
    }
    Ok(())
}

/// A new temporary file in the directory of `path`, named after it, after
/// removing stale ones of this tool for the same file. It is private unless
/// `shared`, which gives it what the umask leaves of `rw-rw-rw-`.
fn temporary_beside(path: &Path, shared: bool) -> Result<tempfile::NamedTempFile, String> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hidden = if name.starts_with('.') { "" } else { "." };
    let prefix = format!("{hidden}{name}{TEMP_MARK}");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    if shared {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    #[cfg(not(unix))]
    let _ = shared;
    let temp = builder
        .tempfile_in(dir)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))?;
    remove_stale(dir, &prefix, temp.path());
    Ok(temp)
}

/// Removes this tool's temporary files for one target left by a crash:
/// regular files with its name pattern, owned by the same user as `ours`,
/// untouched for [`STALE_AFTER`].
fn remove_stale(dir: &Path, prefix: &str, ours: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let owner = std::fs::metadata(ours).ok().map(|m| owner_of(&m));
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(prefix) || !name.ends_with(TEMP_SUFFIX) || entry.path() == ours {
            continue;
        }
        let Ok(metadata) = entry.path().symlink_metadata() else {
            continue;
        };
        let old = metadata
            .modified()
            .ok()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if metadata.is_file() && old && Some(owner_of(&metadata)) == owner {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn owner_of(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::MetadataExt;
    metadata.uid()
}

#[cfg(not(unix))]
fn owner_of(_: &std::fs::Metadata) -> u32 {
    0
}

/// The number of other names of the file, when it has any.
#[cfg(unix)]
fn other_links(metadata: &std::fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    (metadata.nlink() > 1).then(|| metadata.nlink() - 1)
}

#[cfg(not(unix))]
fn other_links(_: &std::fs::Metadata) -> Option<u64> {
    None
}

/// Gives the new file the owner and group of the old one. Only root may
/// give a file away; anyone may pick a group they belong to. What cannot
/// be kept is returned as a warning.
#[cfg(unix)]
fn keep_owner(temp: &std::fs::File, original: &std::fs::Metadata, path: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let Ok(current) = temp.metadata() else {
        return Vec::new();
    };
    if (current.uid(), current.gid()) == (original.uid(), original.gid()) {
        return Vec::new();
    }
    if std::os::unix::fs::fchown(temp, Some(original.uid()), Some(original.gid())).is_ok() {
        return Vec::new();
    }
    let group_kept = std::os::unix::fs::fchown(temp, None, Some(original.gid())).is_ok();
    let lost = if group_kept || current.gid() == original.gid() {
        format!("owner (uid {})", original.uid())
    } else {
        format!(
            "owner and group (uid {}, gid {})",
            original.uid(),
            original.gid()
        )
    };
    vec![format!(
        "{}: its {lost} could not be kept; it now belongs to the user who ran `fix`",
        path.display()
    )]
}

#[cfg(not(unix))]
fn keep_owner(_: &std::fs::File, _: &std::fs::Metadata, _: &Path) -> Vec<String> {
    Vec::new()
}

fn sync_directory(path: &Path) {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Ok(directory) = std::fs::File::open(dir) {
        let _ = directory.sync_all();
    }
}

/// Test hooks, set by `KANIKO2BUILDKIT_FAILPOINT`: `before-rename` aborts
/// the process between the write and the rename (a crash must leave the
/// original whole), and `edit-before-rename` appends a line to the target
/// just before the last check, as an editor saving at that moment would
/// (the edit must not be lost). See tests/robustness.rs and tests/safety.rs.
fn failpoint(name: &str) -> bool {
    std::env::var_os("KANIKO2BUILDKIT_FAILPOINT").is_some_and(|point| point == name)
}

#[cfg(test)]
mod tests {
    use super::holds;

    #[test]
    fn a_file_holds_the_text_only_byte_for_byte() {
        // Past one block, so that the comparison spans reads.
        let text: Vec<u8> = (0..200_000u32).map(|n| (n % 251) as u8).collect();
        assert!(holds(&text[..], &text).unwrap());
        assert!(!holds(&text[..text.len() - 1], &text).unwrap());
        assert!(!holds(&text[..], &text[..text.len() - 1]).unwrap());
        let mut changed = text.clone();
        changed[150_000] ^= 1;
        assert!(!holds(&changed[..], &text).unwrap());
        assert!(holds(&b""[..], b"").unwrap());
    }
}
