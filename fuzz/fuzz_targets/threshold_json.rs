//! `cargo +nightly fuzz run threshold_json`: see [`procura_fuzz::threshold_json`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procura_fuzz::threshold_json(data));
