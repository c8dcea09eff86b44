//! Reading a file of the project that the tool only consults (a Dockerfile
//! whose labels matter): the repository may be hostile, so the file must
//! be a regular file whose real path stays inside the project root, and
//! only a bounded amount of it is read.

use std::io::Read;
use std::path::Path;

/// The text of `path` when it is a regular file inside `root` (after
/// following links) of at most `limit` bytes, in UTF-8; `None` otherwise.
pub fn read_contained(root: &Path, path: &Path, limit: u64) -> Option<String> {
    let real_root = root.canonicalize().ok()?;
    let real = path.canonicalize().ok()?;
    if !real.starts_with(&real_root) {
        return None;
    }
    let file = std::fs::File::open(&real).ok()?;
    let metadata = file.metadata().ok()?;
    if !metadata.is_file() || metadata.len() > limit {
        return None;
    }
    let mut text = String::new();
    file.take(limit).read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_files_inside_the_root_are_read() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "TOKEN").unwrap();
        std::fs::write(root.path().join("Dockerfile"), "FROM x\n").unwrap();
        std::fs::write(root.path().join("big"), "x".repeat(100)).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link"))
            .unwrap();
        let read = |name: &str| read_contained(root.path(), &root.path().join(name), 50);
        assert_eq!(read("Dockerfile").as_deref(), Some("FROM x\n"));
        assert_eq!(read("link"), None, "a link out of the root is not followed");
        assert_eq!(read("big"), None, "over the limit");
        assert_eq!(read("missing"), None);
        assert_eq!(read("."), None, "a directory");
    }
}
