//! Hostile threshold instances (issue 14): inputs that are valid under
//! §B.1 but shaped to make the mechanisms slow. Each must clear in time,
//! with the payments §B.3 defines.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use procura_mechanisms::threshold::{withdrawal, ThresholdInstance, ThresholdSpec, UserSpec};

/// Longer than the fixed code takes in a debug build (well under a
/// second), far shorter than the plain walk took (42 s in release).
const LIMIT: Duration = Duration::from_secs(30);

/// `assigned` users of capacity a = 2⁻¹⁰ (exact sums) and costs 0.1 +
/// i·10⁻⁶ who fill T exactly, then `tail` users of capacity τ = 10⁻¹³
/// and costs 0.5 + i·10⁻⁶; reserve 1.
fn tiny_tail(assigned: usize, tail: usize) -> ThresholdInstance {
    let a = 1.0 / 1024.0;
    let mut users: Vec<UserSpec> = (0..assigned)
        .map(|i| UserSpec::new(format!("a{i:06}"), 0.1 + i as f64 * 1e-6, a))
        .collect();
    users
        .extend((0..tail).map(|i| UserSpec::new(format!("b{i:06}"), 0.5 + i as f64 * 1e-6, 1e-13)));
    ThresholdInstance::new(ThresholdSpec {
        threshold: assigned as f64 * a,
        reserve_price: Some(1.0),
        users,
        ..ThresholdSpec::default()
    })
    .expect("valid instance")
}

/// Runs `work` on a thread and waits at most [`LIMIT`] for it.
fn in_time<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = mpsc::channel();

    thread::spawn(move || {
        let _ = send.send(work());
    });
    match receive.recv_timeout(LIMIT) {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {LIMIT:?} "),
    }
}

/// 50,000 assigned users, then 50,000 of capacity 10⁻¹³: every assigned
/// user's payment integrates over all 50,000 tail users (each one it lets
/// pass leaves it τ less). The plain walk was O(m·tail), 42 s; the
/// payments must come in time and equal the closed form of this case:
///
/// ```text
/// t_i = a·r − τ·Σ_{k=1..tail} k·(c_{m+k} − c_{m+k−1})     (c_{m+tail} = r)
/// ```
///
/// (i keeps a up to the first tail cost, and each of the k tail users it
/// lets pass takes τ from it.)
#[test]
fn withdrawal_payments_past_many_tiny_capacities_are_fast() {
    let (assigned, tail) = (50_000, 50_000);
    let instance = tiny_tail(assigned, tail);
    let allocation = in_time("withdrawal::assign on 50,000 + 50,000 users", {
        let instance = instance.clone();
        move || withdrawal::assign(&instance).expect("reserve_price")
    });
    assert_eq!(allocation.assignments().len(), assigned);

    let (a, tau, reserve) = (1.0 / 1024.0, 1e-13, 1.0);
    let users = instance.users();
    let tail_costs: Vec<f64> = users[assigned..]
        .iter()
        .map(|user| user.cost())
        .chain(std::iter::once(reserve))
        .collect();
    let weighted: f64 = tail_costs
        .windows(2)
        .enumerate()
        .map(|(k, pair)| (k + 1) as f64 * (pair[1] - pair[0]))
        .sum();
    let expected = a * reserve - tau * weighted;
    for assignment in allocation.assignments() {
        let id = users[assignment.user].id();
        assert_eq!(assignment.amount, a, "{id}: amount");
        assert!(
            (assignment.payment - expected).abs() <= 1e-12 * a * reserve,
            "{id}: payment {:?}, expected {expected:?}",
            assignment.payment
        );
    }
}
