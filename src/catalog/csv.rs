//! Reading Microsoft's "Product names and service plan identifiers for licensing" CSV
//! (`data/product-service-plans.csv`) into products and service plans, with the normalisation its
//! quirks need (see `data/SOURCES.md`). This file uses only `std`: `build.rs` includes it with
//! `#[path]` to generate the built-in catalog, and the library compiles it for its tests.

use std::collections::HashMap;

use crate::guid::is_guid;

/// The column names the CSV must start with, in order.
pub const HEADER: [&str; 6] = [
    "Product_Display_Name",
    "String_Id",
    "GUID",
    "Service_Plan_Name",
    "Service_Plan_Id",
    "Service_Plans_Included_Friendly_Names",
];

/// The largest CSV accepted (the real file is about 1 MB).
pub const MAX_CSV_BYTES: usize = 16 * 1024 * 1024;

/// A service plan read from the CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvPlan {
    /// The service plan name (`EXCHANGE_S_ENTERPRISE`): the most frequent spelling in the file.
    pub name: String,
    /// The service plan GUID, lower-case.
    pub id: String,
    /// The most frequent friendly name (`Exchange Online (Plan 2)`).
    pub friendly_name: String,
    /// Other names the file uses for the same GUID, sorted.
    pub aliases: Vec<String>,
}

/// A product (SKU) read from the CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProduct {
    /// The skuPartNumber (`ENTERPRISEPACK`), trimmed.
    pub sku_part_number: String,
    /// The product GUID (skuId), lower-case.
    pub id: String,
    /// The product display name (`Office 365 E3`).
    pub name: String,
    /// Indexes into [`CsvCatalog::plans`], in file order, without repeats.
    pub plans: Vec<usize>,
}

/// Everything the CSV holds: products in file order and plans in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvCatalog {
    /// Service plans, one per distinct plan GUID.
    pub plans: Vec<CsvPlan>,
    /// Products, one per distinct product GUID.
    pub products: Vec<CsvProduct>,
}

/// Splits CSV text (RFC 4180: quoted fields, `""` escapes, CRLF or LF line ends) into records.
/// A leading byte-order mark is skipped. Errors name the 1-based line.
pub fn parse_records(text: &str) -> Result<Vec<Vec<String>>, String> {
    if text.len() > MAX_CSV_BYTES {
        return Err(format!(
            "the CSV is {} bytes; at most {MAX_CSV_BYTES} are read",
            text.len()
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1usize;
    let mut chars = text.chars().peekable();
    let mut at_record_start = true;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        at_record_start = false;
        match c {
            '"' if field.is_empty() => in_quotes = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                line += 1;
                at_record_start = true;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(format!("line {line}: a quoted field is not closed"));
    }
    if !at_record_start {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// Trims a field, including no-break spaces and tabs (`"MCOCAP_FACULTY\u{a0}"`).
pub fn trim_field(value: &str) -> &str {
    value.trim_matches(char::is_whitespace)
}

/// Trims a name and collapses inner runs of whitespace (tabs included) to one space.
pub fn normalise_name(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lower-cases and trims a GUID.
pub fn normalise_guid(value: &str) -> String {
    trim_field(value).to_ascii_lowercase()
}

/// Counts spellings and picks the winner: most frequent, then `prefer`, then first seen.
struct Spellings {
    counts: Vec<(String, usize)>,
}

impl Spellings {
    fn new() -> Self {
        Spellings { counts: Vec::new() }
    }

    fn add(&mut self, value: String) {
        match self.counts.iter_mut().find(|(seen, _)| *seen == value) {
            Some((_, count)) => *count += 1,
            None => self.counts.push((value, 1)),
        }
    }

    fn best(&self, prefer: impl Fn(&str) -> bool) -> String {
        let mut best: Option<&(String, usize)> = None;
        for entry in &self.counts {
            let better = match best {
                None => true,
                Some(current) => {
                    entry.1 > current.1
                        || (entry.1 == current.1 && prefer(&entry.0) && !prefer(&current.0))
                }
            };
            if better {
                best = Some(entry);
            }
        }
        best.map(|(value, _)| value.clone()).unwrap_or_default()
    }
}

/// Parses the CSV into a [`CsvCatalog`], normalising its quirks. Errors name the 1-based line.
pub fn parse_catalog(text: &str) -> Result<CsvCatalog, String> {
    let records = parse_records(text)?;
    let mut rows = records.iter().enumerate();
    let header = rows.next().ok_or_else(|| "the CSV is empty".to_string())?.1;
    let header: Vec<&str> = header.iter().map(|name| trim_field(name)).collect();
    if header != HEADER {
        return Err(format!(
            "line 1: expected the columns {}, found {}",
            HEADER.join(","),
            header.join(",")
        ));
    }
    let mut plan_index: HashMap<String, usize> = HashMap::new();
    let mut plan_names: Vec<Spellings> = Vec::new();
    let mut plan_friendly: Vec<Spellings> = Vec::new();
    let mut plan_ids: Vec<String> = Vec::new();
    let mut product_index: HashMap<String, usize> = HashMap::new();
    let mut products: Vec<CsvProduct> = Vec::new();
    for (index, record) in rows {
        let line = index + 1;
        if record.iter().all(|field| trim_field(field).is_empty()) {
            continue;
        }
        if record.len() != HEADER.len() {
            return Err(format!(
                "line {line}: expected {} fields, found {}",
                HEADER.len(),
                record.len()
            ));
        }
        let product_name = normalise_name(&record[0]);
        let sku = trim_field(&record[1]).to_string();
        let product_id = normalise_guid(&record[2]);
        let plan_name = normalise_name(&record[3]);
        let plan_id = normalise_guid(&record[4]);
        let friendly = normalise_name(&record[5]);
        if !is_guid(&product_id) {
            return Err(format!(
                "line {line}: product GUID `{product_id}` is not a GUID"
            ));
        }
        if !is_guid(&plan_id) {
            return Err(format!(
                "line {line}: service plan GUID `{plan_id}` is not a GUID"
            ));
        }
        if sku.is_empty() || plan_name.is_empty() {
            return Err(format!(
                "line {line}: String_Id or Service_Plan_Name is empty"
            ));
        }
        let plan = *plan_index.entry(plan_id.clone()).or_insert_with(|| {
            plan_ids.push(plan_id.clone());
            plan_names.push(Spellings::new());
            plan_friendly.push(Spellings::new());
            plan_ids.len() - 1
        });
        plan_names[plan].add(plan_name);
        if !friendly.is_empty() {
            plan_friendly[plan].add(friendly);
        }
        let product = *product_index.entry(product_id.clone()).or_insert_with(|| {
            products.push(CsvProduct {
                sku_part_number: sku,
                id: product_id.clone(),
                name: product_name,
                plans: Vec::new(),
            });
            products.len() - 1
        });
        if !products[product].plans.contains(&plan) {
            products[product].plans.push(plan);
        }
    }
    // A real plan name is an identifier: prefer spellings without spaces or stray punctuation.
    let identifier = |name: &str| {
        name.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    // Prefer friendly names that are not shouted in capitals.
    let mixed_case = |name: &str| name.chars().any(|c| c.is_lowercase());
    let plans = plan_ids
        .into_iter()
        .zip(plan_names)
        .zip(plan_friendly)
        .map(|((id, names), friendly)| {
            let name = names.best(identifier);
            let mut aliases: Vec<String> = names
                .counts
                .iter()
                .map(|(alias, _)| alias.clone())
                .filter(|alias| *alias != name)
                .collect();
            aliases.sort();
            let friendly_name = match friendly.best(mixed_case) {
                empty if empty.is_empty() => name.clone(),
                chosen => chosen,
            };
            CsvPlan {
                name,
                id,
                friendly_name,
                aliases,
            }
        })
        .collect();
    Ok(CsvCatalog { plans, products })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,Service_Plans_Included_Friendly_Names\n";

    fn the_csv() -> &'static str {
        include_str!("../../data/product-service-plans.csv")
    }

    #[test]
    fn records_handle_quotes_crlf_and_bom() {
        let records = parse_records("\u{feff}a,\"b, c\",\"d \"\"e\"\"\"\r\nx,y,z").unwrap();
        assert_eq!(
            records,
            vec![vec!["a", "b, c", "d \"e\""], vec!["x", "y", "z"]]
        );
        assert!(parse_records("a,\"open").is_err());
    }

    #[test]
    fn the_real_file_starts_with_a_byte_order_mark_that_is_skipped() {
        assert!(the_csv().starts_with('\u{feff}'));
        let records = parse_records(the_csv()).unwrap();
        assert_eq!(records[0][0], "Product_Display_Name");
    }

    #[test]
    fn counts_match_the_sources_note() {
        let catalog = parse_catalog(the_csv()).unwrap();
        assert_eq!(catalog.products.len(), 569);
        assert_eq!(catalog.plans.len(), 723);
        // Independent count of distinct product GUIDs straight from the records.
        let records = parse_records(the_csv()).unwrap();
        let mut guids: Vec<String> = records[1..]
            .iter()
            .filter(|record| record.len() == 6)
            .map(|record| normalise_guid(&record[2]))
            .collect();
        guids.sort();
        guids.dedup();
        assert_eq!(guids.len(), catalog.products.len());
    }

    #[test]
    fn trailing_spaces_and_no_break_spaces_are_trimmed() {
        let catalog = parse_catalog(the_csv()).unwrap();
        let faculty = catalog
            .products
            .iter()
            .find(|product| product.id == "420c7602-7f70-4895-9394-d3d679ea36fb")
            .unwrap();
        assert_eq!(faculty.sku_part_number, "MCOCAP_FACULTY");
        assert!(catalog
            .products
            .iter()
            .any(|product| product.sku_part_number == "AAD_PREMIUM_USGOV_GCCHIGH"));
        for product in &catalog.products {
            assert_eq!(
                product.sku_part_number,
                trim_field(&product.sku_part_number)
            );
            assert!(is_guid(&product.id), "{}", product.id);
        }
        for plan in &catalog.plans {
            assert_eq!(plan.name, normalise_name(&plan.name));
            assert!(!plan.name.contains('\t'));
        }
        let atp = catalog
            .plans
            .iter()
            .find(|plan| plan.name == "ATP_ENTERPRISE")
            .unwrap();
        assert_eq!(atp.id, "f20fedf3-f3c3-43c3-8267-2bfdd51c0939");
    }

    #[test]
    fn friendly_names_differing_in_case_resolve_to_one_spelling() {
        let catalog = parse_catalog(the_csv()).unwrap();
        let plan = |name: &str| catalog.plans.iter().find(|plan| plan.name == name).unwrap();
        assert_eq!(
            plan("EXCHANGE_S_STANDARD").friendly_name,
            "Exchange Online (Plan 1)"
        );
        assert_eq!(
            plan("EXCHANGE_S_ENTERPRISE").friendly_name,
            "Exchange Online (Plan 2)"
        );
        assert_eq!(
            plan("FORMS_PLAN_E5").friendly_name,
            "Microsoft Forms (Plan E5)"
        );
    }

    #[test]
    fn names_used_for_one_guid_become_aliases() {
        let catalog = parse_catalog(the_csv()).unwrap();
        let by_id = |id: &str| catalog.plans.iter().find(|plan| plan.id == id).unwrap();
        let staffhub = by_id("8c7d2df8-86f0-4902-b2ed-a0458298f3b3");
        assert_eq!(staffhub.name, "Deskless");
        assert_eq!(staffhub.aliases, vec!["DESKLESS"]);
        let rights = by_id("bea4c11e-220a-4e6d-8eb8-8ea15d019f90");
        assert_eq!(rights.name, "RMS_S_ENTERPRISE");
        assert_eq!(rights.aliases, vec!["RMS_S_ENTERPRISE)"]);
        let windows = by_id("e7c91390-7625-45be-94e0-e16907e03118");
        assert_eq!(
            windows.name,
            "Virtualization Rights for Windows 10 (E3/E5+VDA)"
        );
        assert_eq!(
            windows.aliases,
            vec!["Virtualization Rights for Windows 10"]
        );
    }

    #[test]
    fn repeated_rows_are_kept_once() {
        let text = format!(
            "{HEAD}P,SKU,11111111-1111-1111-1111-111111111111,PLAN,22222222-2222-2222-2222-222222222222,Plan\n\
             P,SKU ,11111111-1111-1111-1111-111111111111,PLAN,22222222-2222-2222-2222-222222222222,PLAN\n"
        );
        let catalog = parse_catalog(&text).unwrap();
        assert_eq!(catalog.products.len(), 1);
        assert_eq!(catalog.products[0].plans, vec![0]);
        assert_eq!(catalog.products[0].sku_part_number, "SKU");
        assert_eq!(catalog.plans[0].friendly_name, "Plan");
    }

    #[test]
    fn malformed_files_are_rejected_with_a_line() {
        assert!(parse_catalog("").is_err());
        assert!(parse_catalog("a,b\n").unwrap_err().contains("line 1"));
        let short = format!("{HEAD}P,SKU\n");
        assert!(parse_catalog(&short).unwrap_err().contains("line 2"));
        let bad_guid =
            format!("{HEAD}P,SKU,not-a-guid,PLAN,22222222-2222-2222-2222-222222222222,x\n");
        assert!(parse_catalog(&bad_guid).unwrap_err().contains("not a GUID"));
    }
}
