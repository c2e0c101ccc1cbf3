//! `cargo +nightly fuzz run threshold_extreme`: see [`procura_fuzz::threshold_extreme`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procura_fuzz::threshold_extreme(data));
