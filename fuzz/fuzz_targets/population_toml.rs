//! `cargo +nightly fuzz run population_toml`: see [`procura_fuzz::population_toml`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procura_fuzz::population_toml(data));
