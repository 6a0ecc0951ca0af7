#![no_main]
//! See `ecr_login_fuzz::docker_config` (fuzz/src/lib.rs) for the properties checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ecr_login_fuzz::docker_config(data));
