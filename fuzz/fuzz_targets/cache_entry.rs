#![no_main]
//! See `ecr_login_fuzz::cache_entry` (fuzz/src/lib.rs) for the properties checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ecr_login_fuzz::cache_entry(data));
