//! The database's files on disk: created owner-only (0600) whatever the umask, and the process
//! lock that keeps a second `serve` off a database another process serves.
//!
//! SQLite gives its `-wal`, `-shm` and `-journal` files the mode of the database file, so making
//! the database 0600 before SQLite first opens it covers them too. The process lock is an
//! exclusive `flock` on `<database>.lock` beside the file: the OS releases it when the holder
//! exits in any way (SIGKILL included), so a restart after a crash takes it at once, while two
//! live processes can never both hold it.

use crate::error::StoreError;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Owner read and write, nothing for anyone else.
const OWNER_ONLY: u32 = 0o600;

/// An exclusive lock on `<database>.lock`, held until dropped (or the process dies).
#[derive(Debug)]
pub(crate) struct ProcessLock {
    _file: File,
}

/// The lock file of the database at `db`.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the database's process lock without waiting: `Conflict` naming the lock file when
/// another live process holds it.
pub(crate) fn lock(db: &Path) -> Result<ProcessLock, StoreError> {
    let path = lock_path(db);
    let file = owner_only_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| open_failed(&path, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(ProcessLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(StoreError::conflict(format!(
            "another switchboard process is already serving the database `{}` (it holds the lock `{}`); \
             stop it first, or give this one its own `[store] path`",
            db.display(),
            path.display()
        ))),
        Err(TryLockError::Error(e)) => Err(open_failed(&path, &e)),
    }
}

/// Creates the database file owner-only when it does not exist yet, and takes group and other
/// permissions away from an existing one (and from its `-wal` and `-shm` files).
pub(crate) fn secure_database(db: &Path) -> Result<(), StoreError> {
    let created = owner_only_options().write(true).create_new(true).open(db);
    match created {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(open_failed(db, &e)),
    }
    for suffix in ["", "-wal", "-shm"] {
        restrict(&with_suffix(db, suffix))?;
    }
    Ok(())
}

/// Deletes a database file and its `-wal` and `-shm` files (those that exist).
pub(crate) fn remove_database(db: &Path) -> Result<(), StoreError> {
    for suffix in ["", "-wal", "-shm"] {
        let file = with_suffix(db, suffix);
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(open_failed(&file, &e));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Creates `dest` owner-only for a backup and returns it open for writing: refused when anything
/// (a file, a symlink, even a dangling one) is already there.
pub(crate) fn create_backup_target(dest: &Path) -> Result<File, StoreError> {
    if dest.symlink_metadata().is_ok() {
        let kind = if dest.is_symlink() {
            "is a symbolic link"
        } else {
            "already exists"
        };
        return Err(StoreError::conflict(format!(
            "backup target `{}` {kind}; choose a new path",
            dest.display()
        )));
    }
    let file = owner_only_options()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|e| open_failed(dest, &e))?;
    restrict(dest)?;
    Ok(file)
}

pub(crate) fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Options that create a file 0600 whatever the umask (the mode applies only on creation).
#[cfg(unix)]
fn owner_only_options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options.mode(OWNER_ONLY);
    options
}

#[cfg(not(unix))]
fn owner_only_options() -> OpenOptions {
    OpenOptions::new()
}

/// Sets an existing file to 0600 (the mode the file was created with is umask-dependent).
#[cfg(unix)]
fn restrict(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = path.symlink_metadata() else {
        return Ok(());
    };
    if !meta.is_file() || meta.permissions().mode() & 0o777 == OWNER_ONLY {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(OWNER_ONLY))
        .map_err(|e| open_failed(path, &e))
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

fn open_failed(path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
