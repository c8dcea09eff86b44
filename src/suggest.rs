//! "Did you mean" suggestions for misspelt flags and rule codes.

/// The candidate nearest to `word`, when it is close enough to be a typo:
/// at most two edits, or a quarter of the candidate's length.
/// Candidates whose length alone rules them out are not compared, so a
/// word of megabytes costs no more than counting its characters.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let length = word.chars().count();
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let limit = 2.max(candidate.len() / 4);
            // The distance is at least the difference in length.
            let longest = candidate.chars().count() + limit;
            (length <= longest)
                .then(|| (edit_distance(word, candidate), candidate))
                .filter(|&(distance, _)| distance <= limit)
        })
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(
            closest("destinaton", ["context", "destination"]),
            Some("destination")
        );
        assert_eq!(closest("frobnicate", ["context", "destination"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
