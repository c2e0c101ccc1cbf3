//! Times `transcript::verify` on a transcript file, several runs, in this
//! process (BENCHMARKS.md, "Live market server under load"):
//! `cargo run --release -p procura-market --example verify_transcript -- FILE [RUNS]`.
fn main() {
    let path = std::env::args().nth(1).expect("a transcript path");
    let runs: usize = std::env::args()
        .nth(2)
        .map_or(5, |n| n.parse().expect("runs"));
    let text = std::fs::read(&path).expect("readable");
    let transcript = procura_market::transcript::parse(&text).expect("a transcript");
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = std::time::Instant::now();
        let verified = procura_market::transcript::verify(&transcript).is_ok();
        times.push(start.elapsed().as_secs_f64());
        assert!(verified);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "median {:.3} s, min {:.3} s, max {:.3} s ({runs} runs)",
        times[runs / 2],
        times[0],
        times[runs - 1]
    );
}
