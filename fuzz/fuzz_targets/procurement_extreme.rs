//! `cargo +nightly fuzz run procurement_extreme`: see [`procura_fuzz::procurement_extreme`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procura_fuzz::procurement_extreme(data));
