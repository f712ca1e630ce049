//! `unmanaged-group`: licensed tenant groups that the config does not mention (read, never
//! changed).

use std::collections::BTreeSet;

use super::{are, with_listed, Context};
use crate::diag::{Code, Diagnostic};

/// The licensed groups the config leaves alone.
pub(super) struct UnmanagedGroup {
    /// Their display names, in tenant order.
    names: Vec<String>,
}

impl From<UnmanagedGroup> for Diagnostic {
    fn from(unmanaged: UnmanagedGroup) -> Diagnostic {
        let diagnostic = Diagnostic::new(
            Code::UnmanagedGroup,
            format!(
                "{} licensed in the tenant but not in the config; seatplan reads them and never changes them",
                are(unmanaged.names.len(), "group")
            ),
        )
        .with_help("`seatplan export` writes a config for them if you want to manage them");
        with_listed(
            diagnostic,
            unmanaged.names.into_iter(),
            Some("`seatplan report` lists every group"),
        )
    }
}

/// The tenant's licensed groups that the config neither manages nor deletes.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let managed: BTreeSet<usize> = context
        .desired
        .managed_groups
        .iter()
        .chain(&context.desired.deleted)
        .map(|(_, index)| *index)
        .collect();
    let names: Vec<String> = context
        .current
        .groups
        .iter()
        .enumerate()
        .filter(|(index, group)| !group.licenses.is_empty() && !managed.contains(index))
        .map(|(_, group)| group.name.to_string())
        .collect();
    if names.is_empty() {
        return;
    }
    out.push(UnmanagedGroup { names }.into());
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn licensed_groups_outside_the_config_are_a_note() {
        let reported = fixture!("unmanaged-group").reported(Code::UnmanagedGroup);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].severity, crate::diag::Severity::Note);
        assert!(reported[0]
            .message
            .starts_with("1 group is licensed in the tenant but not in the config"));
        assert_eq!(reported[0].notes, ["- E3"]);
    }
}
