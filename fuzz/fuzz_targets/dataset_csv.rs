//! `cargo +nightly fuzz run dataset_csv`: see [`procura_fuzz::dataset_csv`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procura_fuzz::dataset_csv(data));
