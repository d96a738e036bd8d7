//! Small text helpers shared by modelci's crates, below all of them (it depends on no other
//! modelci crate): [`suggest`] for "did you mean" hints and [`truncate`] for values shown in
//! messages and reports.

use std::fmt::Write as _;

/// The candidate closest to `word`, when it is close enough to be a likely typo, for "did you
/// mean". Names compare ASCII-case-insensitively with `_` and `-` alike (`LABEL` is `label`,
/// `jsonschema` is one edit from `json-schema`), then:
/// 1. a candidate equal to `word` that way;
/// 2. else the candidate fewest edits away (Damerau-Levenshtein: a swap of two neighbours is one
///    edit), at most a third of `word`'s length (at least 1); ties go to the one sharing the
///    longer prefix (Jaro-Winkler), then to the first;
/// 3. else the candidate most similar by Jaro-Winkler above 0.85, which catches a missing suffix
///    or prefix of a long name (`accuracy` for `accuracy_score`).
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let key = normalise(word);
    let scored: Vec<(&'a str, String)> =
        candidates.into_iter().map(|c| (c, normalise(c))).collect();
    if let Some((same, _)) = scored.iter().find(|(_, n)| *n == key) {
        return Some(same);
    }
    let limit = (key.chars().count() / 3).max(1);
    let by_edits = scored
        .iter()
        .map(|(c, n)| {
            (
                strsim::damerau_levenshtein(&key, n),
                strsim::jaro_winkler(&key, n),
                *c,
            )
        })
        .filter(|(edits, _, _)| *edits <= limit)
        // The first of equals wins: `min_by` keeps the first minimum.
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    if let Some((_, _, best)) = by_edits {
        return Some(best);
    }
    scored
        .iter()
        .map(|(c, n)| (strsim::jaro_winkler(&key, n), *c))
        .filter(|(score, _)| *score > 0.85)
        // `max_by` keeps the last maximum; reversed, the first.
        .rev()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// `text` cut to its first `max` characters (never inside one), followed by a marker saying how
/// many were cut: `"abc… (4 more characters)"`; unchanged when it has at most `max`.
#[must_use]
pub fn truncate(text: &str, max: usize) -> String {
    let Some((end, _)) = text.char_indices().nth(max) else {
        return text.to_owned();
    };
    let cut = text[end..].chars().count();
    let mut out = String::with_capacity(end + 24);
    out.push_str(&text[..end]);
    let _ = write!(
        out,
        "… ({cut} more character{})",
        if cut == 1 { "" } else { "s" }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
        suggest(word, candidates.iter().copied())
    }

    #[test]
    fn same_name_in_another_case_or_separator() {
        let columns = ["label", "pred", "y", "k", "flag", "p"];
        assert_eq!(s("LABEL", &columns), Some("label"));
        assert_eq!(
            s("json_schema", &["json", "json-schema"]),
            Some("json-schema")
        );
        // An exact match wins over an earlier near miss.
        assert_eq!(s("flag", &["flags", "flag"]), Some("flag"));
    }

    #[test]
    fn typos_within_a_third_of_the_length() {
        let keys = ["files", "report", "json-schema", "pact", "openapi"];
        assert_eq!(s("fiels", &keys), Some("files")); // a swap is one edit
        assert_eq!(s("file", &keys), Some("files"));
        assert_eq!(s("reports", &keys), Some("report"));
        assert_eq!(s("jsonschema", &keys), Some("json-schema"));
        assert_eq!(s("josn", &["json", "junit", "markdown"]), Some("json"));
        assert_eq!(s("lable", &["label", "pred", "y"]), Some("label"));
        assert_eq!(
            s("roc_aucc", &["roc_auc", "accuracy_score"]),
            Some("roc_auc")
        );
        assert_eq!(
            s("recroded", &["recorded", "live", "infer-responses"]),
            Some("recorded")
        );
        // Fewest edits first, whatever the order.
        assert_eq!(s("pacts", &["parts-x", "pact"]), Some("pact"));
    }

    #[test]
    fn a_missing_suffix_of_a_long_name() {
        let metrics = ["f1_score", "accuracy_score", "roc_auc"];
        assert_eq!(s("accuracy", &metrics), Some("accuracy_score"));
    }

    #[test]
    fn nothing_when_nothing_is_close() {
        let columns = ["label", "pred", "y", "k", "flag", "p"];
        assert_eq!(s("zzzzzz", &columns), None);
        assert_eq!(s("x", &["yz", "abc"]), None);
        assert_eq!(s("latency", &["accuracy_score", "f1_score"]), None);
        assert_eq!(s("anything", &[]), None);
        // Two edits in a four-letter word is a different word.
        assert_eq!(s("wxyz", &["wxab"]), None);
    }

    #[test]
    fn ties_go_to_the_longer_shared_prefix_then_the_first() {
        assert_eq!(s("cat", &["bat", "cut"]), Some("cut"));
        assert_eq!(s("cat", &["cap", "car"]), Some("cap"));
    }

    #[test]
    fn truncation_keeps_characters_whole_and_says_how_much_was_cut() {
        assert_eq!(truncate("short", 5), "short");
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("", 0), "");
        assert_eq!(truncate("abcdefg", 3), "abc… (4 more characters)");
        assert_eq!(truncate("ééé", 2), "éé… (1 more character)");
        assert_eq!(
            truncate("日本語のテキスト", 3),
            "日本語… (5 more characters)"
        );
        assert_eq!(truncate("ab", 0), "… (2 more characters)");
        // A character of four bytes is never split.
        assert_eq!(truncate("a😀b", 2), "a😀… (1 more character)");
    }
}
