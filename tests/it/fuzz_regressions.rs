//! The fuzz targets' properties on every committed input: the seeds
//! (`fuzz/seeds/<target>/`) and the crashes found so far, minimised
//! (`fuzz/regressions/<target>/`). The checks are the fuzzers' own
//! (`fuzz/src/lib.rs`), so this needs neither cargo-fuzz nor a nightly
//! compiler. See `scripts/fuzz`.

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The inputs of `target` under `fuzz/<kind>/`, sorted. The corpus directory
/// `fuzz/<kind>/` must exist (a missing or moved corpus fails, rather than
/// passing with zero inputs); a target may have no directory of its own there.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind);
    assert!(
        corpus.is_dir(),
        "the corpus directory {} is missing",
        corpus.display()
    );
    let dir = corpus.join(target);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("cannot read {}: {e}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("read the corpus directory").path())
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
    // Crashes found so far are committed: none read means a lost corpus.
    assert!(run_all("regressions") > 0, "no regression input was read");
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
