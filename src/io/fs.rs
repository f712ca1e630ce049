//! Opening files without surprises. Inputs must be regular files: a FIFO would block forever and
//! a device such as `/dev/zero` never ends, so both are refused before a byte is read (a FIFO is
//! opened without blocking to find out). The files seatplan writes beside a state file (lock,
//! audit log, backup, temporary files) are opened without following symbolic links, so a link
//! planted at one of those names cannot redirect a write into another file, and new ones are
//! created exclusively. On platforms without these flags the checks on the opened file remain.

#[expect(
    clippy::disallowed_types,
    reason = "crate::io opens files, and this is where"
)]
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

use crate::diag::{Code, Diagnostic};

/// Why a file could not be opened as seatplan needs it.
#[derive(Debug)]
pub enum OpenError {
    /// The path is a symbolic link, which seatplan does not follow for this file.
    Symlink,
    /// The path names something other than a regular file (its kind, as [`kind`] words it).
    NotRegular(&'static str),
    /// The operating system refused.
    Io(io::Error),
}

impl From<io::Error> for OpenError {
    fn from(error: io::Error) -> Self {
        if is_symlink_refusal(&error) {
            OpenError::Symlink
        } else {
            OpenError::Io(error)
        }
    }
}

impl OpenError {
    /// The diagnostic for a file that `seatplan` wanted to `verb` (`read`, `write`, `lock`):
    /// `symlink` and `not-a-file` for the refusals, `io_code` for the operating system's errors.
    pub fn diagnostic(&self, path: &Path, verb: &str, io_code: Code) -> Diagnostic {
        let display = path.display();
        match self {
            OpenError::Symlink => Diagnostic::new(
                Code::Symlink,
                format!("`{display}` is a symbolic link; seatplan does not {verb} through links"),
            )
            .with_help(format!(
                "a link at this name could redirect the {verb} to another file: remove `{display}` \
                 (or replace it with the file it points to) and run again"
            )),
            OpenError::NotRegular(what) => not_regular(path, what),
            OpenError::Io(error) => Diagnostic::new(
                io_code,
                format!("cannot {verb} `{display}`: {error}"),
            )
            .with_help(match error.kind() {
                io::ErrorKind::NotFound => {
                    "check the path (relative paths start in the current directory)"
                }
                io::ErrorKind::PermissionDenied => "check the file's permissions",
                _ => "check that the path names a regular file on a working, non-full file system",
            }),
        }
    }
}

/// The `not-a-file` diagnostic for `path`, which is `what` (`a FIFO (named pipe)`).
pub fn not_regular(path: &Path, what: &str) -> Diagnostic {
    Diagnostic::new(
        Code::NotAFile,
        format!(
            "`{}` is {what}, not a regular file; seatplan reads and writes regular files only",
            path.display()
        ),
    )
    .with_help(
        "a FIFO would block and a device never ends: save the content to a file and pass that",
    )
}

/// Whether `error` is the refusal of an open with `O_NOFOLLOW` at a symbolic link.
fn is_symlink_refusal(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        error.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

/// What `metadata` describes, for messages: `a directory`, `a FIFO (named pipe)`, `a character
/// device`, … (`a regular file` for a regular file).
pub fn kind(metadata: &Metadata) -> &'static str {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return "a regular file";
    }
    if file_type.is_dir() {
        return "a directory";
    }
    if file_type.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

/// Checks that the opened `file` is a regular file.
fn regular(file: File) -> Result<File, OpenError> {
    let metadata = file.metadata()?;
    if metadata.is_file() {
        Ok(file)
    } else {
        Err(OpenError::NotRegular(kind(&metadata)))
    }
}

/// Sets the flags every open here uses: never block (a FIFO), and with `nofollow`, never follow
/// a symbolic link at the last component.
#[expect(
    clippy::disallowed_types,
    reason = "the open flags of seatplan's files are set here"
)]
fn flags(options: &mut OpenOptions, nofollow: bool) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let follow = if nofollow { libc::O_NOFOLLOW } else { 0 };
        options.custom_flags(libc::O_NONBLOCK | follow);
    }
    #[cfg(not(unix))]
    {
        let _ = (options, nofollow);
    }
}

/// Opens an input for reading. A symbolic link is followed (an input may be one); anything but a
/// regular file at the end of it is refused without blocking.
#[expect(
    clippy::disallowed_types,
    reason = "inputs are opened here, without blocking on a FIFO"
)]
pub fn open_input(path: &Path) -> Result<File, OpenError> {
    let mut options = OpenOptions::new();
    options.read(true);
    flags(&mut options, false);
    regular(options.open(path)?)
}

/// How [`open_companion`] opens a file written beside the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Companion {
    /// Read and write at any offset (the lock file).
    ReadWrite,
    /// Read, and write only at the end (the audit log).
    Append,
}

/// Opens the companion file at `path` (created with `mode`, before the umask, when absent)
/// without following a symbolic link; refuses anything but a regular file.
#[expect(
    clippy::disallowed_types,
    reason = "the files beside a state file are opened here, without following links"
)]
pub fn open_companion(path: &Path, how: Companion, mode: u32) -> Result<File, OpenError> {
    let mut options = OpenOptions::new();
    options.read(true).create(true);
    match how {
        Companion::ReadWrite => options.write(true).truncate(false),
        Companion::Append => options.append(true),
    };
    flags(&mut options, true);
    set_mode(&mut options, mode);
    regular(options.open(path)?)
}

/// Creates a new file at `path` with `mode` (before the umask): exclusively (an existing file or
/// link at the name is an error) and without following a symbolic link.
#[expect(
    clippy::disallowed_types,
    reason = "new files are created here, exclusively"
)]
pub fn create_new(path: &Path, mode: u32) -> Result<File, OpenError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    flags(&mut options, true);
    set_mode(&mut options, mode);
    Ok(options.open(path)?)
}

#[expect(clippy::disallowed_types, reason = "a file's mode is set here")]
fn set_mode(options: &mut OpenOptions, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    {
        let _ = (options, mode);
    }
}

/// The permission bits and owner of a file, to give to the file that replaces it (or to its
/// backup): a state file readable only by its owner stays so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    /// The permission bits (`0o600`), without the file type.
    pub mode: u32,
    /// The owning user.
    pub uid: u32,
    /// The owning group.
    pub gid: u32,
}

impl Ownership {
    /// The ownership `metadata` records; `None` where the platform has no such thing.
    pub fn of(metadata: &Metadata) -> Option<Ownership> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(Ownership {
                mode: metadata.mode() & 0o7777,
                uid: metadata.uid(),
                gid: metadata.gid(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            None
        }
    }

    /// Gives `file` this owner (only when it differs: changing it needs privileges) and then
    /// these permission bits (after the owner, which may clear set-id bits).
    pub fn apply_to(&self, file: &File) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let current = file.metadata()?;
            if current.uid() != self.uid || current.gid() != self.gid {
                std::os::unix::fs::fchown(file, Some(self.uid), Some(self.gid))?;
            }
            file.set_permissions(std::fs::Permissions::from_mode(self.mode))?;
        }
        #[cfg(not(unix))]
        {
            let _ = file;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::disallowed_methods, reason = "tests set up files directly")]

    use super::*;

    #[cfg(unix)]
    #[test]
    fn companions_refuse_links_and_special_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for how in [Companion::ReadWrite, Companion::Append] {
            assert!(matches!(
                open_companion(&link, how, 0o600),
                Err(OpenError::Symlink)
            ));
        }
        assert!(matches!(create_new(&link, 0o600), Err(OpenError::Io(_))));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(matches!(
            open_companion(dir.path(), Companion::ReadWrite, 0o600),
            Err(OpenError::Io(_) | OpenError::NotRegular(_))
        ));
        assert!(matches!(
            open_input(Path::new("/dev/null")),
            Err(OpenError::NotRegular("a character device"))
        ));
        assert!(matches!(
            open_input(dir.path()),
            Err(OpenError::NotRegular("a directory"))
        ));
        assert!(open_input(&link).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn ownership_is_copied_to_another_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("a");
        std::fs::write(&original, "a").unwrap();
        std::fs::set_permissions(&original, std::fs::Permissions::from_mode(0o640)).unwrap();
        let ownership = Ownership::of(&std::fs::metadata(&original).unwrap()).unwrap();
        assert_eq!(ownership.mode, 0o640);
        let copy = create_new(&dir.path().join("b"), 0o600).unwrap();
        ownership.apply_to(&copy).unwrap();
        let metadata = copy.metadata().unwrap();
        assert_eq!(metadata.permissions().mode() & 0o7777, 0o640);
    }
}
