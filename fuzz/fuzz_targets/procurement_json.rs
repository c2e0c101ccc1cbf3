//! `cargo +nightly fuzz run procurement_json`: see [`procura_fuzz::procurement_json`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procura_fuzz::procurement_json(data));
