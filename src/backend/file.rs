//! The file backend's state file: reading it within size limits, fingerprinting its exact bytes,
//! parsing it, and committing a new version under the lock ([`StateFile::commit`]).
//!
//! # Order of the writes of a commit, and what a crash leaves
//!
//! With the lock held ([`StateLock`], whose lock file records each stage reached):
//!
//! 1. The state file is read again; if its fingerprint is not the one read before planning,
//!    another writer changed it: `state-changed`, nothing is written (no lost update).
//! 2. `<state>.backup` is replaced atomically by those bytes, with the state file's mode and
//!    owner. Stage `backup-written`.
//! 3. The audit entries (the intent: each change, and the fingerprint the state will have) are
//!    appended to `<state>.audit.jsonl` and flushed. Stage `intent-appended`. If they cannot be
//!    written, nothing else is: the state stays as it was.
//! 4. The new state is written to `.<name>.<pid>.tmp` in the same directory with the state
//!    file's mode and owner, flushed, renamed over the state file, and the directory is flushed.
//!    Stage `state-replaced`.
//! 5. The outcome line is appended to the audit log and flushed. Stage `audit-appended`; then
//!    the lock is released and its file emptied.
//!
//! A rename within one directory is atomic, so the state file is always either the old version
//! or the new one, never a mix. A process killed before the rename leaves the old state (and at
//! most a stray temporary file, removed by the next apply); killed after it, the new state, its
//! entries already in the audit log. The next apply finds the lock file still naming the dead
//! process and its stage, and explains which of these happened (`stale-lock`); it also finds
//! entries without an outcome (`unfinished-apply`), says whether their changes were made, and
//! closes them. A crash while appending can leave a torn last audit line; the next append starts
//! on a new line. A failure after the rename (the outcome line cannot be written) is reported
//! as such ([`CommitError::state_replaced`]): `apply` then exits 3, not 1.
//!
//! Links and special files: a state file that is a symbolic link is refused by `apply`
//! (`symlink`), which would otherwise replace the link with a regular file and leave its target
//! stale; pass the link's target with `--state`. The lock, audit, backup and temporary files
//! are opened without following links ([`crate::io::fs`]).
//!
//! The new state is written in the file's format (JSON for `.json`, YAML otherwise) by serde
//! from the typed model, so the output is deterministic; comments in a hand-edited YAML state
//! file are not kept. The pause points of the crash tests are described in
//! [`super::fault`] (test-only).
//!
//! Size limits: a JSON state file is parsed by a streaming typed parser and may be up to
//! [`MAX_JSON_STATE_BYTES`] (1 GiB); a YAML one goes through the span pass, which builds a tree
//! and a pointer map, and may be up to [`MAX_YAML_STATE_BYTES`] (128 MiB) — use JSON for very
//! large tenants.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::audit::{
    render_entries, render_outcome, unfinished, AuditOutcome, AuditRecord, Outcome,
};
use super::fault::{pause_point, PausePoint};
use super::lock::{Stage, StateLock};
use super::{audit_path, backup_path, fingerprint};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::io::fs::{kind, not_regular, OpenError, Ownership};
use crate::io::{append_lines, read_tail, read_text, write_atomic, write_atomic_with};
use crate::source::{SourceId, Sources};
use crate::tenant::parse::{json_pointers, parse_state, Format, MAX_POINTER_INDEXED};
use crate::tenant::TenantState;

/// The largest JSON state file seatplan reads.
pub const MAX_JSON_STATE_BYTES: u64 = 1024 * 1024 * 1024;

/// The largest YAML state file seatplan reads.
pub const MAX_YAML_STATE_BYTES: u64 = 128 * 1024 * 1024;

/// The size limit for a state file of `format`.
pub fn state_limit(format: Format) -> u64 {
    match format {
        Format::Json => MAX_JSON_STATE_BYTES,
        Format::Yaml => MAX_YAML_STATE_BYTES,
    }
}

/// The format of the state file at `path`: JSON for `.json`, YAML otherwise.
pub fn state_format(path: &Path) -> Format {
    Format::for_name(&path.to_string_lossy())
}

/// A state file as read: its exact text and the fingerprint of its bytes. Commits are checked
/// against this fingerprint.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
    format: Format,
    text: String,
    fingerprint: OnceLock<String>,
}

/// What a successful commit wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The fingerprint of the new state file.
    pub fingerprint: String,
    /// The backup of the previous state.
    pub backup: PathBuf,
    /// The audit log the records were appended to.
    pub audit: PathBuf,
    /// How many audit records were appended.
    pub records: usize,
}

/// Why a commit failed, and whether the state file had already been replaced (then the apply
/// changed the tenant even though it reports an error).
#[derive(Debug, Clone)]
pub struct CommitError {
    /// What went wrong.
    pub diagnostic: Diagnostic,
    /// Whether the state file holds the new state.
    pub state_replaced: bool,
}

impl From<Diagnostic> for CommitError {
    fn from(diagnostic: Diagnostic) -> Self {
        CommitError {
            diagnostic,
            state_replaced: false,
        }
    }
}

impl StateFile {
    /// Reads the state file at `path` (UTF-8, within [`state_limit`] of its format).
    pub fn read(path: &Path) -> Result<StateFile, Diagnostic> {
        let format = state_format(path);
        let text = read_text(path, state_limit(format))?;
        Ok(StateFile {
            path: path.to_path_buf(),
            format,
            fingerprint: OnceLock::new(),
            text,
        })
    }

    /// The path the file was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's format, by its extension.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file's text, exactly as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `sha256:<hex>` of the file's bytes, as recorded in plans.
    pub fn fingerprint(&self) -> &str {
        self.fingerprint
            .get_or_init(|| fingerprint(self.text.as_bytes()))
    }

    /// Registers the file in `sources` and parses it. The source id is returned with the state
    /// for diagnostics found later (`tenant::index::build`); YAML files get their pointer map at
    /// once, JSON files through [`StateFile::index_pointers`] when a diagnostic needs one. A JSON
    /// file too large for a pointer map gives up its text once parsed (nothing can point into it
    /// any more, and a large tenant's file is hundreds of megabytes).
    pub fn parse(&mut self, sources: &mut Sources) -> Result<(TenantState, SourceId), Diagnostics> {
        self.parse_fingerprinted(sources, true)
    }

    /// [`StateFile::parse`] without hashing the file, for a caller that wants only the state
    /// (a snapshot about to be refreshed and rewritten): the file is consumed, so its
    /// fingerprint can never be asked for afterwards.
    pub fn into_state(mut self, sources: &mut Sources) -> Result<TenantState, Diagnostics> {
        self.parse_fingerprinted(sources, false)
            .map(|(state, _)| state)
    }

    /// [`StateFile::parse`], hashing the file on another core while it is parsed when
    /// `fingerprint` is set.
    fn parse_fingerprinted(
        &mut self,
        sources: &mut Sources,
        fingerprint: bool,
    ) -> Result<(TenantState, SourceId), Diagnostics> {
        let name = self.path.display().to_string();
        // A large JSON file is registered without its text, which is copied in only if a
        // diagnostic points into it: it is hundreds of megabytes.
        let large = self.format == Format::Json && self.text.len() > MAX_POINTER_INDEXED;
        let source = if large {
            sources.add(name, "")
        } else {
            sources.add(name, self.text.as_str())
        };
        // The fingerprint is hashed on another core while the text is parsed (both read every
        // byte of what may be hundreds of megabytes).
        let (_, parsed) = rayon::join(
            || fingerprint.then(|| self.fingerprint()),
            || parse_state(source, &self.text, self.format),
        );
        match parsed {
            Ok((state, pointers)) => {
                if let Some(pointers) = pointers {
                    sources.set_pointers(source, pointers);
                }
                if large {
                    self.text = String::new();
                }
                Ok((state, source))
            }
            Err((problems, pointers)) => {
                if large {
                    sources.set_text(source, self.text.as_str());
                }
                if let Some(pointers) = pointers {
                    sources.set_pointers(source, pointers);
                }
                Err(problems)
            }
        }
    }

    /// Builds the pointer map of a JSON state file registered as `source`, so that diagnostics
    /// pointing into it can be located (YAML files already have theirs).
    pub fn index_pointers(&self, source: SourceId, sources: &mut Sources) {
        if self.format == Format::Json {
            if let Some(pointers) = json_pointers(source, &self.text) {
                sources.set_pointers(source, pointers);
            }
        }
    }

    /// Replaces the state file by `new_state` under `lock`, keeping the current file as
    /// `<state>.backup` and appending `records` to `<state>.audit.jsonl`; the order of the
    /// writes and what a crash leaves are described in the module documentation. Fails with
    /// `state-changed` when the file is no longer the one this `StateFile` read.
    #[expect(
        clippy::disallowed_methods,
        reason = "the audit records of an apply carry the time it is committed"
    )]
    pub fn commit(
        &self,
        lock: &mut StateLock,
        new_state: &TenantState,
        records: &[AuditRecord],
    ) -> Result<Committed, CommitError> {
        let state = self.path.as_path();
        if lock.state_path() != state {
            return Err(Diagnostic::new(
                Code::Write,
                format!(
                    "the lock held is for `{}`, not `{}`",
                    lock.state_path().display(),
                    state.display()
                ),
            )
            .with_help("this is a bug in seatplan; please report it")
            .into());
        }
        let ownership = replaceable(state)?;
        let (backup, audit) = (backup_path(state), audit_path(state));
        for companion in [&backup, &audit] {
            writable_companion(companion)?;
        }
        let current = read_text(state, state_limit(self.format))?;
        let current_fingerprint = fingerprint(current.as_bytes());
        if current_fingerprint != self.fingerprint() {
            return Err(Diagnostic::new(
                Code::StateChanged,
                format!(
                    "`{}` changed after seatplan read it: another writer got there first",
                    state.display()
                ),
            )
            .with_note(format!(
                "read as {}, now {current_fingerprint}",
                self.fingerprint()
            ))
            .with_help("nothing was written; plan again against the current state")
            .into());
        }
        let text = render_state(new_state, self.format)?;
        let new_fingerprint = fingerprint(text.as_bytes());
        let apply = apply_id(lock);
        let entries = render_entries(records, &apply, self.fingerprint(), &new_fingerprint)?;

        write_atomic_with(&backup, current.as_bytes(), ownership, || {})?;
        lock.set_stage(Stage::BackupWritten)?;
        pause_point(state, PausePoint::AfterBackup);

        if !entries.is_empty() {
            append_intent(state, &audit, &entries, ownership)?;
        }
        lock.set_stage(Stage::IntentAppended)?;
        pause_point(state, PausePoint::AfterIntent);

        write_atomic_with(state, text.as_bytes(), ownership, || {
            pause_point(state, PausePoint::AfterTempWrite);
        })?;
        let after_replace = |diagnostic: Diagnostic| CommitError {
            diagnostic,
            state_replaced: true,
        };
        lock.set_stage(Stage::StateReplaced)
            .map_err(after_replace)?;
        pause_point(state, PausePoint::AfterRename);

        if !entries.is_empty() {
            let outcome = AuditOutcome {
                apply,
                outcome: Outcome::Applied,
                time: jiff::Timestamp::now(),
                state_before: self.fingerprint().to_owned(),
                state_after: new_fingerprint.clone(),
            };
            append_outcome(state, &audit, &outcome, ownership).map_err(after_replace)?;
        }
        lock.set_stage(Stage::AuditAppended)
            .map_err(after_replace)?;
        pause_point(state, PausePoint::AfterAudit);

        Ok(Committed {
            fingerprint: new_fingerprint,
            backup,
            audit,
            records: records.len(),
        })
    }
}

/// Checks that the state file at `state` can be replaced: a regular file, not a symbolic link
/// (replacing a link would leave its target stale); returns its mode and owner for the files
/// that replace and back it up.
#[expect(
    clippy::disallowed_methods,
    reason = "the state file's owner and mode are read before it is replaced"
)]
pub(crate) fn replaceable(state: &Path) -> Result<Option<Ownership>, Diagnostic> {
    match std::fs::symlink_metadata(state) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            let target = std::fs::read_link(state)
                .map(|target| target.display().to_string())
                .unwrap_or_else(|_| "its target".to_owned());
            Err(Diagnostic::new(
                Code::Symlink,
                format!(
                    "`{}` is a symbolic link to `{target}`; apply does not replace a link",
                    state.display()
                ),
            )
            .with_note(format!(
                "replacing it would turn the link into a regular file and leave `{target}` stale"
            ))
            .with_help(format!(
                "pass the file itself: `--state {target}`; nothing was written"
            )))
        }
        Ok(metadata) if !metadata.is_file() => Err(not_regular(state, kind(&metadata))),
        Ok(metadata) => Ok(Ownership::of(&metadata)),
        Err(error) => Err(OpenError::Io(error).diagnostic(state, "read", Code::Io)),
    }
}

/// Checks before anything is written that a file written beside the state (`backup`, `audit`)
/// is absent or a regular file, not a symbolic link: the writes themselves refuse links too, but
/// finding one first keeps the apply from writing anything at all.
#[expect(
    clippy::disallowed_methods,
    reason = "a companion file must not be a link before it is written"
)]
fn writable_companion(path: &Path) -> Result<(), Diagnostic> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            Err(OpenError::Symlink.diagnostic(path, "write", Code::Write))
        }
        Ok(metadata) if !metadata.is_file() => Err(not_regular(path, kind(&metadata))),
        _ => Ok(()),
    }
}

/// How much of the end of the audit log is searched for an apply without its outcome (an
/// apply's entries are a few kilobytes each; a huge log is not read whole).
const AUDIT_TAIL_BYTES: u64 = 8 * 1024 * 1024;

/// With the lock of `state` held: finds the last apply of its audit log that has entries but no
/// outcome line (killed between the two, or its outcome could not be written), records what the
/// state file shows about it as its outcome, and returns an `unfinished-apply` warning saying
/// so.
pub(crate) fn close_unfinished(state: &Path) -> Result<Option<Diagnostic>, Diagnostic> {
    unfinished_apply(state, true)
}

/// Without the lock (`plan`): the `unfinished-apply` warning of [`close_unfinished`], without
/// recording anything; the next apply records the outcome.
pub(crate) fn report_unfinished(state: &Path) -> Result<Option<Diagnostic>, Diagnostic> {
    unfinished_apply(state, false)
}

#[expect(
    clippy::disallowed_methods,
    reason = "the outcome recorded for an unfinished apply carries the time it was found"
)]
fn unfinished_apply(state: &Path, record: bool) -> Result<Option<Diagnostic>, Diagnostic> {
    let audit = audit_path(state);
    let Some(tail) = read_tail(&audit, AUDIT_TAIL_BYTES)? else {
        return Ok(None);
    };
    let Some(open) = unfinished(&tail) else {
        return Ok(None);
    };
    let current = read_text(state, state_limit(state_format(state)))?;
    let outcome = AuditOutcome {
        apply: open.apply.clone(),
        outcome: open.outcome(&fingerprint(current.as_bytes())),
        time: jiff::Timestamp::now(),
        state_before: open.state_before.clone(),
        state_after: open.state_after.clone(),
    };
    if record {
        append_lines(&audit, &render_outcome(&outcome)?, None)?;
    }
    let (shown, shown_audit) = (state.display(), audit.display());
    let found = match outcome.outcome {
        Outcome::FoundApplied => format!(
            "`{shown}` holds the state that apply wrote: its changes were made; only its outcome \
             line was missing"
        ),
        Outcome::FoundNotApplied => format!(
            "`{shown}` is as it was before that apply: its {} recorded changes were not made",
            open.entries
        ),
        _ => format!(
            "`{shown}` is neither the state before that apply nor the one it meant to write: it \
             was changed since by hand or by another tool"
        ),
    };
    let name = serde_json::to_value(outcome.outcome)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    let diagnostic = Diagnostic::new(
        Code::UnfinishedApply,
        format!(
            "`{shown_audit}` holds {} change records of an apply at {} without its outcome",
            open.entries, open.time
        ),
    )
    .with_note(found);
    Ok(Some(if record {
        diagnostic
            .with_note(format!(
                "recorded its outcome as `{name}` in `{shown_audit}`"
            ))
            .with_help("nothing needs undoing; this apply plans against the state as it is")
    } else {
        diagnostic.with_help(format!(
            "nothing needs undoing; the next apply records its outcome (`{name}`) in `{shown_audit}`"
        ))
    }))
}

/// An id for this apply's audit lines: when and by which process the lock was taken.
fn apply_id(lock: &StateLock) -> String {
    let holder = lock.holder();
    format!("{}-{}", holder.started.as_millisecond(), holder.pid)
}

/// Appends the intent (the change entries) before the state is replaced; a failure leaves the
/// state as it was.
fn append_intent(
    state: &Path,
    audit: &Path,
    entries: &str,
    ownership: Option<Ownership>,
) -> Result<(), Diagnostic> {
    append_lines(audit, entries, ownership).map_err(|problem| {
        let mut diagnostic = Diagnostic::new(
            problem.code,
            format!(
                "the audit records of this apply could not be written, so `{}` was not changed: {}",
                state.display(),
                problem.message
            ),
        );
        if let Some(help) = problem.help {
            diagnostic = diagnostic.with_help(format!("{help}; then run the apply again"));
        }
        diagnostic
    })
}

/// Appends the outcome line after the state was replaced.
fn append_outcome(
    state: &Path,
    audit: &Path,
    outcome: &AuditOutcome,
    ownership: Option<Ownership>,
) -> Result<(), Diagnostic> {
    let line = render_outcome(outcome)?;
    append_lines(audit, &line, ownership).map_err(|problem| {
        Diagnostic::new(
            problem.code,
            format!(
                "`{}` now holds the new state and its audit records are written, but their \
                 outcome line could not be appended: {}",
                state.display(),
                problem.message
            ),
        )
        .with_help(format!(
            "the changes are applied (exit 3); the next apply records the missing outcome of \
             apply {} once `{}` is writable again",
            outcome.apply,
            audit.display()
        ))
    })
}

/// The text of a state file of `format` holding `state`: YAML, or pretty JSON with a final
/// newline. Deterministic: the same state gives the same bytes.
pub fn render_state(state: &TenantState, format: Format) -> Result<String, Diagnostic> {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(state)
            .map(|text| text + "\n")
            .map_err(|error| error.to_string()),
        Format::Yaml => serde_yaml::to_string(state).map_err(|error| error.to_string()),
    };
    text.map_err(|error| {
        Diagnostic::new(
            Code::Write,
            format!("cannot serialise the tenant state: {error}"),
        )
        .with_help("this is a bug in seatplan; please report it")
    })
}

/// Writes `state` to `path` atomically in the format its name asks for (no lock, backup or
/// audit: for creating a state file, as `import graph` does).
pub fn write_state(path: &Path, state: &TenantState) -> Result<(), Diagnostic> {
    let text = render_state(state, state_format(path))?;
    write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    #![expect(clippy::disallowed_methods, reason = "tests set up files directly")]

    use super::*;
    use crate::backend::audit::{processing_summary, read_log};
    use crate::backend::lock::LockOptions;
    use crate::backend::lock_path;

    const STATE: &str = "version: 1\ntenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: US }\nsubscriptions:\n  - { sku: ENTERPRISEPACK, enabled: 10 }\nusers:\n  - { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com }\n";

    fn setup(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn lock(path: &Path) -> StateLock {
        StateLock::acquire(path, &LockOptions::default())
            .unwrap()
            .lock
    }

    fn record(address: &str) -> AuditRecord {
        AuditRecord {
            time: "2026-03-01T09:30:00Z".parse().unwrap(),
            actor: "ann".to_owned(),
            address: address.to_owned(),
            action: "update".to_owned(),
            before: serde_json::json!(10),
            after: serde_json::json!(11),
            summary: processing_summary(1, 0),
        }
    }

    fn read_and_parse(path: &Path) -> (StateFile, TenantState) {
        let mut file = StateFile::read(path).unwrap();
        let (state, _) = file.parse(&mut Sources::new()).unwrap();
        (file, state)
    }

    #[test]
    fn reading_fingerprints_the_exact_bytes() {
        let (_dir, path) = setup("tenant.yaml", STATE);
        let file = StateFile::read(&path).unwrap();
        assert_eq!(file.fingerprint(), fingerprint(STATE.as_bytes()));
        assert_eq!(file.text(), STATE);
        assert_eq!(file.format(), Format::Yaml);
        std::fs::write(&path, STATE.replace('\n', "\r\n")).unwrap();
        assert_ne!(
            StateFile::read(&path).unwrap().fingerprint(),
            file.fingerprint()
        );
    }

    #[test]
    fn a_state_read_without_its_fingerprint_is_the_same_state() {
        let (_dir, path) = setup("tenant.yaml", STATE);
        let (_, parsed) = read_and_parse(&path);
        let mut sources = Sources::new();
        let state = StateFile::read(&path)
            .unwrap()
            .into_state(&mut sources)
            .unwrap();
        assert_eq!(state, parsed);
        assert!(!state.users.is_empty());
        std::fs::write(&path, "version: 1\ntenant: {}\nusers: 5\n").unwrap();
        let problems = StateFile::read(&path)
            .unwrap()
            .into_state(&mut sources)
            .unwrap_err();
        assert!(problems.has_errors());
    }

    #[test]
    fn parsing_registers_the_source_for_diagnostics() {
        let (_dir, path) = setup("tenant.yaml", "version: 1\ntenant: {}\nusers: 5\n");
        let mut sources = Sources::new();
        let problems = StateFile::read(&path)
            .unwrap()
            .parse(&mut sources)
            .unwrap_err();
        assert_eq!(problems.0[0].code, Code::Schema);
        let resolved = problems.0[0]
            .labels
            .first()
            .and_then(|label| sources.resolve(&label.location));
        assert!(resolved.is_some(), "{problems:?}");
    }

    #[test]
    fn a_large_json_state_keeps_its_text_only_for_a_diagnostic() {
        let users: Vec<String> = (0..180_000)
            .map(|index| {
                format!(
                    r#"{{"id": "00000000-0000-4000-8000-{index:012}", "upn": "user{index}@contoso.com"}}"#
                )
            })
            .collect();
        let valid = format!(
            "{{\"version\": 1, \"tenant\": {{}}, \"users\": [\n{}\n]}}\n",
            users.join(",\n")
        );
        assert!(valid.len() > crate::tenant::parse::MAX_POINTER_INDEXED);
        let (_dir, path) = setup("tenant.json", &valid);
        let mut sources = Sources::new();
        let (state, source) = StateFile::read(&path).unwrap().parse(&mut sources).unwrap();
        assert_eq!(state.users.len(), 180_000);
        assert_eq!(sources.get(source).map(|file| file.text.len()), Some(0));

        let broken = valid.replacen("\"upn\": \"user179999", "\"upn\" \"user179999", 1);
        let (_dir, path) = setup("tenant.json", &broken);
        let mut sources = Sources::new();
        let problems = StateFile::read(&path)
            .unwrap()
            .parse(&mut sources)
            .unwrap_err();
        assert_eq!(problems.0[0].code, Code::JsonSyntax);
        let (id, range) = problems.0[0]
            .labels
            .first()
            .and_then(|label| sources.resolve(&label.location))
            .expect("the syntax error points into the text");
        let text = &sources.get(id).expect("registered").text;
        assert_eq!(text.len(), broken.len());
        assert_eq!(text[..range.start].lines().count(), 180_001);
    }

    #[test]
    fn json_pointers_are_built_on_request() {
        let (_dir, path) = setup("tenant.json", "{\"version\": 1, \"tenant\": {}}\n");
        let mut file = StateFile::read(&path).unwrap();
        let mut sources = Sources::new();
        let (_, source) = file.parse(&mut sources).unwrap();
        let location = crate::diag::Location::node(source, "/tenant");
        assert!(sources.resolve(&location).is_none());
        file.index_pointers(source, &mut sources);
        assert!(sources.resolve(&location).is_some());
    }

    #[test]
    fn oversized_and_binary_state_files_are_refused() {
        let (_dir, path) = setup("tenant.yaml", "version: 1\0\n");
        assert_eq!(StateFile::read(&path).unwrap_err().code, Code::Encoding);
        assert_eq!(state_limit(Format::Yaml), 128 * 1024 * 1024);
        assert!(state_limit(Format::Json) > state_limit(Format::Yaml));
    }

    #[test]
    fn commit_writes_state_backup_and_audit() {
        let (_dir, path) = setup("tenant.yaml", STATE);
        let mut lock = lock(&path);
        let (file, mut state) = read_and_parse(&path);
        state.subscriptions[0].enabled = 11;
        let committed = file
            .commit(
                &mut lock,
                &state,
                &[record("subscription[\"ENTERPRISEPACK\"]")],
            )
            .unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written, render_state(&state, Format::Yaml).unwrap());
        assert_eq!(committed.fingerprint, fingerprint(written.as_bytes()));
        assert_eq!(std::fs::read_to_string(&committed.backup).unwrap(), STATE);
        let (_, reread) = read_and_parse(&path);
        assert_eq!(reread, state);
        let audit = std::fs::read_to_string(&committed.audit).unwrap();
        let (entries, outcomes) = read_log(&audit);
        assert_eq!(entries.len(), 1);
        let entry = &entries[0];
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].outcome, Outcome::Applied);
        assert_eq!(outcomes[0].apply, entry.apply);
        assert_eq!(outcomes[0].state_after, committed.fingerprint);
        assert_eq!(entry.state_before, file.fingerprint());
        assert_eq!(entry.state_after, committed.fingerprint);
        assert_eq!(entry.record.address, "subscription[\"ENTERPRISEPACK\"]");
        assert_eq!(committed.records, 1);
        let holder = std::fs::read_to_string(lock_path(&path)).unwrap();
        assert!(holder.contains("audit-appended"), "{holder}");
        drop(lock);
        assert_eq!(std::fs::read(lock_path(&path)).unwrap(), b"");
    }

    #[test]
    fn audit_entries_chain_across_commits() {
        let (_dir, path) = setup("tenant.json", "{\"version\": 1, \"tenant\": {}}\n");
        let mut lock = lock(&path);
        let mut fingerprints = Vec::new();
        for _ in 0..3 {
            let (file, mut state) = read_and_parse(&path);
            state.tenant.id = Some(format!("{}x", state.tenant.id.unwrap_or_default()));
            fingerprints.push(file.fingerprint().to_owned());
            let committed = file.commit(&mut lock, &state, &[record("tenant")]).unwrap();
            fingerprints.push(committed.fingerprint);
        }
        let audit = std::fs::read_to_string(crate::backend::audit_path(&path)).unwrap();
        let (entries, outcomes) = read_log(&audit);
        assert_eq!(entries.len(), 3);
        assert_eq!(outcomes.len(), 3);
        for (index, entry) in entries.iter().enumerate() {
            assert_eq!(entry.state_before, fingerprints[2 * index]);
            assert_eq!(entry.state_after, fingerprints[2 * index + 1]);
        }
        assert_eq!(entries[1].state_before, entries[0].state_after);
        let (_, state) = read_and_parse(&path);
        assert_eq!(state.tenant.id.as_deref(), Some("xxx"));
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("{\n"));
    }

    #[test]
    fn a_change_by_another_writer_is_not_overwritten() {
        let (_dir, path) = setup("tenant.yaml", STATE);
        let mut lock = lock(&path);
        let (file, mut state) = read_and_parse(&path);
        let edited = STATE.replace("enabled: 10", "enabled: 20");
        std::fs::write(&path, &edited).unwrap();
        state.subscriptions[0].enabled = 11;
        let error = file
            .commit(&mut lock, &state, &[record("x")])
            .unwrap_err()
            .diagnostic;
        assert_eq!(error.code, Code::StateChanged);
        assert!(error.notes[0].contains(file.fingerprint()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
        assert!(!backup_path(&path).exists());
        assert!(!audit_path(&path).exists());
    }

    #[test]
    fn a_deleted_state_file_is_not_recreated() {
        let (_dir, path) = setup("tenant.yaml", STATE);
        let mut lock = lock(&path);
        let (file, state) = read_and_parse(&path);
        std::fs::remove_file(&path).unwrap();
        let error = file.commit(&mut lock, &state, &[]).unwrap_err().diagnostic;
        assert_eq!(error.code, Code::Io);
        assert!(!path.exists());
    }

    #[test]
    fn commit_refuses_a_lock_of_another_file() {
        let (dir, path) = setup("tenant.yaml", STATE);
        let other = dir.path().join("other.yaml");
        let mut lock = lock(&other);
        let (file, state) = read_and_parse(&path);
        let error = file.commit(&mut lock, &state, &[]).unwrap_err().diagnostic;
        assert!(error.message.contains("other.yaml"), "{}", error.message);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), STATE);
    }

    #[test]
    fn rendering_is_deterministic_and_round_trips_in_both_formats() {
        let (_dir, path) = setup("tenant.yaml", STATE);
        let (_, state) = read_and_parse(&path);
        for format in [Format::Yaml, Format::Json] {
            let text = render_state(&state, format).unwrap();
            assert_eq!(text, render_state(&state, format).unwrap());
            let (parsed, _) = parse_state(SourceId(0), &text, format).unwrap();
            assert_eq!(parsed, state);
        }
    }

    #[test]
    fn write_state_picks_the_format_from_the_name() {
        let (dir, path) = setup("tenant.yaml", STATE);
        let (_, state) = read_and_parse(&path);
        let json = dir.path().join("out.JSON");
        write_state(&json, &state).unwrap();
        let text = std::fs::read_to_string(&json).unwrap();
        assert_eq!(text, render_state(&state, Format::Json).unwrap());
    }
}
