//! Entra object ids and skuIds: GUIDs written as `8-4-4-4-12` hexadecimal digits
//! (`62e19b97-8b3d-4d4a-a106-4ce66896a863`), in either case.
//!
//! Where seatplan requires one: the ids of the tenant state's users and groups and of its
//! groups' member entries that are not UPNs, the tenant's id and subscription skuIds
//! (`tenant-id-format`); the `id` of every user, group, member and organization of a Graph
//! response on import (`tenant-id-format`, pointing into the response); a config group's `id` and
//! a config `members:` entry that is not a UPN (`schema`); a manager in `Direct Reports for`
//! (`rule-invalid-value`). A license state's `via` is a group's object id or, in older files,
//! its display name, so it is looked up as either and never refused for its shape.
//!
//! This file uses only `std`: `build.rs` includes it with `#[path]` for the catalog's CSV checks.

/// True for an `8-4-4-4-12` hexadecimal GUID (any case, no braces, no surrounding space).
pub fn is_guid(text: &str) -> bool {
    parse(text).is_some()
}

/// The 16 bytes of a GUID in the order its digits are written, for keys that compare ids
/// case-insensitively without keeping a lower-cased copy of each; `None` if `text` is not one.
pub fn parse(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut value = [0u8; 16];
    let mut digits = 0;
    for (position, &byte) in bytes.iter().enumerate() {
        if matches!(position, 8 | 13 | 18 | 23) {
            if byte != b'-' {
                return None;
            }
            continue;
        }
        let nibble = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => return None,
        };
        value[digits / 2] |= if digits % 2 == 0 { nibble << 4 } else { nibble };
        digits += 1;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_recognised_in_either_case_and_nothing_else_is() {
        let lower = "62e19b97-8b3d-4d4a-a106-4ce66896a863";
        assert!(is_guid(lower));
        assert_eq!(parse(lower), parse(&lower.to_ascii_uppercase()));
        assert_eq!(
            parse("00000000-0000-0000-0000-0000000000ff").map(|bytes| bytes[15]),
            Some(0xff)
        );
        assert_ne!(parse(lower), parse("62e19b97-8b3d-4d4a-a106-4ce66896a864"));
        for text in [
            "",
            "ann-id",
            "62e19b97-8b3d-4d4a-a106-4ce66896a86",
            "62e19b97-8b3d-4d4a-a106-4ce66896a8633",
            "62e19b978-b3d-4d4a-a106-4ce66896a863",
            "62e19b97-8b3d-4d4a-a106-4ce66896a86g",
            "{62e19b97-8b3d-4d4a-a106-4ce66896a863}",
            " 62e19b97-8b3d-4d4a-a106-4ce66896a86",
            "62e19b97+8b3d-4d4a-a106-4ce66896a863",
            "62e19b978b3d4d4aa1064ce66896a863",
            "٦2e19b97-8b3d-4d4a-a106-4ce66896a8",
        ] {
            assert!(!is_guid(text), "{text}");
        }
    }
}
