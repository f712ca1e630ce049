//! `needs-reprocess`: the change lets errors succeed that the service will not retry by itself
//! (seed 003: "License management automation does not automatically react to all types of
//! changes in the environment"); the plan does not count on it.

use super::{plural, with_listed, Context};
use crate::diag::{Code, Diagnostic};

/// Users in error whom a reprocess after the change would license.
pub(super) struct NeedsReprocess {
    /// Their UPNs.
    users: Vec<String>,
}

impl From<NeedsReprocess> for Diagnostic {
    fn from(retry: NeedsReprocess) -> Diagnostic {
        let diagnostic = Diagnostic::new(
            Code::NeedsReprocess,
            format!(
                "{} in error would succeed if reprocessed after this change; the service does not retry by itself, so the plan counts them as still failing",
                plural(retry.users.len(), "user")
            ),
        )
        .with_help("apply with `--reprocess` to add a reprocess step for each of them, or reprocess them after applying (`seatplan reprocess` shows the result)");
        with_listed(diagnostic, retry.users.into_iter(), None)
    }
}

/// The users the planner found retryable.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if context.retryable.is_empty() {
        return;
    }
    out.push(
        NeedsReprocess {
            users: context
                .retryable
                .iter()
                .map(|user| context.upn(*user).to_string())
                .collect(),
        }
        .into(),
    );
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;
    use crate::plan::Overrides;

    #[test]
    fn users_a_reprocess_would_license_are_named_unless_reprocessed() {
        let overrides = Overrides {
            allow_license_loss: true,
            ..Overrides::default()
        };
        let reported = fixture!("needs-reprocess").reported_with(Code::NeedsReprocess, overrides);
        assert_eq!(reported.len(), 1);
        assert!(reported[0]
            .message
            .starts_with("1 user in error would succeed if reprocessed after this change"));
        let reprocessed = fixture!("needs-reprocess").reported_with(
            Code::NeedsReprocess,
            Overrides {
                reprocess: true,
                ..overrides
            },
        );
        assert!(reprocessed.is_empty());
    }
}
