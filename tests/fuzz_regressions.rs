//! The fuzz targets' properties on every committed input: the seeds
//! (`fuzz/seeds/<target>/`) and the crashes found so far, minimised
//! (`fuzz/regressions/<target>/`). The checks are the fuzzers' own
//! (`fuzz/src/lib.rs`), so this needs neither cargo-fuzz nor a nightly
//! compiler. See `scripts/fuzz`.

#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of `kind` through its target; fails naming each input
/// that panics.
fn run_all(kind: &str) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for (target, check) in checks::TARGETS {
        for path in inputs(kind, target) {
            let data = std::fs::read(&path).expect("read input");
            count += 1;
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{target}: {}: {msg}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    count
}

#[test]
fn seeds_hold_the_properties() {
    assert!(run_all("seeds") >= checks::TARGETS.len());
}

#[test]
fn no_regression_input_panics() {
    run_all("regressions");
}

#[test]
fn every_target_has_a_fuzzer_and_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, _) in checks::TARGETS {
        let source = root.join("fuzz_targets").join(format!("{target}.rs"));
        assert!(source.is_file(), "{} is missing", source.display());
        assert!(!inputs("seeds", target).is_empty(), "no seeds for {target}");
    }
}
