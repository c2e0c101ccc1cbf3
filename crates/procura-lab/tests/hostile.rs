//! Hostile experiment files (issue 14): small files that describe huge
//! grids, runs or numbers are refused, naming the key, before anything of
//! that size is built; long sweeps are read in linear time.

use std::time::{Duration, Instant};

use procura_lab::experiment::design::{parse_design, DesignError};
use procura_lab::experiment::Shard;
use procura_lab::limits::{MAX_CELLS, MAX_PROVIDER_IDS, MAX_RECORDS, MAX_SHARDS};

const BASE: &str = r#"
name = "hostile"
seed = 1
replicates = 2
mechanisms = ["qmia", "volume"]

[procurement]
providers = 4
budget_fraction = 0.3
cost = { distribution = "uniform", low = 0.5, high = 1.5 }
quality = { distribution = "uniform", low = 0.5, high = 1.0 }
utility = { distribution = "uniform", low = 0.0, high = 1.0 }
"#;

/// BASE with `n` two-valued sweeps of distinct keys.
fn with_two_valued_sweeps(n: usize) -> String {
    let mut text = BASE.to_owned();
    for i in 0..n {
        text.push_str(&format!(
            "\n[[sweep]]\nkey = \"procurement.k{i}\"\nvalues = [1, 2]\n"
        ));
    }
    text
}

fn refused(source: &str) -> String {
    parse_design(source).expect_err("refused").to_string()
}

#[test]
fn a_grid_above_the_cell_limit_is_refused_before_it_is_built() {
    // 2^17 = 131072 cells: more than MAX_CELLS.
    let message = refused(&with_two_valued_sweeps(17));
    assert_eq!(
        message,
        format!(
            "sweep: the sweeps' lengths multiply to 131072 cells, more than the {MAX_CELLS} \
             an experiment may have"
        )
    );
    // 40 two-valued sweeps, a 1.5 KB file: 2^40 cells; 70 overflow u64.
    let started = Instant::now();
    let source = with_two_valued_sweeps(40);
    assert!(source.len() < 2_500, "{}", source.len());
    assert!(refused(&source).contains("multiply to 1099511627776 cells"));
    let message = refused(&with_two_valued_sweeps(70));
    assert!(
        message.contains("multiply to more than 18446744073709551615 cells"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "nothing built");
}

#[test]
fn records_above_the_limit_are_refused_by_the_design() {
    // 4 cells × 3 000 000 replicates × 2 mechanisms = 24 000 000 records.
    let source = format!(
        "{}\n[[sweep]]\nkey = \"procurement.providers\"\nvalues = [3, 5]\n\
         \n[[sweep]]\nkey = \"procurement.budget_fraction\"\nvalues = [0.2, 0.5]\n",
        BASE.replacen("replicates = 2", "replicates = 3000000", 1)
    );
    let error = parse_design(&source).expect_err("too many records");
    assert!(matches!(error, DesignError::TooLarge { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "replicates: 4 cells × 3000000 replicates × 2 mechanisms is more than the \
             {MAX_RECORDS} records an experiment may have (a run, and a merge of its shards, \
             holds them all in memory); lower replicates or sweep fewer values"
        )
    );
    // 2^62 replicates overflow nothing and are refused the same way.
    let source = BASE.replacen("replicates = 2", "replicates = 4611686018427387904", 1);
    assert!(refused(&source).starts_with("replicates: 1 cells × 4611686018427387904 replicates"));
    // At the limit is fine.
    let source = BASE.replacen("replicates = 2", "replicates = 10000000", 1);
    assert!(parse_design(&source).is_ok());
}

#[test]
fn shard_counts_are_bounded() {
    let error = "1/18446744073709551615"
        .parse::<Shard>()
        .expect_err("too many shards");
    assert_eq!(
        error.to_string(),
        format!("\"1/18446744073709551615\": N is above the limit of {MAX_SHARDS} shards")
    );
    assert!(Shard::new(1, MAX_SHARDS + 1).is_err());
    assert!(Shard::new(MAX_SHARDS, MAX_SHARDS).is_ok());
}

#[test]
fn integers_above_the_toml_range_name_their_key() {
    let cases = [
        ("seed = 1", "seed = 18446744073709551615", "seed: "),
        (
            "high = 1.5",
            "high = 18446744073709551615",
            "procurement.cost.high: ",
        ),
        (
            "providers = 4",
            "providers = 99999999999999999999",
            "procurement.providers: ",
        ),
    ];
    for (from, to, key) in cases {
        let message = refused(&BASE.replacen(from, to, 1));
        assert!(message.starts_with(key), "{to}: {message}");
        assert!(message.contains("TOML integer"), "{to}: {message}");
    }
    let source = format!(
        "{BASE}\n[[sweep]]\nkey = \"procurement.budget_fraction\"\n\
         values = [0.2, 9223372036854775808]\n"
    );
    let message = refused(&source);
    assert!(message.starts_with("sweep[0].values[1]: "), "{message}");
}

#[test]
fn a_long_sweep_is_read_in_linear_time() {
    // 40 000 values (about 210 KB): each cell used to clone the whole file,
    // sweep included, which took minutes.
    let values: Vec<String> = (0..40_000)
        .map(|i| format!("{:.6}", 0.1 + f64::from(i) * 1e-5))
        .collect();
    let source = format!(
        "{}\n[[sweep]]\nkey = \"procurement.budget_fraction\"\nvalues = [{}]\n",
        BASE.replacen("replicates = 2", "replicates = 1", 1),
        values.join(", ")
    );
    assert!(source.len() > 200_000);
    let started = Instant::now();
    let design = parse_design(&source).expect("valid");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    assert_eq!(design.cells().len(), 40_000);
    assert_eq!(design.cells()[39_999].labels(), ["0.49999"]);
}

#[test]
fn provider_ids_are_shared_and_bounded() {
    // Cells with the same provider count share their ids: 1 000 cells of
    // 200 000 providers each hold the same 200 000 (not 200 million).
    let values: Vec<String> = (0..1_000).map(|i| format!("0.{i:03}1")).collect();
    let source = format!(
        "{}\n[[sweep]]\nkey = \"procurement.budget_fraction\"\nvalues = [{}]\n",
        BASE.replacen("providers = 4", "providers = 200000", 1)
            .replacen("replicates = 2", "replicates = 1", 1),
        values.join(", ")
    );
    let started = Instant::now();
    assert_eq!(parse_design(&source).expect("valid").cells().len(), 1_000);
    assert!(started.elapsed() < Duration::from_secs(20));
    // Distinct counts each hold their own: 11 near a million are too many,
    // refused before any is built.
    let counts: Vec<String> = (0..11).map(|i| (1_000_000 - i).to_string()).collect();
    let source = format!(
        "{BASE}\n[[sweep]]\nkey = \"procurement.providers\"\nvalues = [{}, 1000000]\n",
        counts.join(", ")
    );
    let started = Instant::now();
    assert_eq!(
        refused(&source),
        format!(
            "sweep[0].values: the distinct provider counts add up to 10999945, more than the \
             {MAX_PROVIDER_IDS} provider ids an experiment's cells may hold"
        )
    );
    assert!(started.elapsed() < Duration::from_secs(1), "nothing built");
}
