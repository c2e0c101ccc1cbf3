//! `cargo +nightly fuzz run experiment_toml`: see [`procura_fuzz::experiment_toml`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procura_fuzz::experiment_toml(data));
