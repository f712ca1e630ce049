//! The audit log of the file backend, `<state>.audit.jsonl`: append-only, one JSON object per
//! applied change ([`AuditEntry`]), oldest first. The caller describes each change
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

/// The audit log lines for `records`, each a compact JSON object ending in a newline.
pub(crate) fn render_entries(
    records: &[AuditRecord],
    state_before: &str,
    state_after: &str,
) -> Result<String, Diagnostic> {
    let mut text = String::new();
    for record in records {
        let entry = AuditEntry {
            record: record.clone(),
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
        let text = render_entries(&[record(), record()], "sha256:aa", "sha256:bb").unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(text.ends_with('\n'));
        assert_eq!(
            lines[0],
            "{\"time\":\"2026-03-01T09:30:00Z\",\"actor\":\"ann\",\"address\":\"group[\\\"Sales - E3\\\"]\",\
             \"action\":\"update\",\"before\":{\"licenses\":[\"STANDARDPACK\"]},\
             \"after\":{\"licenses\":[\"ENTERPRISEPACK\"]},\
             \"summary\":\"Users successfully assigned licenses: 6, Users for whom license assignment failed: 0.\",\
             \"state_before\":\"sha256:aa\",\"state_after\":\"sha256:bb\"}"
        );
        let entry: AuditEntry = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(entry.record, record());
        assert_eq!(entry.state_after, "sha256:bb");
    }

    #[test]
    fn no_records_give_no_lines() {
        assert_eq!(render_entries(&[], "sha256:aa", "sha256:bb").unwrap(), "");
    }
}
