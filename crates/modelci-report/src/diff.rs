//! Expected-vs-actual rendering shared by the terminal and Markdown writers.

use similar::TextDiff;

/// A unified diff of `expected` against `actual` (lines prefixed `-` expected, `+` actual),
/// or `None` when both are single lines, where a diff says less than the two values side by side.
pub fn unified(expected: &str, actual: &str) -> Option<String> {
    if !expected.contains('\n') && !actual.contains('\n') {
        return None;
    }
    let mut expected = expected.to_owned();
    let mut actual = actual.to_owned();
    for s in [&mut expected, &mut actual] {
        if !s.ends_with('\n') {
            s.push('\n');
        }
    }
    let diff = TextDiff::from_lines(&expected, &actual);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string();
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_lines_are_not_diffed() {
        assert_eq!(unified("1", "2"), None);
    }

    #[test]
    fn multi_line_values_give_a_unified_diff() {
        let d = unified("a\nb\nc", "a\nB\nc").expect("diff");
        assert!(d.contains("--- expected"), "{d}");
        assert!(d.contains("-b\n+B\n"), "{d}");
    }
}
