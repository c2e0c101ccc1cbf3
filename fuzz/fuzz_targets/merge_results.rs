//! `cargo +nightly fuzz run merge_results`: see [`procura_fuzz::merge_results`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procura_fuzz::merge_results(data));
