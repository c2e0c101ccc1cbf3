//! Reading `.npz` embedding files that numpy wrote (made by
//! `tests/fixtures/npz/make.py`): good files in every layout numpy uses,
//! and bad ones refused with the array and the row named.

use std::io::Cursor;
use std::path::PathBuf;

use procura_valuation::npz::{self, NpzError};
use procura_valuation::Precision;

fn read(name: &str) -> Result<npz::NpzDataset, NpzError> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", "npz", name]
        .iter()
        .collect();
    let file = std::fs::File::open(&path).expect("fixture exists");
    npz::read(std::io::BufReader::new(file))
}

fn message(name: &str) -> String {
    read(name).expect_err("refused").to_string()
}

#[test]
fn float32_rows_and_string_labels() {
    let data = read("good_f32.npz").expect("reads");
    assert_eq!(data.features.precision(), Precision::F32);
    assert_eq!(
        data.features.as_f32(),
        Some(&[0.5, -1.0, 2.0, 1.5, 0.25, -0.125][..])
    );
    assert_eq!(data.features.dim(), 3);
    assert_eq!(data.labels, ["pos", "neg"]);
    assert_eq!(data.providers, None);
}

#[test]
fn compressed_float64_integer_labels_and_byte_strings() {
    let data = read("good_compressed.npz").expect("reads");
    assert_eq!(data.features.precision(), Precision::F64);
    assert_eq!(
        data.features.as_f64(),
        Some(&[0.5, -1.0, 2.0, 1.5, 0.25, -0.125][..])
    );
    assert_eq!(data.labels, ["3", "-7"]);
    assert_eq!(
        data.providers,
        Some(vec!["acme".to_owned(), "zeta".to_owned()])
    );
}

#[test]
fn fortran_order_and_big_endian_read_as_c_order() {
    let data = read("good_fortran_big_endian.npz").expect("reads");
    assert_eq!(
        data.features.as_f64(),
        Some(&[0.5, -1.0, 2.0, 1.5, 0.25, -0.125][..])
    );
    assert_eq!(data.labels, ["1", "2"]);
    assert_eq!(data.providers, Some(vec!["a".to_owned(), "b".to_owned()]));
}

#[test]
fn bad_files_are_refused_naming_the_array() {
    let cases = [
        (
            "bad_dtype.npz",
            "array x: dtype \"<i4\" is not float32 or float64",
        ),
        (
            "bad_rank.npz",
            "array x: shape [6] has 1 dimensions, expected 2",
        ),
        (
            "bad_rank_3d.npz",
            "array x: shape [1, 2, 3] has 3 dimensions, expected 2",
        ),
        ("bad_length.npz", "array y: 3 entries, but x has 2 rows"),
        (
            "bad_provider_length.npz",
            "array provider: 1 entries, but x has 2 rows",
        ),
        ("bad_nan.npz", "array x: row 1, column 2: NaN is not finite"),
        (
            "bad_missing_y.npz",
            "no array named \"y\" (the archive holds: x)",
        ),
        (
            "bad_label_dtype.npz",
            "array y: dtype \"<f8\" is not integers or strings",
        ),
        ("bad_empty.npz", "array x: shape [0, 3] has no rows"),
        (
            "bad_object.npz",
            "array y: dtype \"|O\" is not a float, integer or string type",
        ),
        (
            "bad_member_size.npz",
            "array x: the archive says the member is",
        ),
        ("bad_bomb.npz", "array x: 268435584 bytes compressed into"),
        (
            "bad_header.npz",
            "array x: the header \"{'descr': '<f4',\" is not a Python literal",
        ),
        (
            "bad_shape_overflow.npz",
            "array x: shape [4294967296, 4294967296, 4294967296] is more than the limit",
        ),
        (
            "bad_deep_header.npz",
            "array x: the header nests brackets more than 4 deep",
        ),
        ("bad_not_zip.npz", "not a readable .npz (zip) archive"),
    ];
    for (name, expected) in cases {
        let got = message(name);
        assert!(
            got.starts_with(expected),
            "{name}: {got:?} does not start with {expected:?}"
        );
    }
}

#[test]
fn what_is_written_reads_back() {
    let x: Vec<f32> = vec![f32::MIN_POSITIVE / 8.0, -0.0, 3.0e38, 1.0, -2.5, 7.0];
    let labels: Vec<String> = ["ünï", ""].map(str::to_owned).to_vec();
    let providers: Vec<String> = ["p1", "provider two"].map(str::to_owned).to_vec();
    let mut file = Cursor::new(Vec::new());
    npz::write(&mut file, &x, 3, Some(&labels), Some(&providers)).expect("writes");
    file.set_position(0);
    let data = npz::read(file).expect("reads");
    let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(data.features.as_f32().expect("f32")), bits(&x));
    assert_eq!(data.labels, labels);
    assert_eq!(data.providers, Some(providers));
}

#[test]
fn writing_refuses_lengths_that_do_not_fit() {
    let mut file = Cursor::new(Vec::new());
    let labels = vec!["a".to_owned()];
    let error = npz::write(&mut file, &[1.0, 2.0, 3.0, 4.0], 2, Some(&labels), None)
        .expect_err("one label for two rows");
    assert_eq!(error.to_string(), "y: 1 entries, but x has 2 rows");
    let error = npz::write(&mut file, &[1.0, 2.0, 3.0], 2, None, None).expect_err("ragged");
    assert_eq!(error.to_string(), "x: 3 numbers is not whole rows of 2");
}
