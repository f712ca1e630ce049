//! Reading inputs from the file system: size and encoding limits, config files and directories.
//! This is an edge module; the core receives text and returns data.

pub mod fs;
pub mod graph_export;

use std::path::{Path, PathBuf};

use crate::config::{merge, parse_config_file_partial, LoadedConfig};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::Sources;

/// The largest config file seatplan reads (configs are hand-written; anything this big is a
/// mistake or an attack).
pub const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// Reads a UTF-8 text file of at most `limit` bytes. NUL bytes and invalid UTF-8 are errors that
/// name the byte offset. At most `limit + 1` bytes are read whatever size the file system
/// reports, and anything but a regular file (a FIFO, a device, a directory) is refused with
/// `not-a-file` before a byte is read.
pub fn read_text(path: &Path, limit: u64) -> Result<String, Diagnostic> {
    use std::io::Read;

    let display = path.display().to_string();
    let file = fs::open_input(path).map_err(|error| error.diagnostic(path, "read", Code::Io))?;
    let reported = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    if reported > limit {
        return Err(too_large(&display, reported, limit));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(reported).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| io_error(&display, &error))?;
    if bytes.len() as u64 > limit {
        return Err(Diagnostic::new(
            Code::TooLarge,
            format!("`{display}` holds more than {limit} bytes, the limit for this kind of file"),
        )
        .with_help(
            "check that the path names the intended file and that nothing else is writing it",
        ));
    }
    decode(&display, bytes)
}

/// The last `at_most` bytes of the file at `path` (from the start of a line, lossily decoded),
/// or `None` when there is no file. A symbolic link or special file there is refused.
#[expect(clippy::disallowed_methods, reason = "the end of a file is read here")]
pub fn read_tail(path: &Path, at_most: u64) -> Result<Option<String>, Diagnostic> {
    use std::io::{Read, Seek, SeekFrom};

    let display = path.display().to_string();
    match std::fs::symlink_metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(&display, &error)),
        Ok(metadata) if metadata.file_type().is_symlink() => {
            return Err(fs::OpenError::Symlink.diagnostic(path, "read", Code::Io));
        }
        Ok(_) => {}
    }
    let mut file =
        fs::open_input(path).map_err(|error| error.diagnostic(path, "read", Code::Io))?;
    let result = (|| {
        let length = file.metadata()?.len();
        let start = length.saturating_sub(at_most);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.take(at_most).read_to_end(&mut bytes)?;
        if start > 0 {
            // Drop the part of a line the cut left at the front.
            let first = memchr::memchr(b'\n', &bytes).map_or(bytes.len(), |index| index + 1);
            bytes.drain(..first);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    })();
    result
        .map(Some)
        .map_err(|error: std::io::Error| io_error(&display, &error))
}

fn too_large(display: &str, size: u64, limit: u64) -> Diagnostic {
    Diagnostic::new(
        Code::TooLarge,
        format!("`{display}` is {size} bytes; the limit for this kind of file is {limit} bytes"),
    )
    .with_help("check that the path names the intended file")
}

/// Turns bytes into text, rejecting invalid UTF-8 and NUL bytes with the offset of the first bad
/// byte.
pub fn decode(display: &str, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    if let Some(offset) = memchr::memchr(0, &bytes) {
        let (line, column) = line_column(&bytes, offset);
        return Err(Diagnostic::new(
            Code::Encoding,
            format!("`{display}` contains a NUL byte at line {line}, column {column}"),
        )
        .with_help("the file is binary or corrupted; seatplan reads UTF-8 text"));
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let (line, column) = line_column(error.as_bytes(), offset);
        Diagnostic::new(
            Code::Encoding,
            format!(
                "`{display}` is not valid UTF-8 at line {line}, column {column} (byte {offset})"
            ),
        )
        .with_help("save the file as UTF-8 (Latin-1 and UTF-16 are not accepted)")
    })
}

fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |index| index + 1);
    (line, offset - line_start + 1)
}

fn io_error(display: &str, error: &std::io::Error) -> Diagnostic {
    let help = match error.kind() {
        std::io::ErrorKind::NotFound => {
            "check the path (relative paths start in the current directory)"
        }
        std::io::ErrorKind::PermissionDenied => "check the file's permissions",
        _ => "check that the path names a readable file",
    };
    Diagnostic::new(Code::Io, format!("cannot read `{display}`: {error}")).with_help(help)
}

/// `sha256:<hex>` of `bytes`: the fingerprint plans record of the state and config they were
/// computed from.
pub fn fingerprint(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in digest.iter() {
        text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        text.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    text
}

/// The config paths used when none is given: `seatplan.yaml`, else the directory `seatplan/`.
pub fn default_config_paths() -> Vec<PathBuf> {
    let file = PathBuf::from("seatplan.yaml");
    if file.exists() || !Path::new("seatplan").is_dir() {
        vec![file]
    } else {
        vec![PathBuf::from("seatplan")]
    }
}

/// Expands files and directories into the config files to read: a directory contributes its
/// `*.yaml` and `*.yml` files (recursively, sorted by path, hidden entries skipped), except a
/// tenant state file (`tenant.yaml`, `tenant.yml`), so that config and state can sit side by side
/// as in `examples/quickstart/`. Inside a directory, a symbolic link is followed only when it
/// stays inside that directory: one leading out of it is refused (`symlink`), so a config
/// repository cannot pull a file from elsewhere into diagnostics; each directory is read once
/// (links cannot make a loop).
pub fn config_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            let root = std::fs::canonicalize(path)
                .map_err(|error| io_error(&path.display().to_string(), &error))?;
            let mut visited = std::collections::BTreeSet::from([root.clone()]);
            collect_yaml(path, &root, &mut visited, &mut files)?;
            if files.len() == before {
                return Err(Diagnostic::new(
                    Code::Io,
                    format!(
                        "the directory `{}` holds no *.yaml or *.yml file",
                        path.display()
                    ),
                )
                .with_help("point -c at a config file or a directory of config files"));
            }
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

#[expect(
    clippy::disallowed_methods,
    reason = "a config directory is listed here"
)]
fn collect_yaml(
    directory: &Path,
    root: &Path,
    visited: &mut std::collections::BTreeSet<PathBuf>,
    files: &mut Vec<PathBuf>,
) -> Result<(), Diagnostic> {
    let display = directory.display().to_string();
    let entries = std::fs::read_dir(directory).map_err(|error| io_error(&display, &error))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with('.'));
        if hidden {
            continue;
        }
        let linked = std::fs::symlink_metadata(&path)
            .is_ok_and(|metadata| metadata.file_type().is_symlink());
        if linked {
            let relevant = path.is_dir() || is_config_file_name(&path);
            if !relevant {
                continue;
            }
            let target = std::fs::canonicalize(&path)
                .map_err(|error| io_error(&path.display().to_string(), &error))?;
            if !target.starts_with(root) {
                return Err(Diagnostic::new(
                    Code::Symlink,
                    format!(
                        "`{}` is a symbolic link leading out of the config directory `{}`; \
                         seatplan does not follow it",
                        path.display(),
                        root.display()
                    ),
                )
                .with_help("copy the file into the config directory, or pass it with its own -c"));
            }
        }
        if path.is_dir() {
            let canonical = std::fs::canonicalize(&path)
                .map_err(|error| io_error(&path.display().to_string(), &error))?;
            if visited.insert(canonical) {
                collect_yaml(&path, root, visited, files)?;
            }
        } else if is_config_file_name(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn is_config_file_name(path: &Path) -> bool {
    let yaml = matches!(
        path.extension().and_then(|ext| ext.to_str()),
        Some("yaml" | "yml")
    );
    let state = matches!(
        path.file_stem().and_then(|stem| stem.to_str()),
        Some("tenant")
    );
    yaml && !state
}

/// Reads, checks and merges the config at `paths` (files or directories), registering every file
/// in `sources`. All problems of all files are returned together.
pub fn load_config(paths: &[PathBuf], sources: &mut Sources) -> Result<LoadedConfig, Diagnostics> {
    let (loaded, problems) = load_config_partial(paths, sources);
    match loaded {
        Some(loaded) if !problems.has_errors() => Ok(loaded),
        _ => Err(problems),
    }
}

/// Reads and merges the config at `paths` as far as its problems allow: a file that cannot be
/// read or parsed is left out, and within a file the entries that break the schema
/// ([`crate::config::parse_config_file_partial`]). Returns what could be merged (`None` when
/// nothing could) with every problem found, so that later checks can run on the rest.
pub fn load_config_partial(
    paths: &[PathBuf],
    sources: &mut Sources,
) -> (Option<LoadedConfig>, Diagnostics) {
    let files = match config_files(paths) {
        Ok(files) => files,
        Err(diagnostic) => return (None, diagnostic.into()),
    };
    let mut parsed = Vec::new();
    let mut problems = Diagnostics::default();
    for path in files {
        let text = match read_text(&path, MAX_CONFIG_BYTES) {
            Ok(text) => text,
            Err(diagnostic) => {
                problems.push(diagnostic);
                continue;
            }
        };
        // A credential pasted into the config is hidden before the text is registered: no
        // diagnostic's snippet can print it.
        let (text, credentials) = crate::config::credentials::hide_credentials(&text);
        let source = sources.add(path.display().to_string(), text.as_str());
        if !credentials.is_empty() {
            problems.extend(
                credentials
                    .iter()
                    .map(|found| crate::config::credentials::credential_problem(source, found)),
            );
            continue;
        }
        let partial = parse_config_file_partial(source, &text);
        problems.extend(partial.problems);
        match partial.file {
            Some(file) => {
                sources.set_pointers(source, file.pointers.clone());
                parsed.push(file);
            }
            None => {
                if let Some(pointers) = partial.pointers {
                    sources.set_pointers(source, pointers);
                }
            }
        }
    }
    if parsed.is_empty() {
        return (None, problems);
    }
    match merge(parsed) {
        Ok(loaded) => (Some(loaded), problems),
        Err(merge_problems) => {
            problems.extend(merge_problems);
            (None, problems)
        }
    }
}

/// The largest Graph response page seatplan reads (a page holds at most 999 objects; this is far
/// above that and still bounds memory).
pub const MAX_GRAPH_PAGE_BYTES: u64 = 256 * 1024 * 1024;

/// The most files an export directory may hold (one members file per group, plus pages).
pub const MAX_EXPORT_FILES: usize = 200_000;

/// Lists the `*.json` files of a Graph export directory (the top level and `members/`), sorted
/// by path, as (path relative to the directory with `/` separators, full path); at most
/// [`MAX_EXPORT_FILES`]. The files are read one at a time with [`read_graph_page`].
pub fn list_graph_export(directory: &Path) -> Result<Vec<(String, PathBuf)>, Diagnostics> {
    let display = directory.display().to_string();
    if !directory.is_dir() {
        return Err(
            Diagnostic::new(Code::Io, format!("`{display}` is not a directory"))
                .with_help("pass the directory that holds organization.json, users.json, …")
                .into(),
        );
    }
    let mut paths = json_files(directory, "")?;
    let members = directory.join("members");
    if members.is_dir() {
        paths.extend(json_files(&members, "members/")?);
    }
    if paths.len() > MAX_EXPORT_FILES {
        return Err(Diagnostic::new(
            Code::TooLarge,
            format!(
                "`{display}` holds {} JSON files; the limit is {MAX_EXPORT_FILES}",
                paths.len()
            ),
        )
        .with_help("check that the path names a Graph export directory")
        .into());
    }
    paths.sort();
    Ok(paths)
}

/// Reads one file of a Graph export directory, within [`MAX_GRAPH_PAGE_BYTES`]: its text (for
/// diagnostics) and its parsed JSON.
pub fn read_graph_page(path: &Path) -> Result<(String, serde_json::Value), Diagnostic> {
    let text = read_graph_page_text(path)?;
    match serde_json::from_str(&text) {
        Ok(value) => Ok((text, value)),
        Err(error) => Err(not_json(path, &error)),
    }
}

/// Reads one file of a Graph export directory as text, within [`MAX_GRAPH_PAGE_BYTES`], for a
/// mapping that deserializes it itself ([`crate::tenant::graph_import::GraphMapper::users_text`]).
pub fn read_graph_page_text(path: &Path) -> Result<String, Diagnostic> {
    read_text(path, MAX_GRAPH_PAGE_BYTES)
}

/// The problem of a file of a Graph export directory that is not JSON.
pub fn not_json(path: &Path, error: &serde_json::Error) -> Diagnostic {
    Diagnostic::new(
        Code::JsonSyntax,
        format!("`{}` is not valid JSON: {error}", path.display()),
    )
    .with_help("the file must hold a Graph response body exactly as Graph returned it")
}

/// The `*.json` files directly in `directory`, as (relative path with `prefix`, full path).
#[expect(
    clippy::disallowed_methods,
    reason = "a Graph export directory is listed here"
)]
fn json_files(directory: &Path, prefix: &str) -> Result<Vec<(String, PathBuf)>, Diagnostic> {
    let display = directory.display().to_string();
    let entries = std::fs::read_dir(directory).map_err(|error| io_error(&display, &error))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| io_error(&display, &error))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        if name.ends_with(".json") && !name.starts_with('.') && path.is_file() {
            files.push((format!("{prefix}{name}"), path.clone()));
        }
    }
    Ok(files)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory is written,
/// flushed to disk and renamed over `path`, and the directory is flushed, so readers see the old
/// file or the new one, never a part, and the rename survives a power loss. The new file keeps
/// the mode and owner of the file it replaces; a symbolic link or a special file at `path` is
/// refused (`symlink`, `not-a-file`) rather than replaced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Diagnostic> {
    write_atomic_with(path, bytes, None, || {})
}

/// [`write_atomic`], giving the new file the mode and owner `like` (by default those of the
/// file it replaces) and calling `before_rename` once the temporary file is complete and on
/// disk but not yet renamed (the file backend's fault injection pauses there).
#[expect(
    clippy::disallowed_methods,
    reason = "files are replaced here: a temporary file renamed over the target"
)]
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    like: Option<fs::Ownership>,
    before_rename: impl FnOnce(),
) -> Result<(), Diagnostic> {
    use std::io::Write;

    let display = path.display().to_string();
    let write_error = |error: std::io::Error| {
        Diagnostic::new(Code::Write, format!("cannot write `{display}`: {error}"))
            .with_help("check that the directory exists and is writable, and the disk is not full")
    };
    let existing = match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            return Err(fs::OpenError::Symlink.diagnostic(path, "write", Code::Write));
        }
        Ok(metadata) if !metadata.is_file() => {
            return Err(fs::not_regular(path, fs::kind(&metadata)));
        }
        Ok(metadata) => fs::Ownership::of(&metadata),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(write_error(error)),
    };
    let ownership = like.or(existing);
    let directory = parent_directory(path);
    let temporary = temporary_path(path, std::process::id()).ok_or_else(|| {
        Diagnostic::new(Code::Write, format!("`{display}` does not name a file"))
            .with_help("give a file name such as tenant.yaml")
    })?;
    // Private until its owner and mode are set; a new file without a model gets the umask's.
    let mode = if ownership.is_some() { 0o600 } else { 0o666 };
    let open_error = |error: fs::OpenError| error.diagnostic(&temporary, "create", Code::Write);
    let mut file = match fs::create_new(&temporary, mode) {
        // The name holds this process's id, so an existing file was left by a killed process
        // that had the same id: it is garbage (a link there is removed, not followed).
        Err(fs::OpenError::Io(error)) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&temporary).map_err(write_error)?;
            fs::create_new(&temporary, mode).map_err(open_error)?
        }
        other => other.map_err(open_error)?,
    };
    let result = (|| {
        if let Some(ownership) = ownership {
            ownership.apply_to(&file).map_err(|error| {
                Diagnostic::new(
                    Code::Write,
                    format!(
                        "cannot give the new `{display}` the owner (uid {}, gid {}) and mode \
                         {:o} of the file it replaces: {error}",
                        ownership.uid, ownership.gid, ownership.mode
                    ),
                )
                .with_help("run seatplan as the file's owner (or as root); nothing was replaced")
            })?;
        }
        file.write_all(bytes).map_err(write_error)?;
        file.sync_all().map_err(write_error)?;
        before_rename();
        std::fs::rename(&temporary, path).map_err(write_error)?;
        sync_directory(&directory);
        Ok(())
    })();
    drop(file);
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// The temporary file [`write_atomic`] uses for `path` in process `pid`: `.<name>.<pid>.tmp` in
/// the same directory (a rename is atomic only within one file system). `None` when `path` has
/// no UTF-8 file name.
pub fn temporary_path(path: &Path, pid: u32) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    Some(parent_directory(path).join(format!(".{name}.{pid}.tmp")))
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_directory(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Flushes a directory's entries (a rename or a new file) to disk; best effort, since not every
/// platform can open a directory.
#[expect(
    clippy::disallowed_methods,
    reason = "the directory of a replaced file is synced here"
)]
pub fn sync_directory(directory: &Path) {
    if let Ok(directory) = std::fs::File::open(directory) {
        let _ = directory.sync_all();
    }
}

/// Appends `text` (complete lines) to the file at `path`, creating it (with `like`'s mode and
/// owner when given), and flushes it to disk. A symbolic link or a special file at `path` is
/// refused (`symlink`, `not-a-file`). If the file does not end with a newline (a write cut short
/// by a crash), a newline is written first so that the torn line stays alone and the new lines
/// are whole. A write that fails part-way (a full disk) is cut back to the file's old length, so
/// the caller's "not written" is true: no whole line of `text` is left behind to be read as
/// written.
#[expect(
    clippy::disallowed_methods,
    reason = "lines are appended to a file here"
)]
pub fn append_lines(
    path: &Path,
    text: &str,
    like: Option<fs::Ownership>,
) -> Result<(), Diagnostic> {
    let display = path.display().to_string();
    let existed = std::fs::symlink_metadata(path).is_ok();
    let mode = like.map_or(0o666, |like| like.mode);
    let mut file = fs::open_companion(path, fs::Companion::Append, mode)
        .map_err(|error| error.diagnostic(path, "append to", Code::Write))?;
    let result = (|| {
        if !existed {
            if let Some(like) = like {
                like.apply_to(&file)?;
            }
        }
        let length = file.metadata()?.len();
        write_whole_or_nothing(&mut file, length, text)?;
        if !existed {
            sync_directory(&parent_directory(path));
        }
        Ok(())
    })();
    result.map_err(|error: std::io::Error| {
        Diagnostic::new(
            Code::Write,
            format!("cannot append to `{display}`: {error}"),
        )
        .with_help("check that the directory is writable and the disk is not full")
    })
}

/// Appends `text` to `file`, whose length is `length`, after a newline when the file ends in a
/// torn line; on failure the file is cut back to `length` (shrinking a file needs no room).
fn write_whole_or_nothing(
    file: &mut std::fs::File,
    length: u64,
    text: &str,
) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};

    let written = (|| {
        let mut bytes = Vec::with_capacity(text.len() + 1);
        if length > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(length - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                bytes.push(b'\n');
            }
        }
        bytes.extend_from_slice(text.as_bytes());
        file.write_all(&bytes)?;
        file.sync_all()
    })();
    if written.is_err() {
        let _ = file.set_len(length).and_then(|()| file.sync_all());
    }
    written
}

#[cfg(test)]
mod tests {
    #![expect(
        clippy::disallowed_methods,
        reason = "tests set up files, clocks and waits directly"
    )]

    use super::*;

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tenant.yaml");
        std::fs::write(&path, "old\n").unwrap();
        write_atomic(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("tenant.yaml")]);
    }

    #[test]
    fn write_atomic_replaces_a_temporary_left_by_a_killed_process_with_the_same_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tenant.yaml");
        let leftover = temporary_path(&path, std::process::id()).unwrap();
        std::fs::write(&leftover, "half a file").unwrap();
        write_atomic(&path, b"whole\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole\n");
        assert!(!leftover.exists());
    }

    #[test]
    fn write_atomic_runs_the_hook_before_the_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tenant.json");
        std::fs::write(&path, "old").unwrap();
        let mut seen = None;
        write_atomic_with(&path, b"new", None, || {
            let temporary = temporary_path(&path, std::process::id()).unwrap();
            seen = Some((
                std::fs::read(&path).unwrap(),
                std::fs::read(temporary).unwrap(),
            ));
        })
        .unwrap();
        assert_eq!(seen, Some((b"old".to_vec(), b"new".to_vec())));
    }

    #[test]
    fn write_atomic_reports_a_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let error = write_atomic(&dir.path().join("missing/tenant.yaml"), b"x").unwrap_err();
        assert_eq!(error.code, Code::Write);
    }

    #[test]
    fn append_lines_creates_then_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        append_lines(&path, "{\"a\":1}\n", None).unwrap();
        append_lines(&path, "{\"b\":2}\n", None).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n"
        );
    }

    #[test]
    fn append_lines_starts_a_new_line_after_a_torn_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"torn\":").unwrap();
        append_lines(&path, "{\"b\":2}\n", None).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"torn\":\n{\"b\":2}\n"
        );
    }
}
