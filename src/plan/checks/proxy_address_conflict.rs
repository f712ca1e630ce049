//! `proxy-address-conflict`: the change licenses Exchange for users who share a proxy address
//! (the service records UniquenessViolation).

use super::service_errors::{user_and_sku, Refusal};
use crate::diag::{Code, Diagnostic};

/// Users of one source who share a proxy address and would get an Exchange plan.
pub(super) struct ProxyAddressConflict(pub Refusal);

impl From<ProxyAddressConflict> for Diagnostic {
    fn from(ProxyAddressConflict(refusal): ProxyAddressConflict) -> Diagnostic {
        refusal.diagnostic(
            Code::ProxyAddressConflict,
            "share a proxy address with another user and would get an Exchange plan",
            "fix the duplicate proxy addresses (Exchange Online: Get-Recipient) before licensing these users",
            user_and_sku,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn users_sharing_an_address_are_listed() {
        let reported = fixture!("proxy-address-conflict").reported(Code::ProxyAddressConflict);
        assert_eq!(reported.len(), 1);
        assert_eq!(
            reported[0].message,
            "1 user share a proxy address with another user and would get an Exchange plan (group `E3`)"
        );
        assert_eq!(reported[0].notes, ["- cat@contoso.com: ENTERPRISEPACK"]);
    }
}
