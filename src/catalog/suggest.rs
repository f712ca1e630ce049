//! "Did you mean" suggestions: the candidates closest to a mistyped name by edit distance,
//! compared case-insensitively.

/// Up to three of the candidates closest to `input` (all at the same, smallest edit distance).
/// The allowed distance grows with the length of the input (one edit per four characters, at
/// least one, at most four).
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let needle: Vec<char> = input.trim().to_lowercase().chars().collect();
    if needle.is_empty() {
        return Vec::new();
    }
    let limit = (needle.len() / 4).clamp(1, 4);
    let mut scored: Vec<(usize, &str)> = Vec::new();
    for candidate in candidates {
        let hay: Vec<char> = candidate.to_lowercase().chars().collect();
        if hay.len().abs_diff(needle.len()) > limit {
            continue;
        }
        let distance = edit_distance(&needle, &hay);
        if distance <= limit {
            scored.push((distance, candidate));
        }
    }
    scored.sort();
    let best = scored.first().map_or(0, |(distance, _)| *distance);
    scored.retain(|(distance, _)| *distance == best);
    let mut out: Vec<String> = Vec::new();
    for (_, candidate) in scored {
        if !out.iter().any(|seen| seen == candidate) {
            out.push(candidate.to_string());
        }
        if out.len() == 3 {
            break;
        }
    }
    out
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions).
fn edit_distance(a: &[char], b: &[char]) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_closest_first() {
        let candidates = ["ENTERPRISEPACK", "ENTERPRISEPREMIUM", "STANDARDPACK", "EMS"];
        assert_eq!(
            did_you_mean("ENTERPRIZEPACK", candidates),
            vec!["ENTERPRISEPACK"]
        );
        assert_eq!(
            did_you_mean("enterprisepak", candidates),
            vec!["ENTERPRISEPACK"]
        );
        assert_eq!(
            did_you_mean("STADNARDPACK", candidates),
            vec!["STANDARDPACK"]
        );
        assert!(did_you_mean("COMPLETELY_DIFFERENT", candidates).is_empty());
        assert!(did_you_mean("", candidates).is_empty());
    }

    #[test]
    fn distance() {
        let d = |a: &str, b: &str| {
            edit_distance(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("ab", "ba"), 1);
        assert_eq!(d("", "abc"), 3);
    }
}
