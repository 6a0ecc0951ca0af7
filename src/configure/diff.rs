//! The unified diff `configure --dry-run` prints.

/// A unified diff (three lines of context) from `old` to `new`, with the
/// given file labels; empty when the texts are equal. Myers' algorithm
/// (the `similar` crate): memory linear in the input, so a dry run on a large
/// config file stays small.
pub fn unified_diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a == b {
        return String::new();
    }
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_slices(&a, &b);
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&format!("{}\n", hunk.header()));
        for change in hunk.iter_changes() {
            let tag = match change.tag() {
                similar::ChangeTag::Equal => ' ',
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
            };
            out.push_str(&format!("{tag}{}\n", change.value()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs() {
        assert_eq!(unified_diff("a\nb\n", "a\nb\n", "x", "y"), "");
        assert_eq!(
            unified_diff("", "{\n}\n", "/dev/null", "f"),
            "--- /dev/null\n+++ f\n@@ -0,0 +1,2 @@\n+{\n+}\n"
        );
        let lines = |edit: &dyn Fn(usize) -> Vec<String>| -> String {
            (1..=16).flat_map(edit).map(|l| l + "\n").collect()
        };
        let old = lines(&|n| vec![n.to_string()]);
        let new = lines(&|n| match n {
            2 => vec!["two".into()],
            15 => vec!["15".into(), "fifteen-and-a-half".into()],
            _ => vec![n.to_string()],
        });
        assert_eq!(
            unified_diff(&old, &new, "a", "b"),
            "--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n@@ -13,4 +13,5 @@\n 13\n 14\n 15\n+fifteen-and-a-half\n 16\n"
        );
        // Changes less than seven lines apart share a hunk.
        let near = lines(&|n| match n {
            2 => vec!["two".into()],
            8 => vec!["eight".into()],
            _ => vec![n.to_string()],
        });
        assert_eq!(
            unified_diff(&old, &near, "a", "b"),
            "--- a\n+++ b\n@@ -1,11 +1,11 @@\n 1\n-2\n+two\n 3\n 4\n 5\n 6\n 7\n-8\n+eight\n 9\n 10\n 11\n"
        );
        // A deletion at the end.
        assert_eq!(
            unified_diff("a\nb\n", "a\n", "x", "y"),
            "--- x\n+++ y\n@@ -1,2 +1 @@\n a\n-b\n"
        );
    }
}
