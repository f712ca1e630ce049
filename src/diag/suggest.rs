//! "Did you mean" suggestions: the known names closest to a mistyped one, for every kind of name
//! seatplan checks (fields, products, service plans, rule properties, users, groups).

/// Optimal-string-alignment distance between two names, compared case-insensitively by
/// characters: Levenshtein's insertions, deletions and substitutions, plus adjacent
/// transpositions (`ENTREPRISE` is one edit from `ENTERPRISE`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    for (j, cell) in rows.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        rows[i * width] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[(i - 1) * width + j] + 1)
                .min(rows[i * width + j - 1] + 1)
                .min(rows[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[(i - 2) * width + j - 2] + 1);
            }
            rows[i * width + j] = best;
        }
    }
    rows[a.len() * width + b.len()]
}

/// Up to `limit` of the candidates closest to `input`, all at the same, smallest distance, in the
/// candidates' order. The allowed distance grows with the input's length: one edit per four
/// characters, at least one and at most four.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<&'a str> {
    let input = input.trim();
    let length = input.chars().count();
    if length == 0 {
        return Vec::new();
    }
    let allowed = (length / 4).clamp(1, 4);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|candidate| candidate.chars().count().abs_diff(length) <= allowed)
        .map(|candidate| (edit_distance(input, candidate), candidate))
        .filter(|(distance, _)| *distance <= allowed)
        .collect();
    scored.sort_by_key(|(distance, _)| *distance);
    let best = scored.first().map_or(0, |(distance, _)| *distance);
    let mut out: Vec<&str> = Vec::new();
    for (_, candidate) in scored
        .into_iter()
        .take_while(|(distance, _)| *distance == best)
    {
        if !out.contains(&candidate) {
            out.push(candidate);
        }
        if out.len() == limit {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ENTERPRIZEPACK", "enterprisepack"), 1);
        assert_eq!(
            edit_distance("ENTREPRISEPACK", "ENTERPRISEPACK"),
            1,
            "a swap is one edit"
        );
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }

    #[test]
    fn close_product_names_are_suggested_closest_first() {
        let candidates = ["ENTERPRISEPACK", "ENTERPRISEPREMIUM", "STANDARDPACK", "EMS"];
        assert_eq!(
            did_you_mean("ENTERPRIZEPACK", candidates, 3),
            vec!["ENTERPRISEPACK"]
        );
        assert_eq!(
            did_you_mean("enterprisepak", candidates, 3),
            vec!["ENTERPRISEPACK"]
        );
        assert_eq!(
            did_you_mean("STADNARDPACK", candidates, 3),
            vec!["STANDARDPACK"]
        );
        assert!(did_you_mean("COMPLETELY_DIFFERENT", candidates, 3).is_empty());
        assert!(did_you_mean("", candidates, 3).is_empty());
    }

    #[test]
    fn suggestions() {
        let names = ["disabled_plans", "enabled_plans", "sku"];
        assert_eq!(
            did_you_mean("disabled_plan", names, 1),
            vec!["disabled_plans"]
        );
        assert!(did_you_mean("colour", names, 1).is_empty());
        assert!(did_you_mean("", names, 1).is_empty());
        let ties = ["EMS", "EMA", "EMX", "E3"];
        assert_eq!(
            did_you_mean("EMZ", ties, 2),
            vec!["EMS", "EMA"],
            "ties in order, up to the limit"
        );
    }
}
