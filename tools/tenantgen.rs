//! A deterministic generator of large, realistic tenants for benchmarks: users with departments,
//! countries, cities, job titles, extension attributes and proxy addresses; licensed groups, half
//! dynamic (rules of the shapes real tenants use) and half static; products from the built-in
//! catalog with seat counts; `license_states` as the engine computes them, so that a plan of the
//! matching config shows no changes. Used by the `generate-tenant` example and by the benchmarks;
//! never shipped in the `seatplan` binary.
//!
//! Two shapes ([`Shape`]): the default records every license state and keeps its static groups
//! small; [`Shape::Unrecorded`] records none (a tenant exported without them, or seen for the
//! first time), puts large static member lists in the config and writes only `-eq`, `-in`,
//! `-startsWith` and `-and` rules, over lighter users whose UPNs are in mixed case.
//!
//! Every dynamic rule is built from a small condition tree that is both printed as rule text and
//! evaluated here, over the same attribute values the users were generated with; the generator's
//! matching stays simple (case-insensitive equality, prefix, substring, and regular expressions
//! over digits), so the recorded members are what the rule selects.
//!
//! [`graph_export`] answers a generated state as Graph's responses, for measuring the mapping of
//! Graph pages against loading the same tenant from a state file.

use indexmap::IndexMap;
use regex::Regex;
use seatplan::catalog::Catalog;
use seatplan::config::{Config, Ensure, GroupSpec, MemberSpec, TenantSettings};
use seatplan::engine::{memory::ServiceMemory, Outcome};
use seatplan::source::SourceId;
use seatplan::tenant::graph_import::{GraphExport, GraphPage};
use seatplan::tenant::index::{self, Source, UserIdx};
use seatplan::tenant::model::{
    AssignedLicense, AttributeValue, Attributes, GroupState, LicenseState, Subscription,
    TenantInfo, TenantState, UserState,
};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Params {
    /// Number of users.
    pub users: usize,
    /// Number of licensed groups.
    pub groups: usize,
    /// Number of products (2 to 20), taken from [`PRODUCTS`] in order.
    pub products: usize,
    /// Share of the groups that are dynamic, in percent.
    pub dynamic_percent: u32,
    /// Seed of the pseudo-random generator.
    pub seed: u64,
    /// What kind of tenant.
    pub shape: Shape,
}

/// The kind of tenant generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Shape {
    /// Every assignment's license state recorded (what the engine computes), static groups
    /// holding about a quarter of the users between them, the full range of rule operators
    /// (`-eq`, `-in`, `-or`, `-not`, `-startsWith`, `-contains`, `-match`, `-any`).
    #[default]
    Recorded,
    /// No recorded license states; static groups whose member lists (in the config) add up to
    /// about 60 % of the users; dynamic rules of `-eq`, `-in` and `-startsWith` joined by `-and`;
    /// users with seven attributes and one proxy address, UPNs such as `Ann.Smith.12@contoso.com`.
    Unrecorded,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            users: 10_000,
            groups: 2_000,
            products: 20,
            dynamic_percent: 50,
            seed: 8,
            shape: Shape::Recorded,
        }
    }
}

/// A generated tenant with its matching config and three variants of it.
pub struct Generated {
    /// The tenant state, `license_states` included.
    pub state: TenantState,
    /// The config that manages every licensed group as it is (a plan shows no changes).
    pub config: Config,
    /// Edited configs: (file stem, what changed, config).
    pub variants: Vec<(&'static str, String, Config)>,
}

/// Products in the order they are taken: base suites first, then add-ons.
pub const PRODUCTS: [&str; 20] = [
    "ENTERPRISEPACK",
    "STANDARDPACK",
    "SPE_E3",
    "SPE_E5",
    "DESKLESSPACK",
    "ENTERPRISEPREMIUM",
    "EMS",
    "POWER_BI_PRO",
    "MCOMEETADV",
    "WORKPLACE_ANALYTICS",
    "EMSPREMIUM",
    "VISIOCLIENT",
    "PROJECTPROFESSIONAL",
    "MCOEV",
    "AAD_PREMIUM_P2",
    "ATP_ENTERPRISE",
    "INTUNE_A",
    "FLOW_FREE",
    "POWER_BI_STANDARD",
    "MCOPSTN1",
];

/// How many of [`PRODUCTS`] are base suites (a user is meant to hold one of them).
const BASE_PRODUCTS: usize = 6;

const DEPARTMENTS: [&str; 40] = [
    "Sales",
    "Marketing",
    "Finance",
    "Human Resources",
    "Engineering",
    "Research",
    "Legal",
    "Procurement",
    "Logistics",
    "Customer Service",
    "Information Technology",
    "Operations",
    "Manufacturing",
    "Quality Assurance",
    "Facilities",
    "Communications",
    "Treasury",
    "Internal Audit",
    "Risk",
    "Compliance",
    "Product Management",
    "Design",
    "Data Science",
    "Security",
    "Field Service",
    "Retail",
    "Wholesale",
    "Partnerships",
    "Training",
    "Executive Office",
    "Strategy",
    "Tax",
    "Payroll",
    "Real Estate",
    "Sustainability",
    "Public Affairs",
    "Investor Relations",
    "Supply Chain",
    "Clinical",
    "Support",
];

/// Countries: (Graph `country` value, ISO code for the usage location, cities).
const COUNTRIES: [(&str, &str, [&str; 3]); 40] = [
    ("United States", "US", ["Seattle", "New York", "Austin"]),
    ("Canada", "CA", ["Toronto", "Vancouver", "Montreal"]),
    ("Germany", "DE", ["Hamburg", "Munich", "Berlin"]),
    ("Austria", "AT", ["Vienna", "Graz", "Salzburg"]),
    ("France", "FR", ["Paris", "Lyon", "Strasbourg"]),
    ("Belgium", "BE", ["Brussels", "Antwerp", "Ghent"]),
    ("Netherlands", "NL", ["Amsterdam", "Rotterdam", "Utrecht"]),
    (
        "Luxembourg",
        "LU",
        ["Luxembourg", "Esch-sur-Alzette", "Differdange"],
    ),
    (
        "United Kingdom",
        "GB",
        ["London", "Manchester", "Edinburgh"],
    ),
    ("Ireland", "IE", ["Dublin", "Cork", "Galway"]),
    ("Spain", "ES", ["Madrid", "Barcelona", "Valencia"]),
    ("Portugal", "PT", ["Lisbon", "Porto", "Braga"]),
    ("Italy", "IT", ["Milan", "Rome", "Turin"]),
    ("Switzerland", "CH", ["Zurich", "Geneva", "Basel"]),
    ("Sweden", "SE", ["Stockholm", "Gothenburg", "Malmo"]),
    ("Norway", "NO", ["Oslo", "Bergen", "Trondheim"]),
    ("Denmark", "DK", ["Copenhagen", "Aarhus", "Odense"]),
    ("Finland", "FI", ["Helsinki", "Espoo", "Tampere"]),
    ("Poland", "PL", ["Warsaw", "Krakow", "Wroclaw"]),
    ("Czechia", "CZ", ["Prague", "Brno", "Ostrava"]),
    ("Hungary", "HU", ["Budapest", "Debrecen", "Szeged"]),
    ("Romania", "RO", ["Bucharest", "Cluj-Napoca", "Iasi"]),
    ("Greece", "GR", ["Athens", "Thessaloniki", "Patras"]),
    ("Turkey", "TR", ["Istanbul", "Ankara", "Izmir"]),
    ("Israel", "IL", ["Tel Aviv", "Haifa", "Jerusalem"]),
    (
        "United Arab Emirates",
        "AE",
        ["Dubai", "Abu Dhabi", "Sharjah"],
    ),
    ("India", "IN", ["Bengaluru", "Hyderabad", "Pune"]),
    ("Singapore", "SG", ["Singapore", "Jurong", "Woodlands"]),
    ("Japan", "JP", ["Tokyo", "Osaka", "Nagoya"]),
    ("South Korea", "KR", ["Seoul", "Busan", "Incheon"]),
    ("Australia", "AU", ["Sydney", "Melbourne", "Brisbane"]),
    (
        "New Zealand",
        "NZ",
        ["Auckland", "Wellington", "Christchurch"],
    ),
    ("Brazil", "BR", ["Sao Paulo", "Rio de Janeiro", "Curitiba"]),
    ("Mexico", "MX", ["Mexico City", "Guadalajara", "Monterrey"]),
    ("Argentina", "AR", ["Buenos Aires", "Cordoba", "Rosario"]),
    ("Chile", "CL", ["Santiago", "Valparaiso", "Concepcion"]),
    ("Colombia", "CO", ["Bogota", "Medellin", "Cali"]),
    (
        "South Africa",
        "ZA",
        ["Johannesburg", "Cape Town", "Durban"],
    ),
    ("Nigeria", "NG", ["Lagos", "Abuja", "Ibadan"]),
    ("Kenya", "KE", ["Nairobi", "Mombasa", "Kisumu"]),
];

const TITLE_LEVELS: [&str; 6] = ["Junior", "Senior", "Lead", "Principal", "Intern", "Head of"];
const TITLE_ROLES: [&str; 8] = [
    "Analyst",
    "Engineer",
    "Manager",
    "Consultant",
    "Specialist",
    "Coordinator",
    "Architect",
    "Administrator",
];
const FIRST_NAMES: [&str; 24] = [
    "ann", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken",
    "lena", "mallory", "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "ursula",
    "victor", "wendy", "yusuf",
];
const LAST_NAMES: [&str; 20] = [
    "smith", "mueller", "garcia", "rossi", "dubois", "novak", "kowalski", "silva", "tanaka", "kim",
    "okafor", "singh", "jensen", "murphy", "nagy", "popescu", "cohen", "haddad", "lopez", "brown",
];
/// Mail domains of subsidiaries: some users have an alias in one of them.
const SUBSIDIARIES: usize = 50;
const DOMAIN: &str = "contoso.com";

/// A small seeded generator (SplitMix64): fast, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`).
    pub fn below(&mut self, bound: usize) -> usize {
        ((self.next() >> 11) % bound as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    /// A GUID-shaped string.
    pub fn guid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

/// A condition of a dynamic rule, printed as Entra rule text and evaluated by the generator.
#[derive(Debug, Clone)]
pub enum Cond {
    /// `user.<attr> -eq "<value>"`.
    Eq(&'static str, String),
    /// `user.<attr> -eq true|false`.
    Bool(&'static str, bool),
    /// `user.<attr> -in ["a","b"]`.
    In(&'static str, Vec<String>),
    /// `user.<attr> -startsWith "<prefix>"`.
    StartsWith(&'static str, String),
    /// `user.<attr> -contains "<part>"`.
    Contains(&'static str, String),
    /// `user.<attr> -match "<pattern>"` (patterns over digits and upper-case literals).
    Match(&'static str, String),
    /// `user.proxyAddresses -any (_ -contains "<part>")`.
    AnyProxyContains(String),
    /// `-not (<cond>)`.
    Not(Box<Cond>),
    /// Conditions joined by `-and`.
    And(Vec<Cond>),
    /// Conditions joined by `-or`.
    Or(Vec<Cond>),
}

impl Cond {
    /// The rule text.
    pub fn text(&self) -> String {
        match self {
            Cond::Eq(attr, value) => format!("(user.{attr} -eq \"{value}\")"),
            Cond::Bool(attr, value) => format!("(user.{attr} -eq {value})"),
            Cond::In(attr, values) => {
                let list: Vec<String> = values.iter().map(|value| format!("\"{value}\"")).collect();
                format!("(user.{attr} -in [{}])", list.join(","))
            }
            Cond::StartsWith(attr, value) => format!("(user.{attr} -startsWith \"{value}\")"),
            Cond::Contains(attr, value) => format!("(user.{attr} -contains \"{value}\")"),
            Cond::Match(attr, pattern) => format!("(user.{attr} -match \"{pattern}\")"),
            Cond::AnyProxyContains(part) => {
                format!("(user.proxyAddresses -any (_ -contains \"{part}\"))")
            }
            Cond::Not(inner) => format!("-not {}", inner.text()),
            Cond::And(parts) => join(parts, " -and "),
            Cond::Or(parts) => format!("({})", join(parts, " -or ")),
        }
    }

    /// Whether `user` satisfies the condition. `regexes` holds the compiled `-match` patterns in
    /// the order [`Cond::patterns`] lists them.
    fn eval(&self, user: &UserState, regexes: &[(String, Regex)]) -> bool {
        let text = |attr: &str| match user.attributes.get(attr) {
            Some(AttributeValue::String(value)) => Some(value.as_str()),
            _ => None,
        };
        match self {
            Cond::Eq(attr, value) => {
                text(attr).is_some_and(|have| have.eq_ignore_ascii_case(value))
            }
            Cond::Bool(attr, value) => {
                matches!(user.attributes.get(attr), Some(AttributeValue::Bool(have)) if have == value)
            }
            Cond::In(attr, values) => text(attr)
                .is_some_and(|have| values.iter().any(|value| have.eq_ignore_ascii_case(value))),
            Cond::StartsWith(attr, prefix) => text(attr).is_some_and(|have| {
                have.to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
            }),
            Cond::Contains(attr, part) => text(attr).is_some_and(|have| {
                have.to_ascii_lowercase()
                    .contains(&part.to_ascii_lowercase())
            }),
            Cond::Match(attr, pattern) => {
                let regex = regexes
                    .iter()
                    .find(|(known, _)| known == pattern)
                    .map(|(_, regex)| regex);
                match (text(attr), regex) {
                    (Some(have), Some(regex)) => regex.is_match(have),
                    _ => false,
                }
            }
            Cond::AnyProxyContains(part) => user.proxy_addresses.iter().any(|address| {
                address
                    .to_ascii_lowercase()
                    .contains(&part.to_ascii_lowercase())
            }),
            Cond::Not(inner) => !inner.eval(user, regexes),
            Cond::And(parts) => parts.iter().all(|part| part.eval(user, regexes)),
            Cond::Or(parts) => parts.iter().any(|part| part.eval(user, regexes)),
        }
    }

    fn patterns(&self, out: &mut Vec<String>) {
        match self {
            Cond::Match(_, pattern) => out.push(pattern.clone()),
            Cond::Not(inner) => inner.patterns(out),
            Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|part| part.patterns(out)),
            _ => {}
        }
    }
}

fn join(parts: &[Cond], separator: &str) -> String {
    parts
        .iter()
        .map(Cond::text)
        .collect::<Vec<_>>()
        .join(separator)
}

/// Where a generated user sits: indexes into the value tables, for quick candidate selection.
struct Profile {
    department: usize,
}

/// A group before its members are known.
struct Draft {
    name: String,
    rule: Option<Cond>,
    /// For dynamic groups: the department every member has (rules are anchored on it).
    anchor: Option<usize>,
    members: Vec<usize>,
    licenses: Vec<AssignedLicense>,
}

/// Generates a tenant. Deterministic: the same parameters give the same bytes.
pub fn generate(params: &Params, catalog: &Catalog) -> Generated {
    let mut rng = Rng::new(params.seed);
    let products: Vec<&str> = PRODUCTS[..params.products.clamp(2, PRODUCTS.len())].to_vec();
    let base_count = BASE_PRODUCTS.min(products.len() - 1);
    let (users, profiles) = match params.shape {
        Shape::Recorded => generate_users(params, &mut rng),
        Shape::Unrecorded => light_users(params, &mut rng),
    };
    let mut by_department: Vec<Vec<usize>> = vec![Vec::new(); DEPARTMENTS.len()];
    for (index, profile) in profiles.iter().enumerate() {
        by_department[profile.department].push(index);
    }
    let dynamic = params.groups * params.dynamic_percent.min(100) as usize / 100;
    let mut drafts = Vec::with_capacity(params.groups);
    let base_groups = dynamic * 3 / 5;
    let unrecorded = params.shape == Shape::Unrecorded;
    for cell in 0..base_groups {
        drafts.push(base_group(
            cell,
            base_groups,
            &products[..base_count],
            params.shape,
            &mut rng,
            catalog,
        ));
    }
    for number in base_groups..dynamic {
        drafts.push(addon_group(
            number,
            &products,
            base_count,
            params.shape,
            &mut rng,
        ));
    }
    for number in dynamic..params.groups {
        let product = if rng.percent(5) {
            products[rng.below(base_count)]
        } else {
            products[base_count + rng.below(products.len() - base_count)]
        };
        // Static memberships add up to about a quarter of the users (60 % without recorded
        // states: their member lists are the bulk of the config).
        let share = if unrecorded {
            params.users * 6 / 10
        } else {
            params.users / 4
        };
        let mean = (share / (params.groups - dynamic).max(1)).max(2);
        let size = 1 + rng.below(2 * mean);
        let mut members: Vec<usize> = (0..size).map(|_| rng.below(params.users)).collect();
        members.sort_unstable();
        members.dedup();
        drafts.push(Draft {
            name: format!("Static {number:04} - {product}"),
            rule: None,
            anchor: None,
            members,
            licenses: if product == "WORKPLACE_ANALYTICS" {
                with_exchange(product)
            } else {
                group_licenses(product, &mut rng, catalog)
            },
        });
    }
    for draft in &mut drafts {
        if let (Some(rule), Some(department)) = (&draft.rule, draft.anchor) {
            let mut patterns = Vec::new();
            rule.patterns(&mut patterns);
            let regexes: Vec<(String, Regex)> = patterns
                .into_iter()
                .filter_map(|pattern| Regex::new(&pattern).ok().map(|regex| (pattern, regex)))
                .collect();
            draft.members = by_department[department]
                .iter()
                .copied()
                .filter(|&user| rule.eval(&users[user], &regexes))
                .collect();
        }
    }
    let subscriptions = seat_counts(&products, &drafts, &users, catalog, &mut rng);
    let groups: Vec<GroupState> = drafts
        .iter()
        .map(|draft| GroupState {
            id: rng.guid(),
            display_name: draft.name.clone(),
            description: None,
            security_enabled: true,
            mail_enabled: false,
            rule: draft.rule.as_ref().map(Cond::text),
            rule_processing: draft
                .rule
                .as_ref()
                .map(|_| seatplan::config::RuleProcessing::On),
            members: draft
                .members
                .iter()
                .map(|&user| users[user].upn.clone())
                .collect(),
            licenses: draft.licenses.clone(),
        })
        .collect();
    let mut state = TenantState {
        version: 1,
        tenant: TenantInfo {
            id: Some(rng.guid()),
            default_usage_location: Some("US".into()),
        },
        subscriptions,
        users,
        groups,
        delta: None,
    };
    if !unrecorded {
        record_license_states(&mut state, catalog);
    }
    let config = matching_config(&state, &drafts);
    let variants = variants(&state, &config, &drafts);
    Generated {
        state,
        config,
        variants,
    }
}

fn generate_users(params: &Params, rng: &mut Rng) -> (Vec<UserState>, Vec<Profile>) {
    let mut users = Vec::with_capacity(params.users);
    let mut profiles = Vec::with_capacity(params.users);
    for index in 0..params.users {
        let department = rng.below(DEPARTMENTS.len());
        let country = rng.below(COUNTRIES.len());
        let (country_name, iso, cities) = COUNTRIES[country];
        let first = FIRST_NAMES[rng.below(FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.below(LAST_NAMES.len())];
        let local = format!("{first}.{last}.{index}");
        let upn = format!("{local}@{DOMAIN}");
        let mut attributes = Attributes::new();
        let text = |value: String| AttributeValue::String(value.into());
        attributes.insert(
            "department".to_string(),
            text(DEPARTMENTS[department].into()),
        );
        attributes.insert("country".to_string(), text(country_name.into()));
        attributes.insert("city".to_string(), text(cities[rng.below(3)].into()));
        let title = format!(
            "{} {}",
            TITLE_LEVELS[rng.below(TITLE_LEVELS.len())],
            TITLE_ROLES[rng.below(TITLE_ROLES.len())]
        );
        attributes.insert("jobTitle".to_string(), text(title));
        attributes.insert("employeeId".to_string(), text(format!("E{:07}", index)));
        attributes.insert(
            "accountEnabled".to_string(),
            AttributeValue::Bool(!rng.percent(3)),
        );
        attributes.insert(
            "extensionAttribute1".to_string(),
            text(format!(
                "{}-{:02}",
                ["EMS", "STD", "PRJ"][rng.below(3)],
                rng.below(100)
            )),
        );
        attributes.insert(
            "extensionAttribute2".to_string(),
            text(
                ["Employee", "Contractor", "Vendor", "Partner"]
                    [[0, 0, 0, 0, 0, 0, 1, 1, 2, 3][rng.below(10)]]
                .into(),
            ),
        );
        attributes.insert(
            "extensionAttribute3".to_string(),
            text(format!("CC-{:04}", rng.below(10_000))),
        );
        attributes.insert(
            "extensionAttribute7".to_string(),
            text(format!(
                "PRJ-K{:03}-{}",
                rng.below(1000),
                2020 + rng.below(6)
            )),
        );
        for number in [4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15] {
            if rng.percent(10) {
                attributes.insert(
                    format!("extensionAttribute{number}"),
                    text(format!("X{number}-{:05}", rng.below(100_000))),
                );
            }
        }
        let mut proxy_addresses = vec![format!("SMTP:{upn}")];
        if rng.percent(30) {
            proxy_addresses.push(format!(
                "smtp:{local}@sub{:02}.{DOMAIN}",
                rng.below(SUBSIDIARIES)
            ));
        }
        if rng.percent(10) {
            proxy_addresses.push(format!("smtp:{first}{index}@{DOMAIN}"));
        }
        let licenses = direct_licenses(rng);
        users.push(UserState {
            id: rng.guid(),
            upn,
            usage_location: (!rng.percent(3)).then(|| iso.to_string()),
            attributes,
            proxy_addresses,
            assigned_plans: Vec::new(),
            licenses,
            license_states: Vec::new(),
        });
        profiles.push(Profile { department });
    }
    (users, profiles)
}

/// A user's direct licenses: Power BI Pro or Flow for 1 %, none for the others.
fn direct_licenses(rng: &mut Rng) -> Vec<AssignedLicense> {
    if rng.percent(1) {
        vec![AssignedLicense {
            sku: ["POWER_BI_PRO", "FLOW_FREE"][rng.below(2)].into(),
            disabled_plans: Vec::new(),
        }]
    } else {
        Vec::new()
    }
}

/// Users of [`Shape::Unrecorded`]: department, country, city, job title, employeeId,
/// accountEnabled (false for 3 %) and an employee type; one proxy address; a mixed-case UPN;
/// 3 % without a usage location and 1 % with a direct license, as in the other shape.
fn light_users(params: &Params, rng: &mut Rng) -> (Vec<UserState>, Vec<Profile>) {
    let capital = |name: &str| {
        let mut chars = name.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_ascii_uppercase().to_string() + chars.as_str()
        })
    };
    let mut users = Vec::with_capacity(params.users);
    let mut profiles = Vec::with_capacity(params.users);
    for index in 0..params.users {
        let department = rng.below(DEPARTMENTS.len());
        let (country_name, iso, cities) = COUNTRIES[rng.below(COUNTRIES.len())];
        let first = capital(FIRST_NAMES[rng.below(FIRST_NAMES.len())]);
        let last = capital(LAST_NAMES[rng.below(LAST_NAMES.len())]);
        let upn = format!("{first}.{last}.{index}@{DOMAIN}");
        let text = |value: &str| AttributeValue::String(value.into());
        let mut attributes = Attributes::new();
        attributes.insert("department".to_string(), text(DEPARTMENTS[department]));
        attributes.insert("country".to_string(), text(country_name));
        attributes.insert("city".to_string(), text(cities[rng.below(3)]));
        let title = format!(
            "{} {}",
            TITLE_LEVELS[rng.below(TITLE_LEVELS.len())],
            TITLE_ROLES[rng.below(TITLE_ROLES.len())]
        );
        attributes.insert("jobTitle".to_string(), text(&title));
        attributes.insert("employeeId".to_string(), text(&format!("E{:07}", index)));
        attributes.insert(
            "accountEnabled".to_string(),
            AttributeValue::Bool(!rng.percent(3)),
        );
        attributes.insert(
            "extensionAttribute2".to_string(),
            text(
                ["Employee", "Contractor", "Vendor", "Partner"]
                    [[0, 0, 0, 0, 0, 0, 1, 1, 2, 3][rng.below(10)]],
            ),
        );
        let licenses = direct_licenses(rng);
        users.push(UserState {
            id: rng.guid(),
            proxy_addresses: vec![format!("SMTP:{upn}")],
            upn,
            usage_location: (!rng.percent(3)).then(|| iso.to_string()),
            attributes,
            assigned_plans: Vec::new(),
            licenses,
            license_states: Vec::new(),
        });
        profiles.push(Profile { department });
    }
    (users, profiles)
}

/// A base group: one (department, region) cell, assigning a base suite. With `cells` base groups
/// the countries are dealt into `cells / 40` regions (1 to 20), so that the cells cover every
/// country of the departments they cover.
fn base_group(
    cell: usize,
    cells: usize,
    base: &[&str],
    shape: Shape,
    rng: &mut Rng,
    catalog: &Catalog,
) -> Draft {
    let plain = shape == Shape::Unrecorded;
    let regions = (cells / DEPARTMENTS.len()).clamp(1, COUNTRIES.len() / 2);
    let department = cell % DEPARTMENTS.len();
    let region = (cell / DEPARTMENTS.len()) % regions;
    let round = cell / (DEPARTMENTS.len() * regions);
    let countries: Vec<&str> = COUNTRIES
        .iter()
        .enumerate()
        .filter(|(index, _)| index % regions == region)
        .map(|(_, country)| country.0)
        .collect();
    let product = base[department % base.len()];
    let place = if plain || cell.is_multiple_of(2) {
        Cond::In(
            "country",
            countries.iter().map(|name| name.to_string()).collect(),
        )
    } else {
        Cond::Or(
            countries
                .iter()
                .map(|name| Cond::Eq("country", name.to_string()))
                .collect(),
        )
    };
    let mut parts = vec![
        Cond::Eq("department", DEPARTMENTS[department].into()),
        place,
    ];
    if cell % 4 == 1 && !plain {
        parts.push(Cond::Not(Box::new(Cond::StartsWith(
            "jobTitle",
            "Intern".into(),
        ))));
    }
    if round > 0 && plain {
        // More base groups than cells: later rounds split a cell by job title.
        parts.push(Cond::StartsWith(
            "jobTitle",
            TITLE_LEVELS[(round - 1) % TITLE_LEVELS.len()].into(),
        ));
    } else if round > 0 {
        // More base groups than cells: later rounds split a cell by cost-centre digit.
        parts.push(Cond::Match(
            "extensionAttribute3",
            format!("^CC-[0-9]{{3}}{}$", round % 10),
        ));
    }
    Draft {
        name: format!(
            "{} {} - {product}",
            DEPARTMENTS[department], COUNTRIES[region].1
        ) + &if round > 0 {
            format!(" #{round}")
        } else {
            String::new()
        },
        rule: Some(Cond::And(parts)),
        anchor: Some(department),
        members: Vec::new(),
        licenses: group_licenses(product, rng, catalog),
    }
}

/// An add-on group: a department and a narrower condition of one of several shapes (of
/// [`plain_condition`] in [`Shape::Unrecorded`]).
fn addon_group(
    number: usize,
    products: &[&str],
    base_count: usize,
    shape: Shape,
    rng: &mut Rng,
) -> Draft {
    let addons = &products[base_count..];
    let product = addons[number % addons.len()];
    // Workplace Analytics needs Exchange Online in the same group: pair it with E3, and pick
    // a department whose base suite carries the same Exchange plan.
    let mut department = rng.below(DEPARTMENTS.len());
    let licenses = if product == "WORKPLACE_ANALYTICS" {
        department -= department % base_count;
        with_exchange(product)
    } else {
        vec![AssignedLicense {
            sku: product.into(),
            disabled_plans: Vec::new(),
        }]
    };
    let anchor = Cond::Eq("department", DEPARTMENTS[department].into());
    let narrow = match number % 7 {
        _ if shape == Shape::Unrecorded => plain_condition(number, rng),
        0 => Cond::StartsWith(
            "jobTitle",
            TITLE_LEVELS[rng.below(TITLE_LEVELS.len())].into(),
        ),
        1 => Cond::Contains("extensionAttribute7", format!("-K{}", rng.below(100))),
        2 => Cond::Match(
            "extensionAttribute3",
            format!("^CC-{}[0-9]{{2}}[0-9]$", rng.below(10)),
        ),
        3 => Cond::AnyProxyContains(format!("@sub{:02}.", rng.below(SUBSIDIARIES))),
        4 => Cond::Or(vec![
            Cond::Eq("extensionAttribute1", format!("EMS-{:02}", rng.below(100))),
            Cond::StartsWith("extensionAttribute1", format!("PRJ-{}", rng.below(10))),
        ]),
        5 => Cond::And(vec![
            Cond::Bool("accountEnabled", true),
            Cond::In(
                "extensionAttribute2",
                vec!["Contractor".into(), "Vendor".into()],
            ),
        ]),
        _ => Cond::And(vec![
            Cond::In(
                "city",
                COUNTRIES[rng.below(COUNTRIES.len())]
                    .2
                    .iter()
                    .map(|city| city.to_string())
                    .collect(),
            ),
            Cond::Not(Box::new(Cond::Eq("extensionAttribute2", "Vendor".into()))),
        ]),
    };
    Draft {
        name: format!("{} - {product} {number:04}", DEPARTMENTS[department]),
        rule: Some(Cond::And(vec![anchor, narrow])),
        anchor: Some(department),
        members: Vec::new(),
        licenses,
    }
}

/// The narrower condition of an add-on group of [`Shape::Unrecorded`]: a job-title prefix, an
/// employee type from a list, or a city.
fn plain_condition(number: usize, rng: &mut Rng) -> Cond {
    match number % 3 {
        0 => Cond::StartsWith(
            "jobTitle",
            TITLE_LEVELS[rng.below(TITLE_LEVELS.len())].into(),
        ),
        1 => Cond::In(
            "extensionAttribute2",
            vec!["Contractor".into(), "Vendor".into()],
        ),
        _ => Cond::Eq(
            "city",
            COUNTRIES[rng.below(COUNTRIES.len())].2[rng.below(3)].into(),
        ),
    }
}

/// Licenses of an add-on that needs Exchange Online in the same group (Workplace Analytics):
/// Office 365 E3 with it.
fn with_exchange(product: &str) -> Vec<AssignedLicense> {
    ["ENTERPRISEPACK", product]
        .into_iter()
        .map(|sku| AssignedLicense {
            sku: sku.into(),
            disabled_plans: Vec::new(),
        })
        .collect()
}

/// A group's license of `product`, with one plan switched off in a fifth of the groups.
fn group_licenses(product: &str, rng: &mut Rng, catalog: &Catalog) -> Vec<AssignedLicense> {
    let mut disabled_plans = Vec::new();
    if rng.percent(20) {
        if let Ok(id) = catalog.resolve_product(product) {
            let plans = &catalog.product(id).plans;
            let candidates: Vec<String> = plans
                .iter()
                .map(|&plan| catalog.plan(plan).name.clone())
                .filter(|name| name.contains("YAMMER") || name.contains("SWAY"))
                .collect();
            if let Some(name) = candidates.first() {
                disabled_plans.push(name.clone());
            }
        }
    }
    vec![AssignedLicense {
        sku: product.into(),
        disabled_plans,
    }]
}

/// Seats: demand (distinct users per product) plus headroom, except one add-on bought short so
/// that a few users record `CountViolation`.
fn seat_counts(
    products: &[&str],
    drafts: &[Draft],
    users: &[UserState],
    catalog: &Catalog,
    rng: &mut Rng,
) -> Vec<Subscription> {
    let mut largest_group = 0;
    let mut demand = vec![0u64; products.len()];
    let mut last_seen = vec![usize::MAX; users.len()];
    for (position, product) in products.iter().enumerate() {
        let mut mark = |user: usize| {
            if last_seen[user] != position {
                last_seen[user] = position;
                demand[position] += 1;
            }
        };
        for draft in drafts {
            if draft.licenses.iter().any(|license| license.sku == *product) {
                draft.members.iter().for_each(|&user| mark(user));
            }
        }
        for (user, state) in users.iter().enumerate() {
            if state.licenses.iter().any(|license| license.sku == *product) {
                mark(user);
            }
        }
    }
    for draft in drafts {
        largest_group = largest_group.max(draft.members.len() as u64);
    }
    products
        .iter()
        .zip(demand)
        .map(|(product, demand)| {
            let headroom = demand / 10 + 10 * (1 + rng.below(10) as u64);
            let enabled = match *product {
                "WORKPLACE_ANALYTICS" => demand * 97 / 100,
                // Room for the "product migrated" variant (E1 to E3 in one group).
                "ENTERPRISEPACK" => demand + headroom + largest_group,
                _ => demand + headroom,
            };
            Subscription {
                sku: product.to_string(),
                id: catalog
                    .resolve_product(product)
                    .ok()
                    .map(|id| catalog.product(id).id.clone()),
                enabled,
                ..Subscription::default()
            }
        })
        .collect()
}

/// Runs the engine on the state as if nothing had been processed, and records its outcome as
/// what the service last recorded.
fn record_license_states(state: &mut TenantState, catalog: &Catalog) {
    let outcome = predict(state, catalog);
    for (user, result) in state.users.iter_mut().zip(&outcome.users) {
        user.license_states = result
            .assignments
            .iter()
            .map(|assignment| LicenseState {
                sku: catalog.product(assignment.product).sku_part_number.clone(),
                via: match assignment.source {
                    Source::Direct => None,
                    Source::Group(group) => {
                        Some(state.groups[group.0 as usize].display_name.clone())
                    }
                },
                state: assignment.state,
                error: assignment.error,
            })
            .collect();
    }
}

/// The engine's prediction for a state, with the recorded members as memberships.
pub fn predict(state: &TenantState, catalog: &Catalog) -> Outcome {
    let tenant = match index::build(state, catalog, SourceId(0)) {
        Ok(tenant) => tenant,
        Err(problems) => panic!("the generated tenant is inconsistent: {problems:?}"),
    };
    let memberships: Vec<Vec<UserIdx>> = tenant
        .groups
        .iter()
        .map(|group| group.members.clone())
        .collect();
    ServiceMemory::settle(catalog, &tenant, &memberships).1
}

/// The config that manages every generated group exactly as the state has it.
fn matching_config(state: &TenantState, drafts: &[Draft]) -> Config {
    let groups = state
        .groups
        .iter()
        .zip(drafts)
        .map(|(group, draft)| {
            let spec = GroupSpec {
                rule: group.rule.clone(),
                members: draft.rule.is_none().then(|| {
                    group
                        .members
                        .iter()
                        .cloned()
                        .map(MemberSpec::Name)
                        .collect()
                }),
                licenses: Some(seatplan::plan::export::license_specs(&group.licenses)),
                ..GroupSpec::default()
            };
            (group.display_name.clone(), spec)
        })
        .collect();
    Config {
        version: 1,
        tenant: Some(TenantSettings {
            default_usage_location: state.tenant.default_usage_location.clone(),
        }),
        groups: Some(groups),
        ..Config::default()
    }
}

/// One rule edited, one rule widened to about 100 more users, one product migrated (E1 to E3 in
/// one group), one group deleted.
fn variants(
    state: &TenantState,
    config: &Config,
    drafts: &[Draft],
) -> Vec<(&'static str, String, Config)> {
    let mut out = Vec::new();
    let groups = config.groups.clone().unwrap_or_default();
    let edited = drafts.iter().zip(&state.groups).find_map(|(draft, group)| {
        let Some(Cond::And(parts)) = &draft.rule else {
            return None;
        };
        let [anchor, Cond::StartsWith(attr, level)] = parts.as_slice() else {
            return None;
        };
        let other = if level == "Senior" { "Lead" } else { "Senior" };
        let rule = Cond::And(vec![anchor.clone(), Cond::StartsWith(attr, other.into())]);
        Some((group.display_name.clone(), group.rule.clone(), rule.text()))
    });
    if let Some((name, Some(rule), edited)) = edited {
        let mut variant = config.clone();
        if let Some(group) = variant
            .groups
            .as_mut()
            .and_then(|groups| groups.get_mut(&name))
        {
            group.rule = Some(edited.clone());
        }
        out.push((
            "rule-edited",
            format!("group `{name}`: rule `{rule}` becomes `{edited}`"),
            variant,
        ));
    }
    // A small edit whose cost should not grow with the tenant: the first dynamic group that
    // assigns Power BI Pro alone (no prerequisites) also selects employees E0000100–E0000199.
    if let Some((name, rule)) = groups.iter().find_map(|(name, spec)| {
        let only_power_bi = spec
            .licenses
            .as_deref()
            .is_some_and(|licenses| matches!(licenses, [license] if license.sku == "POWER_BI_PRO"));
        spec.rule
            .as_ref()
            .filter(|_| only_power_bi)
            .map(|rule| (name.clone(), rule.clone()))
    }) {
        let widened = format!("({rule}) -or (user.employeeId -startsWith \"E00001\")");
        let mut variant = config.clone();
        if let Some(group) = variant
            .groups
            .as_mut()
            .and_then(|groups| groups.get_mut(&name))
        {
            group.rule = Some(widened.clone());
        }
        out.push((
            "rule-edited-100",
            format!("group `{name}`: rule `{rule}` becomes `{widened}` (up to 100 more members)"),
            variant,
        ));
    }
    if let Some((name, _)) = groups.iter().find(|(_, spec)| {
        spec.rule.is_some()
            && spec
                .licenses
                .iter()
                .flatten()
                .any(|license| license.sku == "STANDARDPACK")
    }) {
        let mut variant = config.clone();
        if let Some(group) = variant
            .groups
            .as_mut()
            .and_then(|groups| groups.get_mut(name))
        {
            for license in group.licenses.iter_mut().flatten() {
                if license.sku == "STANDARDPACK" {
                    license.sku = "ENTERPRISEPACK".into();
                    license.disabled_plans = None;
                }
            }
        }
        out.push((
            "product-migrated",
            format!("group `{name}`: STANDARDPACK (E1) migrated to ENTERPRISEPACK (E3)"),
            variant,
        ));
    }
    if let Some(position) = drafts.iter().position(|draft| draft.rule.is_none()) {
        let name = state.groups[position].display_name.clone();
        let mut variant = config.clone();
        if let Some(group) = variant
            .groups
            .as_mut()
            .and_then(|groups| groups.get_mut(&name))
        {
            *group = GroupSpec {
                ensure: Some(Ensure::Absent),
                ..GroupSpec::default()
            };
        }
        out.push(("group-deleted", format!("group `{name}` deleted"), variant));
    }
    out
}

/// Splits a config into files for a config directory: `00-tenant.yaml` with the tenant settings,
/// then `groups-NNN.yaml` files of at most about `max_bytes` each (seatplan reads config files of
/// at most 8 MiB; the static member lists of a large tenant exceed that in one file).
pub fn config_files(config: &Config, max_bytes: usize) -> Result<Vec<(String, String)>, String> {
    let yaml = |config: &Config| serde_yaml::to_string(config).map_err(|error| error.to_string());
    let head = Config {
        groups: None,
        ..config.clone()
    };
    let mut files = vec![("00-tenant.yaml".to_string(), yaml(&head)?)];
    let mut chunk: IndexMap<String, GroupSpec> = IndexMap::new();
    let mut size = 0;
    let flush = |chunk: &mut IndexMap<String, GroupSpec>,
                 files: &mut Vec<(String, String)>|
     -> Result<(), String> {
        if chunk.is_empty() {
            return Ok(());
        }
        let part = Config {
            version: config.version,
            groups: Some(std::mem::take(chunk)),
            ..Config::default()
        };
        files.push((format!("groups-{:03}.yaml", files.len()), yaml(&part)?));
        Ok(())
    };
    for (name, spec) in config.groups.iter().flatten() {
        let estimate = name.len()
            + spec.rule.as_ref().map_or(0, String::len)
            + spec
                .members
                .iter()
                .flatten()
                .map(|member| member.name().len() + 8)
                .sum::<usize>()
            + 200;
        if size + estimate > max_bytes {
            flush(&mut chunk, &mut files)?;
            size = 0;
        }
        size += estimate;
        chunk.insert(name.clone(), spec.clone());
    }
    flush(&mut chunk, &mut files)?;
    Ok(files)
}

/// The Graph responses a tenant of `state` answers, `page_size` objects a page, as
/// `seatplan import graph` reads them and `pull --save-responses` writes them: subscriptions with
/// their service plans, users with the properties of `user_select()` (licenses, recorded states
/// by group id, and the service plans of their products as `assignedPlans`), groups, and the
/// members of every group. For measuring the mapping against loading the same tenant from a file.
pub fn graph_export(state: &TenantState, catalog: &Catalog, page_size: usize) -> GraphExport {
    use serde_json::{json, Map, Value};
    use std::collections::HashMap;

    let product = |sku: &str| {
        catalog
            .resolve_product(sku)
            .ok()
            .map(|id| catalog.product(id))
    };
    let sku_id = |sku: &str| product(sku).map_or_else(|| sku.to_string(), |p| p.id.clone());
    let plan_id = |name: &str| {
        catalog
            .resolve_plan(name)
            .map_or_else(|_| name.to_string(), |id| catalog.plan(id).id.clone())
    };
    let license = |license: &AssignedLicense| {
        json!({
            "skuId": sku_id(&license.sku),
            "disabledPlans": license.disabled_plans.iter().map(|name| plan_id(name)).collect::<Vec<_>>(),
        })
    };
    let pages = |origin: &str, objects: Vec<Value>| -> Vec<GraphPage> {
        let chunks: Vec<&[Value]> = objects.chunks(page_size.max(1)).collect();
        let count = chunks.len().max(1);
        (0..count)
            .map(|index| {
                let value = chunks
                    .get(index)
                    .map_or_else(Vec::new, |chunk| chunk.to_vec());
                let mut body = json!({ "value": value });
                if index + 1 < count {
                    body["@odata.nextLink"] =
                        json!(format!("https://graph.example/{origin}?page={}", index + 2));
                }
                GraphPage::new(format!("{origin}-{}", index + 1), body)
            })
            .collect()
    };
    let group_ids: HashMap<&str, &str> = state
        .groups
        .iter()
        .flat_map(|group| {
            [
                (group.display_name.as_str(), group.id.as_str()),
                (group.id.as_str(), group.id.as_str()),
            ]
        })
        .collect();
    let user_ids: HashMap<&str, &str> = state
        .users
        .iter()
        .map(|user| (user.upn.as_str(), user.id.as_str()))
        .collect();

    let skus = state
        .subscriptions
        .iter()
        .map(|subscription| {
            let plans: Vec<Value> = product(&subscription.sku)
                .map(|product| {
                    product
                        .plans
                        .iter()
                        .map(|&plan| {
                            let plan = catalog.plan(plan);
                            json!({"servicePlanId": plan.id, "servicePlanName": plan.name})
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "skuId": subscription.id.clone().unwrap_or_else(|| sku_id(&subscription.sku)),
                "skuPartNumber": subscription.sku,
                "prepaidUnits": {"enabled": subscription.enabled, "warning": subscription.warning, "suspended": subscription.suspended},
                "consumedUnits": subscription.consumed.unwrap_or(0),
                "servicePlans": plans,
            })
        })
        .collect();
    let users = state
        .users
        .iter()
        .map(|user| {
            let mut object = Map::new();
            object.insert("id".into(), json!(user.id));
            object.insert("userPrincipalName".into(), json!(user.upn));
            object.insert("usageLocation".into(), json!(user.usage_location));
            object.insert("proxyAddresses".into(), json!(user.proxy_addresses));
            let mut extensions = Map::new();
            for (name, value) in &user.attributes {
                let value = serde_json::to_value(value).unwrap_or(Value::Null);
                if name.starts_with("extensionAttribute") {
                    extensions.insert(name.to_string(), value);
                } else {
                    object.insert(name.to_string(), value);
                }
            }
            object.insert(
                "onPremisesExtensionAttributes".into(),
                Value::Object(extensions),
            );
            let mut skus: Vec<&str> = user.licenses.iter().map(|l| l.sku.as_str()).collect();
            skus.extend(user.license_states.iter().map(|s| s.sku.as_str()));
            skus.sort_unstable();
            skus.dedup();
            let mut states: Vec<Value> = user
                .licenses
                .iter()
                .map(|direct| {
                    let mut entry = license(direct);
                    entry["assignedByGroup"] = Value::Null;
                    entry["state"] = json!("Active");
                    entry["error"] = json!("None");
                    entry
                })
                .collect();
            states.extend(user.license_states.iter().filter(|s| s.via.is_some()).map(|recorded| {
                let via = recorded.via.as_deref().unwrap_or_default();
                json!({
                    "skuId": sku_id(&recorded.sku),
                    "assignedByGroup": group_ids.get(via).copied().unwrap_or(via),
                    "disabledPlans": [],
                    "state": recorded.state,
                    "error": recorded.error.map_or_else(|| json!("None"), |error| json!(error)),
                })
            }));
            object.insert(
                "assignedLicenses".into(),
                Value::Array(
                    skus.iter()
                        .map(|sku| json!({"skuId": sku_id(sku), "disabledPlans": []}))
                        .collect(),
                ),
            );
            object.insert("licenseAssignmentStates".into(), Value::Array(states));
            let plans: Vec<Value> = skus
                .iter()
                .filter_map(|sku| product(sku))
                .flat_map(|product| product.plans.iter())
                .map(|&plan| {
                    json!({
                        "assignedDateTime": "2026-01-05T09:30:00Z",
                        "capabilityStatus": "Enabled",
                        "service": catalog.plan(plan).name,
                        "servicePlanId": catalog.plan(plan).id,
                    })
                })
                .collect();
            object.insert("assignedPlans".into(), Value::Array(plans));
            Value::Object(object)
        })
        .collect();
    let groups = state
        .groups
        .iter()
        .map(|group| {
            json!({
                "id": group.id,
                "displayName": group.display_name,
                "description": group.description,
                "groupTypes": if group.rule.is_some() { vec!["DynamicMembership"] } else { vec![] },
                "securityEnabled": group.security_enabled,
                "mailEnabled": group.mail_enabled,
                "membershipRule": group.rule,
                "membershipRuleProcessingState": group.rule_processing.map(|p| match p {
                    seatplan::config::RuleProcessing::On => "On",
                    seatplan::config::RuleProcessing::Paused => "Paused",
                }),
                "assignedLicenses": group.licenses.iter().map(license).collect::<Vec<_>>(),
            })
        })
        .collect();
    let members = state
        .groups
        .iter()
        .map(|group| {
            let objects = group
                .members
                .iter()
                .map(|member| match user_ids.get(member.as_str()) {
                    Some(id) => json!({"@odata.type": "#microsoft.graph.user", "id": id, "userPrincipalName": member}),
                    None => json!({"@odata.type": "#microsoft.graph.group", "id": member}),
                })
                .collect();
            (group.id.clone(), pages(&format!("members/{}", group.id), objects))
        })
        .collect();
    GraphExport {
        organization: pages(
            "organization",
            vec![
                json!({"id": state.tenant.id, "countryLetterCode": state.tenant.default_usage_location}),
            ],
        ),
        subscribed_skus: pages("subscribedSkus", skus),
        users: pages("users", users),
        groups: pages("groups", groups),
        members,
    }
}
