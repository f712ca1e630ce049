//! ISO 3166-1 alpha-2 country codes: the values Entra accepts as a usage location.

use crate::diag::{Code, Diagnostic, Location};

/// Every officially assigned ISO 3166-1 alpha-2 code, sorted.
pub const ISO_3166_ALPHA2: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// The upper-cased code if `code` is an assigned ISO 3166-1 alpha-2 code (case-insensitive, as
/// Graph accepts `us` and stores `US`).
pub fn normalize_country(code: &str) -> Option<&'static str> {
    let upper = code.trim().to_ascii_uppercase();
    ISO_3166_ALPHA2
        .binary_search(&upper.as_str())
        .ok()
        .map(|index| ISO_3166_ALPHA2[index])
}

/// The `invalid-usage-location` diagnostic for `code` at `location`, or `None` when `code` is an
/// assigned ISO 3166-1 alpha-2 code. Config files and tenant states are checked alike.
pub fn usage_location_problem(code: &str, location: Location) -> Option<Diagnostic> {
    if normalize_country(code).is_some() {
        return None;
    }
    let help = match code.trim().to_ascii_uppercase().as_str() {
        "UK" => "the United Kingdom's code is `GB`",
        _ => "use a two-letter ISO 3166-1 code such as `US`, `DE` or `GB`",
    };
    Some(
        Diagnostic::new(
            Code::InvalidUsageLocation,
            format!("`{code}` is not an ISO 3166-1 alpha-2 country code"),
        )
        .with_label(location, "unknown country")
        .with_help(help),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_complete() {
        assert!(ISO_3166_ALPHA2.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(ISO_3166_ALPHA2.len(), 249);
    }

    #[test]
    fn lookups() {
        assert_eq!(normalize_country("de"), Some("DE"));
        assert_eq!(normalize_country("NO"), Some("NO"));
        assert_eq!(normalize_country("XX"), None);
        assert_eq!(normalize_country("UK"), None);
    }

    #[test]
    fn problems_name_the_code_and_hint_at_gb() {
        let at = Location::node(crate::source::SourceId(0), "/x");
        assert!(usage_location_problem("de", at.clone()).is_none());
        let problem = usage_location_problem("UK", at).unwrap();
        assert_eq!(problem.code, Code::InvalidUsageLocation);
        assert_eq!(
            problem.help.as_deref(),
            Some("the United Kingdom's code is `GB`")
        );
    }
}
