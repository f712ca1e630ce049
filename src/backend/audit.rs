//! The audit log of the file backend, `<state>.audit.jsonl`: append-only, one JSON object per
//! applied change ([`AuditEntry`]), oldest first, and after the entries of each apply one
//! [`AuditOutcome`] line.
//!
//! The log is written ahead: an apply appends and flushes its entries (the intent, naming the
//! fingerprint the state will have) *before* it replaces the state, and its outcome line after.
//! A kill between the two leaves entries without an outcome, which the next apply finds
//! ([`unfinished`]), reports with the state it finds (the new one or the old one), and closes
//! with an outcome line of its own; the records of an apply are never lost with its state
//! written. The caller describes each change
//! ([`AuditRecord`]: who, when, what, before and after, and the processing summary Entra would
//! log); the commit adds the fingerprints of the state before and after the apply, which chain
//! the entries: an apply's `state_before` is the previous apply's `state_after`, and the last
//! entry's `state_after` is the fingerprint of the current state file unless an apply was killed
//! between replacing the state and appending its records.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diag::{Code, Diagnostic};

/// One applied change, as the caller describes it. The core has no clock and no idea who runs
/// it, so the command line supplies `actor` (`--actor` or `$USER`) and `time`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the apply ran (RFC 3339 in the log).
    pub time: Timestamp,
    /// Who ran it.
    pub actor: String,
    /// The plan address of the changed object (`group["Sales - E3"]`).
    pub address: String,
    /// The plan action (`create`, `update`, `delete`, `migrate`).
    pub action: String,
    /// The object before the change (`null` for a create).
    pub before: Value,
    /// The object after the change (`null` for a delete).
    pub after: Value,
    /// What processing the change did, in Entra's words ([`processing_summary`]).
    pub summary: String,
}

/// One line of the audit log: a record and the fingerprints of the state file before and after
/// the apply that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The change.
    #[serde(flatten)]
    pub record: AuditRecord,
    /// The apply this change belongs to (its [`AuditOutcome`] names the same id); empty in logs
    /// written before outcomes were recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub apply: String,
    /// `sha256:…` of the state file the apply read.
    pub state_before: String,
    /// `sha256:…` of the state file the apply wrote.
    pub state_after: String,
}

/// The processing summary Entra's audit log records when it finishes a group's license
/// processing: "Users successfully assigned licenses: 6, Users for whom license assignment
/// failed: 0."
pub fn processing_summary(assigned: usize, failed: usize) -> String {
    format!(
        "Users successfully assigned licenses: {assigned}, Users for whom license assignment \
         failed: {failed}."
    )
}

/// How an apply recorded in the audit log ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The apply replaced the state and recorded it.
    Applied,
    /// A later apply found the state replaced, but no outcome: the apply was killed after
    /// writing the state.
    FoundApplied,
    /// A later apply found the state as it was before: the apply was stopped before writing it,
    /// and its entries describe changes that were not made.
    FoundNotApplied,
    /// A later apply found a state that is neither the one before nor the one after (edited by
    /// hand since).
    FoundUnknown,
}

/// The last line of an apply in the audit log: how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditOutcome {
    /// The apply's id, as its entries name it.
    pub apply: String,
    /// How it ended.
    pub outcome: Outcome,
    /// When this line was written (RFC 3339).
    pub time: Timestamp,
    /// `sha256:…` of the state file before the apply.
    pub state_before: String,
    /// `sha256:…` of the state file the apply wrote (or meant to write).
    pub state_after: String,
}

/// The audit log line of `outcome`, ending in a newline.
pub(crate) fn render_outcome(outcome: &AuditOutcome) -> Result<String, Diagnostic> {
    serde_json::to_string(outcome)
        .map(|line| line + "\n")
        .map_err(|error| {
            Diagnostic::new(
                Code::Write,
                format!(
                    "cannot write the outcome of apply {}: {error}",
                    outcome.apply
                ),
            )
            .with_help("this is a bug in seatplan; please report it")
        })
}

/// An apply whose entries are in the log without an outcome line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// Its id.
    pub apply: String,
    /// How many entries it wrote.
    pub entries: usize,
    /// When it ran (its first entry's time).
    pub time: Timestamp,
    /// The fingerprint of the state it read.
    pub state_before: String,
    /// The fingerprint of the state it meant to write.
    pub state_after: String,
}

impl Unfinished {
    /// What the state file's current fingerprint says about how the apply ended.
    pub fn outcome(&self, current: &str) -> Outcome {
        if current == self.state_after {
            Outcome::FoundApplied
        } else if current == self.state_before {
            Outcome::FoundNotApplied
        } else {
            Outcome::FoundUnknown
        }
    }
}

/// The last apply of the audit log `text` (its end, possibly cut at the front) when it has
/// entries but no outcome line. Lines that do not parse (torn by a crash, or cut off) are
/// skipped; logs written before outcomes were recorded have no apply ids and give `None`.
pub fn unfinished(text: &str) -> Option<Unfinished> {
    let mut last: Option<Unfinished> = None;
    for line in text.lines() {
        if let Ok(outcome) = serde_json::from_str::<AuditOutcome>(line) {
            if last
                .as_ref()
                .is_some_and(|open| open.apply == outcome.apply)
            {
                last = None;
            }
            continue;
        }
        let Ok(entry) = serde_json::from_str::<AuditEntry>(line) else {
            continue;
        };
        if entry.apply.is_empty() {
            last = None;
            continue;
        }
        match &mut last {
            Some(open) if open.apply == entry.apply => open.entries += 1,
            _ => {
                last = Some(Unfinished {
                    apply: entry.apply,
                    entries: 1,
                    time: entry.record.time,
                    state_before: entry.state_before,
                    state_after: entry.state_after,
                });
            }
        }
    }
    last
}

/// The change entries and the outcome lines of the audit log `text`, in order; lines that are
/// neither (torn by a crash) are skipped.
pub fn read_log(text: &str) -> (Vec<AuditEntry>, Vec<AuditOutcome>) {
    let (mut entries, mut outcomes) = (Vec::new(), Vec::new());
    for line in text.lines() {
        if let Ok(outcome) = serde_json::from_str::<AuditOutcome>(line) {
            outcomes.push(outcome);
        } else if let Ok(entry) = serde_json::from_str::<AuditEntry>(line) {
            entries.push(entry);
        }
    }
    (entries, outcomes)
}

/// The audit log lines for `records` of apply `apply`, each a compact JSON object ending in a
/// newline.
pub(crate) fn render_entries(
    records: &[AuditRecord],
    apply: &str,
    state_before: &str,
    state_after: &str,
) -> Result<String, Diagnostic> {
    let mut text = String::new();
    for record in records {
        let entry = AuditEntry {
            record: record.clone(),
            apply: apply.to_owned(),
            state_before: state_before.to_owned(),
            state_after: state_after.to_owned(),
        };
        let line = serde_json::to_string(&entry).map_err(|error| {
            Diagnostic::new(
                Code::Write,
                format!(
                    "cannot write the audit record of `{}`: {error}",
                    record.address
                ),
            )
            .with_help("this is a bug in seatplan; please report it")
        })?;
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            time: "2026-03-01T09:30:00Z".parse().unwrap(),
            actor: "ann".to_owned(),
            address: "group[\"Sales - E3\"]".to_owned(),
            action: "update".to_owned(),
            before: serde_json::json!({"licenses": ["STANDARDPACK"]}),
            after: serde_json::json!({"licenses": ["ENTERPRISEPACK"]}),
            summary: processing_summary(6, 0),
        }
    }

    #[test]
    fn entries_are_one_json_object_per_line_with_the_fingerprints() {
        let text = render_entries(&[record(), record()], "a1", "sha256:aa", "sha256:bb").unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(text.ends_with('\n'));
        assert_eq!(
            lines[0],
            "{\"time\":\"2026-03-01T09:30:00Z\",\"actor\":\"ann\",\"address\":\"group[\\\"Sales - E3\\\"]\",\
             \"action\":\"update\",\"before\":{\"licenses\":[\"STANDARDPACK\"]},\
             \"after\":{\"licenses\":[\"ENTERPRISEPACK\"]},\
             \"summary\":\"Users successfully assigned licenses: 6, Users for whom license assignment failed: 0.\",\
             \"apply\":\"a1\",\"state_before\":\"sha256:aa\",\"state_after\":\"sha256:bb\"}"
        );
        let entry: AuditEntry = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(entry.record, record());
        assert_eq!(entry.state_after, "sha256:bb");
    }

    #[test]
    fn no_records_give_no_lines() {
        assert_eq!(
            render_entries(&[], "a1", "sha256:aa", "sha256:bb").unwrap(),
            ""
        );
    }

    fn outcome(apply: &str) -> String {
        render_outcome(&AuditOutcome {
            apply: apply.to_owned(),
            outcome: Outcome::Applied,
            time: "2026-03-01T09:30:01Z".parse().unwrap(),
            state_before: "sha256:aa".to_owned(),
            state_after: "sha256:bb".to_owned(),
        })
        .unwrap()
    }

    #[test]
    fn an_apply_without_its_outcome_line_is_found() {
        let first = render_entries(&[record()], "a1", "sha256:00", "sha256:aa").unwrap();
        let second = render_entries(&[record(), record()], "a2", "sha256:aa", "sha256:bb").unwrap();
        let finished = format!("{first}{}{second}{}", outcome("a1"), outcome("a2"));
        assert_eq!(unfinished(&finished), None);
        let open = unfinished(&format!("{first}{}{second}{{\"torn", outcome("a1"))).unwrap();
        assert_eq!(open.apply, "a2");
        assert_eq!(open.entries, 2);
        assert_eq!(open.outcome("sha256:bb"), Outcome::FoundApplied);
        assert_eq!(open.outcome("sha256:aa"), Outcome::FoundNotApplied);
        assert_eq!(open.outcome("sha256:cc"), Outcome::FoundUnknown);
        // Logs from before outcomes were recorded have no apply ids.
        let old = render_entries(&[record()], "", "sha256:00", "sha256:aa").unwrap();
        assert_eq!(unfinished(&old), None);
    }
}
