//! The closed list of diagnostic codes. Codes are part of seatplan's contract: they appear in JSON
//! output, in the README table and as `seatplan::<code>` in rendered diagnostics.

use serde::Serialize;

/// How serious a diagnostic is: errors reject the input or the plan, warnings and notes inform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Rejects the input or plan (exit code 1).
    Error,
    /// Worth a look; does not reject.
    Warning,
    /// Information.
    Note,
}

impl Severity {
    /// The lowercase name used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, $severity:ident, $description:literal; )*) => {
        /// A diagnostic code. `as_str` gives the stable kebab-case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in the order of the README table.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable kebab-case name (`license-loss`).
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            /// The severity a diagnostic with this code has unless a check says otherwise.
            pub fn default_severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$severity, )* }
            }

            /// One line saying when the code is reported (the README table's text).
            pub fn description(self) -> &'static str {
                match self { $( Code::$variant => $description, )* }
            }

            /// Finds a code by its kebab-case name.
            pub fn from_name(name: &str) -> Option<Code> {
                match name { $( $name => Some(Code::$variant), )* _ => None }
            }
        }
    };
}

codes! {
    /// The command line is not valid.
    Usage => "usage", Error, "the command line is not valid: an unknown command or option, a missing or empty value, options that exclude each other";
    /// A file or directory could not be read.
    Io => "io", Error, "a file or directory could not be read";
    /// An input is larger than seatplan accepts.
    TooLarge => "too-large", Error, "an input file, document or value is larger than the limit";
    /// A path names a directory, FIFO, device or socket where a regular file is needed.
    NotAFile => "not-a-file", Error, "a path names a directory, FIFO (named pipe), device or socket where seatplan needs a regular file";
    /// A config's backend file is outside the config's directory.
    BackendPath => "backend-path", Error, "a config's `backend: { file }` is absolute or leads out of the config's directory (pass such a path with --state)";
    /// A symbolic link seatplan does not follow.
    Symlink => "symlink", Error, "a lock, audit, backup or temporary file, a state file being applied to, or a config directory entry is a symbolic link seatplan does not follow";
    /// An input is not UTF-8 text or contains NUL bytes.
    Encoding => "encoding", Error, "an input is not UTF-8 text, or contains a NUL byte";
    /// YAML syntax error.
    YamlSyntax => "yaml-syntax", Error, "the YAML is not well-formed (tabs for indentation, bad quoting, …)";
    /// JSON syntax error.
    JsonSyntax => "json-syntax", Error, "a JSON file is not well-formed";
    /// A mapping has the same key twice.
    DuplicateKey => "duplicate-key", Error, "a mapping has the same key twice (YAML would silently keep the last)";
    /// Nesting, alias or document-count limits of the YAML pass.
    YamlLimit => "yaml-limit", Error, "nesting too deep, aliases expanding too much, or more than one document";
    /// A YAML tag other than `!!str`.
    YamlTag => "yaml-tag", Error, "a YAML tag (`!!binary`, `!!python/object`, `!custom`) is used; seatplan's files hold plain data (only `!!str` is accepted)";
    /// A mapping key is null.
    NullKey => "null-key", Error, "a mapping key is null (`~`, `null` or nothing before the colon)";
    /// A document does not match its JSON schema.
    Schema => "schema", Error, "a field has the wrong type or name, or a required field is missing";
    /// A config key looks like a credential.
    CredentialInConfig => "credential-in-config", Error, "a config key looks like a credential (`client_secret`, `password`, `certificate`, `private_key`); its value is hidden from every snippet";
    /// A file could not be written.
    Write => "write", Error, "an output file could not be written";
    /// The config's `version` is not one seatplan understands.
    UnsupportedVersion => "unsupported-version", Error, "the file's `version` is not supported by this seatplan";
    /// A group or user is defined in two config files.
    DuplicateDefinition => "duplicate-definition", Error, "a group or user is defined in two config files";
    /// A group has both `rule` and `members`.
    RuleWithMembers => "rule-with-members", Error, "a group has both `rule` (dynamic) and `members` (static)";
    /// A group to delete also sets what a deletion ignores.
    AbsentWithSettings => "absent-with-settings", Error, "a group with `ensure: absent` also sets `members`, `rule`, `rule_processing` or `licenses`, which its deletion would ignore";
    /// A group or user lists one product twice under `licenses`.
    DuplicateLicense => "duplicate-license", Error, "a group or user lists the same product twice under `licenses` (by part number, GUID or name): an assignment holds each product once, with one set of disabled plans";
    /// A license has both `disabled_plans` and `enabled_plans`.
    PlanListConflict => "plan-list-conflict", Error, "a license sets both `disabled_plans` and `enabled_plans`";
    /// The tenant state refers to something that does not exist, or names something twice.
    TenantReference => "tenant-reference", Error, "the tenant state refers to a user, group or product that does not exist, or names one twice";
    /// An id that names an Entra object is not a GUID: of the tenant state (tenant, user, group,
    /// member, subscription skuId), of a Graph response's object, or a config member that is not
    /// a UPN (where GUIDs are required is listed in [`crate::guid`]).
    TenantIdFormat => "tenant-id-format", Error, "an id that must be a GUID is not one: a tenant, user, group, member or skuId of the tenant state, an object of a Graph response, or a config `members` entry that is not a UPN";
    /// A config group matches no tenant group by id, or several by name; or a member group
    /// cannot be found, is the group itself, or is deleted by the config.
    GroupReference => "group-reference", Error, "a group's `id` matches no tenant group, or its name matches several; a member group is unknown, ambiguous, the group itself, or deleted";
    /// A command-line group name matches no group of the tenant state, or several.
    UnknownGroup => "unknown-group", Error, "a group named on the command line (`reprocess --group`) is not in the tenant state, or several groups have that name";
    /// A config user is not a user of the tenant, or a member is neither a user nor a group.
    UserReference => "user-reference", Error, "a managed user is not a user of the tenant, or a static member is neither a user nor a group of it";
    /// A name or id is empty, too long, or contains control characters.
    InvalidName => "invalid-name", Error, "a group name, user id or UPN is empty, too long, or contains control characters";
    /// A usage location is not an ISO 3166-1 alpha-2 country code.
    InvalidUsageLocation => "invalid-usage-location", Error, "a usage location is not an ISO 3166-1 alpha-2 country code";
    /// A Graph response lacks a property seatplan needs.
    GraphMissingField => "graph-missing-field", Error, "an object of a Graph response lacks a property seatplan needs (`id`, `userPrincipalName`, `skuId`, …)";
    /// A Graph response property has the wrong shape or an unknown value.
    GraphInvalidValue => "graph-invalid-value", Error, "a property of a Graph response has the wrong type or an unknown value";
    /// The pages or files of a Graph export do not fit together.
    GraphInconsistentExport => "graph-inconsistent-export", Error, "a Graph export is incomplete: a missing file or page, or a reference to a group it does not list";
    /// A Graph object is listed twice.
    GraphDuplicateObject => "graph-duplicate-object", Error, "a user, group or subscribed SKU appears twice in Graph responses";
    /// A file in a Graph export directory is not part of the layout.
    GraphUnknownFile => "graph-unknown-file", Warning, "a file in a Graph export directory is not part of the export layout and was ignored";
    /// Authentication against the Microsoft identity platform failed.
    GraphAuth => "graph-auth", Error, "no Graph credentials, or the identity platform refused them";
    /// A Graph request failed.
    GraphRequest => "graph-request", Error, "a Graph request failed (network, throttling past the retry limit, or an error response)";
    /// A license names a product the catalog does not know.
    UnknownSku => "unknown-sku", Error, "a license names a product (SKU) that is not in the catalog";
    /// A product name matches several products.
    AmbiguousSku => "ambiguous-sku", Error, "a skuPartNumber or display name matches several products; use the product GUID";
    /// A service plan name the catalog does not know.
    UnknownPlan => "unknown-plan", Error, "a service plan name is not in the catalog";
    /// A license lists a plan its product does not contain.
    PlanNotInProduct => "plan-not-in-product", Error, "`disabled_plans` or `enabled_plans` names a plan the product does not contain";
    /// Catalog additions or relation data contradict themselves.
    InvalidCatalog => "invalid-catalog", Error, "catalog data is inconsistent: a plan conflicting with itself, a `supersedes` cycle, a duplicate product or plan";
    /// Users lose service plans they have today.
    LicenseLoss => "license-loss", Error, "users would lose service plans they have today (upgrades through `supersedes` excepted); allowed per group or with --allow-license-loss";
    /// A removal leaves a dependent plan without any prerequisite.
    DependencyBreak => "dependency-break", Error, "a removal leaves a dependent plan without any prerequisite (the service records DependencyViolation)";
    /// A group enables an add-on without its prerequisite in the same group.
    GroupMissingPrerequisite => "group-missing-prerequisite", Error, "a group enables an add-on without one of its prerequisites in the same group";
    /// The change creates conflicting plans for users.
    MutuallyExclusive => "mutually-exclusive", Error, "the change gives users plans that conflict with plans they have (MutuallyExclusiveViolation)";
    /// The change needs more seats than bought.
    SeatShortage => "seat-shortage", Error, "the change needs more seats than are enabled (CountViolation), with the shortfall";
    /// The change assigns a plan not available in a user's location.
    UsageLocation => "usage-location", Error, "the change assigns a plan not available in a user's usage location, or moves a user to a location where a plan they keep is not available";
    /// The change creates a UniquenessViolation.
    ProxyAddressConflict => "proxy-address-conflict", Error, "the change licenses Exchange for users who share a proxy address (UniquenessViolation)";
    /// A static group becomes dynamic.
    StaticToDynamic => "static-to-dynamic", Error, "a static group becomes dynamic: its members lose its licenses until the rule is processed";
    /// A deleted group's license removal would break dependencies.
    LicensedGroupDelete => "licensed-group-delete", Error, "`ensure: absent` on a group whose license removal would break dependencies";
    /// Licenses on a group that is not a security group.
    NonSecurityGroup => "non-security-group", Error, "licenses on a group with `security_enabled: false`";
    /// More removals than `max_license_removals`.
    RemovalThreshold => "removal-threshold", Error, "the plan removes more licenses than `max_license_removals` allows, counting users who lose a service plan with them (override: --force)";
    /// A licensed group has group members.
    NestedGroup => "nested-group", Warning, "a licensed group has group members; their members receive nothing";
    /// Users are in error already.
    ExistingErrors => "existing-errors", Warning, "users are already in a licensing error state before the change";
    /// A change would let recorded errors succeed, but only a reprocess retries them.
    NeedsReprocess => "needs-reprocess", Warning, "users in error would succeed if reprocessed after the change; the service does not retry by itself";
    /// A rule on `user.assignedPlans` moves users after the plan's licensing changes.
    LicenseCascade => "license-cascade", Warning, "a dynamic group's rule reads `user.assignedPlans` and the plan changes those plans: the service moves users into or out of the group (and its licenses) afterwards";
    /// Rules read `user.assignedPlans` and the state records none for licensed users.
    AssignedPlansUnknown => "assigned-plans-unknown", Warning, "rules read `user.assignedPlans`, but the tenant state records none for users who hold licenses: those rules see them without plans (`pull --graph` records them)";
    /// Removals run ahead of the additions so that a direct assignment is not refused.
    StepsReordered => "steps-reordered", Note, "a removal runs ahead of the additions: it frees the seat a direct assignment or a joining member needs, from a user who ends without it anyway (the steps show the order)";
    /// Seats of a subscription are in their grace period.
    SubscriptionInGrace => "subscription-in-grace", Warning, "seats of a product are in their grace period (`prepaidUnits.warning`): assignable until the subscription is disabled";
    /// Graph's consumed seats differ from the engine's count.
    SeatCountDrift => "seat-count-drift", Warning, "Graph's `consumedUnits` differs from the seats the engine counts for the current tenant";
    /// Licensed groups not in the config.
    UnmanagedGroup => "unmanaged-group", Note, "licensed tenant groups are absent from the config (read, never changed)";
    /// `seatplan fmt` would change a file's content, or `--check` found files to format.
    Format => "format", Error, "`seatplan fmt` cannot lay out a file without changing its content (nothing is written), or `fmt --check` found files that are not formatted";
    /// A group key has surrounding whitespace or differs only in case from a tenant group.
    GroupNameLookalike => "group-name-lookalike", Warning, "a group key has leading or trailing whitespace, or differs only in case from a tenant group's name (a new group would be created beside it), or renames a group pinned by `id:` to another group's name";
    /// A membership rule is not well-formed.
    RuleSyntax => "rule-syntax", Error, "a membership rule is not well-formed (missing operator, whitespace or quotes, unexpected token)";
    /// A membership rule has an unmatched parenthesis or bracket.
    RuleUnbalancedParens => "rule-unbalanced-parens", Error, "a membership rule has an unmatched `(`, `)`, `[` or `]`";
    /// A membership rule has a string without its closing quote.
    RuleUnterminatedString => "rule-unterminated-string", Error, "a string in a membership rule has no closing quote";
    /// A membership rule contains an en dash or a curly quote.
    RuleTypographicCharacter => "rule-typographic-character", Error, "a membership rule contains an en dash or curly quote copied from a document";
    /// A membership rule names a property the service does not support.
    RuleUnknownProperty => "rule-unknown-property", Error, "a membership rule names a property that rules cannot use";
    /// A membership rule uses an operator that the property's type does not allow.
    RuleUnsupportedOperator => "rule-unsupported-operator", Error, "an operator is not allowed for the property's type";
    /// A membership rule compares a property with a value of the wrong kind.
    RuleInvalidValue => "rule-invalid-value", Error, "a value does not fit the property or operator (array with -eq, quoted boolean, bad date)";
    /// A `-match` pattern is not a valid regular expression.
    RuleInvalidRegex => "rule-invalid-regex", Error, "a -match or -notMatch pattern is not a valid regular expression";
    /// A `-match` pattern uses a .NET-only construct seatplan cannot evaluate.
    RuleUnsupportedRegex => "rule-unsupported-regex", Error, "a -match pattern uses a .NET-only construct (lookaround, backreference) that seatplan cannot evaluate";
    /// A whole-rule form is combined with other expressions, or a lambda is malformed.
    RuleInvalidForm => "rule-invalid-form", Error, "Direct Reports, memberOf or -any/-all used in a shape the service rejects";
    /// A membership rule is longer than the service accepts.
    RuleTooLong => "rule-too-long", Error, "a membership rule is longer than 3,072 characters";
    /// A membership rule nests parentheses or `-not` too deeply.
    RuleTooDeep => "rule-too-deep", Error, "a membership rule nests parentheses or -not deeper than seatplan accepts";
    /// A device rule on a group seatplan licenses.
    RuleDeviceRule => "rule-device-rule", Error, "a group's rule selects devices; licenses are assigned to users only";
    /// A dynamic group's recorded members differ from its rule's result.
    MembershipPending => "membership-pending", Warning, "a dynamic group's recorded members differ from what its rule selects (processing pending or failed), or a paused group's edited rule would move members once processing is on";
    /// A plan file cannot be used.
    PlanFile => "plan-file", Error, "a plan file is not valid JSON, was edited, or has an unknown `format_version`";
    /// Another apply holds the state file's lock.
    StateLocked => "state-locked", Error, "another apply holds the state file's lock (or left it behind on another host); the message names its pid and age";
    /// The lock file holds something seatplan did not write.
    ForeignLockFile => "foreign-lock-file", Error, "the state's lock file holds something other than a seatplan lock record; seatplan does not take it over";
    /// A killed apply left its lock file behind; the lock was taken over.
    StaleLock => "stale-lock", Warning, "a previous apply was killed while holding the state file's lock; seatplan took the lock over and says how far that apply got";
    /// The audit log holds an apply without its outcome.
    UnfinishedApply => "unfinished-apply", Warning, "the audit log holds the records of an apply without its outcome (killed, or its outcome could not be written); seatplan says whether its changes were made and records that";
    /// The state file changed between reading and writing it.
    StateChanged => "state-changed", Error, "the state file changed after seatplan read it (another writer); nothing was written";
    /// A saved plan no longer matches the tenant or config.
    StalePlan => "stale-plan", Error, "a saved plan was made against another tenant state or config than the current one";
    /// apply without approval and without a terminal.
    ApprovalRequired => "approval-required", Error, "`apply` without a plan file needs --auto-approve when there is no terminal to ask on";
    /// Plans enabled only because Microsoft added them to a product.
    NewPlansEnabled => "new-plans-enabled", Warning, "plans are enabled only because Microsoft added them to the product (groups using `disabled_plans`)";
    /// The config's tenant facts contradict the tenant.
    TenantMismatch => "tenant-mismatch", Error, "the config's `tenant` section contradicts the tenant (its usage location is the organization's country)";
}
