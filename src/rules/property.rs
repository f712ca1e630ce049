//! The properties a membership rule may name: every documented user and device property with its
//! type, the `extension_<appId>_<name>` form, and "did you mean" suggestions for the names that
//! rules copied from look-alike languages use (grammar notes §6).

use std::fmt;

/// Which kind of directory object a property belongs to; a rule selects users or devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// `user.<property>`.
    User,
    /// `device.<property>`.
    Device,
}

impl ObjectKind {
    /// The prefix written before the dot (`user`, `device`).
    pub fn prefix(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Device => "device",
        }
    }
}

/// The type of a property, which decides the operators and values a comparison may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyType {
    /// A single string (or null).
    String,
    /// `true`, `false` (or null).
    Bool,
    /// A point in time (`employeeHireDate`).
    DateTime,
    /// Several strings (`proxyAddresses`, `otherMails`, `devicePhysicalIds`).
    StringCollection,
    /// The user's service plans (`assignedPlans`), tested through `assignedPlan.<field>`.
    AssignedPlans,
    /// Group membership (`memberOf`), tested through `group.objectId -in [...]`.
    MemberOf,
}

impl PropertyType {
    /// A short name used in messages.
    pub fn describe(self) -> &'static str {
        match self {
            PropertyType::String => "string",
            PropertyType::Bool => "boolean",
            PropertyType::DateTime => "date-time",
            PropertyType::StringCollection => "string collection",
            PropertyType::AssignedPlans => "assigned-plans collection",
            PropertyType::MemberOf => "memberOf collection",
        }
    }
}

/// One documented property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyInfo {
    /// The object the property belongs to.
    pub object: ObjectKind,
    /// The documented spelling, used by the canonical printer.
    pub name: &'static str,
    /// The property's type.
    pub ty: PropertyType,
}

/// Index of a documented property in [`PROPERTIES`]; dense, so tables can index columns by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropertyId(pub u16);

impl PropertyId {
    /// The property's entry in [`PROPERTIES`].
    pub fn info(self) -> &'static PropertyInfo {
        &PROPERTIES[usize::from(self.0)]
    }
}

macro_rules! properties {
    ($( $object:ident $ty:ident $name:literal; )*) => {
        /// Every property the service documents for rules (Microsoft Learn, "Dynamic membership
        /// rules for groups", property tables for users and devices).
        pub const PROPERTIES: &[PropertyInfo] = &[
            $( PropertyInfo { object: ObjectKind::$object, name: $name, ty: PropertyType::$ty }, )*
        ];
    };
}

properties! {
    User Bool "accountEnabled";
    User Bool "dirSyncEnabled";
    User DateTime "employeeHireDate";
    User String "city";
    User String "country";
    User String "companyName";
    User String "department";
    User String "displayName";
    User String "employeeId";
    User String "facsimileTelephoneNumber";
    User String "givenName";
    User String "jobTitle";
    User String "mail";
    User String "mailNickname";
    User String "mobile";
    User String "objectId";
    User String "onPremisesDistinguishedName";
    User String "onPremisesSecurityIdentifier";
    User String "passwordPolicies";
    User String "physicalDeliveryOfficeName";
    User String "postalCode";
    User String "preferredLanguage";
    User String "sipProxyAddress";
    User String "state";
    User String "streetAddress";
    User String "surname";
    User String "telephoneNumber";
    User String "usageLocation";
    User String "userPrincipalName";
    User String "userType";
    User String "extensionAttribute1";
    User String "extensionAttribute2";
    User String "extensionAttribute3";
    User String "extensionAttribute4";
    User String "extensionAttribute5";
    User String "extensionAttribute6";
    User String "extensionAttribute7";
    User String "extensionAttribute8";
    User String "extensionAttribute9";
    User String "extensionAttribute10";
    User String "extensionAttribute11";
    User String "extensionAttribute12";
    User String "extensionAttribute13";
    User String "extensionAttribute14";
    User String "extensionAttribute15";
    User StringCollection "otherMails";
    User StringCollection "proxyAddresses";
    User AssignedPlans "assignedPlans";
    User MemberOf "memberOf";
    Device Bool "accountEnabled";
    Device Bool "isRooted";
    Device String "deviceCategory";
    Device String "deviceId";
    Device String "deviceManagementAppId";
    Device String "deviceManufacturer";
    Device String "deviceModel";
    Device String "displayName";
    Device String "deviceOSType";
    Device String "deviceOSVersion";
    Device String "deviceOwnership";
    Device String "deviceTrustType";
    Device String "enrollmentProfileName";
    Device String "managementType";
    Device String "objectId";
    Device String "profileType";
    Device String "extensionAttribute1";
    Device String "extensionAttribute2";
    Device String "extensionAttribute3";
    Device String "extensionAttribute4";
    Device String "extensionAttribute5";
    Device String "extensionAttribute6";
    Device String "extensionAttribute7";
    Device String "extensionAttribute8";
    Device String "extensionAttribute9";
    Device String "extensionAttribute10";
    Device String "extensionAttribute11";
    Device String "extensionAttribute12";
    Device String "extensionAttribute13";
    Device String "extensionAttribute14";
    Device String "extensionAttribute15";
    Device StringCollection "devicePhysicalIds";
    Device StringCollection "systemLabels";
    Device MemberOf "memberOf";
}

/// A property as a rule names it: a documented one, or a directory extension
/// `extension_<appId>_<name>` (user rules only, string-valued).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PropertyName {
    /// A documented property.
    Known(PropertyId),
    /// A directory extension property. Both parts are stored lowercase: property names are
    /// matched case-insensitively, so the canonical form lowercases them.
    Extension {
        /// The application id without hyphens (32 hexadecimal digits).
        app_id: String,
        /// The attribute name.
        name: String,
    },
}

impl PropertyName {
    /// The property's type (extensions are strings: multi-valued extensions are not supported).
    pub fn ty(&self) -> PropertyType {
        match self {
            PropertyName::Known(id) => id.info().ty,
            PropertyName::Extension { .. } => PropertyType::String,
        }
    }
}

impl fmt::Display for PropertyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyName::Known(id) => f.write_str(id.info().name),
            PropertyName::Extension { app_id, name } => write!(f, "extension_{app_id}_{name}"),
        }
    }
}

/// Finds a documented property of `object` by name, ignoring case (the docs' own examples mix
/// `objectid`/`objectId` and `employeehiredate`; see the grammar notes §2.2).
pub fn lookup(object: ObjectKind, name: &str) -> Option<PropertyId> {
    PROPERTIES
        .iter()
        .position(|info| info.object == object && info.name.eq_ignore_ascii_case(name))
        .and_then(|index| u16::try_from(index).ok())
        .map(PropertyId)
}

/// Why an `extension_…` name is not a valid extension property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionProblem {
    /// The application id part is not 32 hexadecimal digits.
    BadAppId,
    /// The attribute name is empty, starts with `_` or has characters other than letters, digits
    /// and `_`.
    BadName,
}

/// Parses `extension_<appId>_<name>` (case-insensitive). `Ok(None)` when `name` does not start
/// with `extension_` at all.
pub fn parse_extension(name: &str) -> Result<Option<PropertyName>, ExtensionProblem> {
    let Some(prefix) = name.get(..10) else {
        return Ok(None);
    };
    if !prefix.eq_ignore_ascii_case("extension_") {
        return Ok(None);
    }
    let rest = &name[10..];
    let app_id = rest.get(..32).ok_or(ExtensionProblem::BadAppId)?;
    if !app_id.bytes().all(|byte| byte.is_ascii_hexdigit())
        || rest.as_bytes().get(32) != Some(&b'_')
    {
        return Err(ExtensionProblem::BadAppId);
    }
    let attribute = &rest[33..];
    let valid = attribute
        .bytes()
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric())
        && attribute
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
    if !valid {
        return Err(ExtensionProblem::BadName);
    }
    Ok(Some(PropertyName::Extension {
        app_id: app_id.to_ascii_lowercase(),
        name: attribute.to_ascii_lowercase(),
    }))
}

/// A suggestion for an unknown property name: the documented replacement for names from Graph,
/// Intune filters and Conditional Access filters, or the closest documented name.
pub fn suggest(object: ObjectKind, name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let known = match (object, lower.as_str()) {
        (ObjectKind::User, "manager") => {
            return Some(
                "rules have no `manager` property; use the whole-rule form `Direct Reports for \"<manager object id>\"`"
                    .to_string(),
            )
        }
        (ObjectKind::User, "officelocation") => Some("physicalDeliveryOfficeName"),
        (ObjectKind::User, "company") => Some("companyName"),
        (_, "transitivememberof") => Some("memberOf"),
        (ObjectKind::Device, "manufacturer") => Some("deviceManufacturer"),
        (ObjectKind::Device, "model") => Some("deviceModel"),
        (ObjectKind::Device, "osversion") => Some("deviceOSVersion"),
        (ObjectKind::Device, "ostype" | "operatingsystem") => Some("deviceOSType"),
        (ObjectKind::Device, "trusttype") => Some("deviceTrustType"),
        (ObjectKind::Device, "deviceownership" | "ownership") => Some("deviceOwnership"),
        (ObjectKind::Device, "organizationalunit") => {
            return Some(
                "`organizationalUnit` is no longer supported: the service adds no devices based on it"
                    .to_string(),
            )
        }
        _ => None,
    };
    let prefix = object.prefix();
    if let Some(known) = known {
        return Some(format!("did you mean `{prefix}.{known}`?"));
    }
    let names = PROPERTIES
        .iter()
        .filter(|info| info.object == object)
        .map(|info| info.name);
    let best = crate::diag::did_you_mean(name, names, 1)
        .into_iter()
        .next()?;
    Some(format!("did you mean `{prefix}.{best}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case() {
        let id = lookup(ObjectKind::User, "EMPLOYEEHIREDATE").unwrap();
        assert_eq!(id.info().name, "employeeHireDate");
        assert_eq!(id.info().ty, PropertyType::DateTime);
        assert!(lookup(ObjectKind::User, "deviceModel").is_none());
        assert!(lookup(ObjectKind::Device, "deviceModel").is_some());
    }

    #[test]
    fn extension_names() {
        let parsed = parse_extension("extension_C272A57B722D4EB29BFE327874AE79CB_OfficeNumber");
        assert_eq!(
            parsed,
            Ok(Some(PropertyName::Extension {
                app_id: "c272a57b722d4eb29bfe327874ae79cb".into(),
                name: "officenumber".into()
            }))
        );
        assert_eq!(parse_extension("department"), Ok(None));
        assert_eq!(
            parse_extension("extension_c272a57b722d4eb29bfe327874ae79cb__OfficeNumber"),
            Err(ExtensionProblem::BadName)
        );
        assert_eq!(
            parse_extension("extension_1234_name"),
            Err(ExtensionProblem::BadAppId)
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest(ObjectKind::User, "departmnt").as_deref(),
            Some("did you mean `user.department`?")
        );
        assert_eq!(
            suggest(ObjectKind::User, "officeLocation").as_deref(),
            Some("did you mean `user.physicalDeliveryOfficeName`?")
        );
        assert_eq!(
            suggest(ObjectKind::Device, "osVersion").as_deref(),
            Some("did you mean `device.deviceOSVersion`?")
        );
        assert_eq!(suggest(ObjectKind::User, "zzzzzzzzzzzzzzzzzzzzzzz"), None);
    }

    #[test]
    fn ids_fit_in_u16() {
        assert!(PROPERTIES.len() < usize::from(u16::MAX));
    }
}
