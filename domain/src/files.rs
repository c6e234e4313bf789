//! Files only the node can read: everything under the data folder holds member data
//! (database, mails with sign-in links, documents, keys). New files are created for the
//! node's user alone (umask 077), and at every start the data folder is checked: any
//! folder or file that others could read is made private (folders 0700, files 0600), with a
//! warning that says how many.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// From now on, files and folders this process creates are private to its user.
pub fn private_by_default() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Makes `dir` and everything in it private to the node's user (symbolic links are left
/// alone); how many entries were changed.
pub fn make_private(dir: &Path) -> std::io::Result<usize> {
    let mut changed = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode() & 0o777;
        let private = if meta.is_dir() { 0o700 } else { mode & 0o700 };
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(private))?;
            changed += 1;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
        }
    }
    Ok(changed)
}

/// Writes `bytes` to a new file readable by the node's user only (0600), synced to disk;
/// fails if the file exists (`ErrorKind::AlreadyExists`).
pub fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_others_could_read_becomes_private() {
        let dir = tempfile::tempdir().expect("tmp");
        let sub = dir.path().join("outbox");
        std::fs::create_dir(&sub).expect("dir");
        let mail = sub.join("1.eml");
        std::fs::write(&mail, "a reset link").expect("write");
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&mail, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        assert_eq!(make_private(dir.path()).expect("private"), 3);
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(dir.path()), 0o700);
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&mail), 0o600);
        assert_eq!(
            make_private(dir.path()).expect("again"),
            0,
            "nothing left to do"
        );
    }
}
