//! Mean pooling over the attention mask, then L2 normalisation: the
//! sentence-transformers `Pooling` (mean tokens) and `Normalize` modules,
//! on the encoder's last hidden states.
//!
//! ```text
//! mean_d  = Σ_t mask_t · h_{t,d}  /  max(Σ_t mask_t, 1e-9)
//! e_d     = mean_d / max(‖mean‖₂, 1e-12)
//! ```
//!
//! h is the last hidden state of token t (padding included, masked out),
//! mask_t is 1 for a real token ([CLS] and [SEP] included) and 0 for
//! padding. The clamps are sentence-transformers' (`torch.clamp(min=1e-9)`)
//! and PyTorch's (`F.normalize`, eps 1e-12). Sums are accumulated in f64
//! and rounded once to f32, so the result does not depend on the order of
//! the tokens' summation.

/// Pools one sequence: `hidden` is `mask.len()` rows of `out.len()` floats
/// (row-major), `out` receives the normalised mean of the rows whose mask
/// is 1.
pub(crate) fn mean_pool_normalised(hidden: &[f32], mask: &[u32], out: &mut [f32]) {
    let dim = out.len();
    debug_assert_eq!(hidden.len(), mask.len() * dim);
    let mut sum = vec![0.0_f64; dim];
    let mut count = 0.0_f64;
    for (row, &keep) in hidden.chunks_exact(dim).zip(mask) {
        if keep == 0 {
            continue;
        }
        count += 1.0;
        for (total, &value) in sum.iter_mut().zip(row) {
            *total += f64::from(value);
        }
    }
    let count = count.max(1e-9);
    // sentence-transformers rounds the mean to f32 before normalising.
    let mean: Vec<f64> = sum
        .iter()
        .map(|&total| f64::from((total / count) as f32))
        .collect();
    let norm = mean.iter().map(|m| m * m).sum::<f64>().sqrt().max(1e-12);
    for (slot, m) in out.iter_mut().zip(&mean) {
        *slot = (m / norm) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::mean_pool_normalised;

    /// Pools `hidden` (rows of `dim`) under `mask` and compares with
    /// `expected` to 1e-7.
    fn check(hidden: &[f32], mask: &[u32], expected: &[f32]) {
        let mut out = vec![f32::NAN; expected.len()];
        mean_pool_normalised(hidden, mask, &mut out);
        for (got, want) in out.iter().zip(expected) {
            assert!((got - want).abs() <= 1e-7, "{out:?} != {expected:?}");
        }
    }

    #[test]
    fn pooling() {
        // One token: its own direction.
        check(&[3.0, 4.0], &[1], &[0.6, 0.8]);
        // Two tokens: the mean (2, 2), normalised.
        check(
            &[1.0, 3.0, 3.0, 1.0],
            &[1, 1],
            &[0.707_106_77, 0.707_106_77],
        );
        // Padding is ignored, whatever it holds.
        check(&[3.0, 4.0, 1e30, -7.0], &[1, 0], &[0.6, 0.8]);
        // The scale of the mean does not matter.
        check(&[30.0, 40.0, 0.3, 0.4], &[1, 1], &[0.6, 0.8]);
        // A zero mean stays zero (no division by zero): the 1e-12 clamp.
        check(&[1.0, -2.0, -1.0, 2.0], &[1, 1], &[0.0, 0.0]);
        // No real token at all: zero, by the 1e-9 clamp of the count.
        check(&[1.0, 2.0], &[0], &[0.0, 0.0]);
        // Negative and mixed signs.
        check(
            &[-1.0, 0.0, 0.0, -3.0, 0.0, 0.0],
            &[1, 1, 1],
            &[-0.316_227_77, -0.948_683_3],
        );
    }

    #[test]
    fn pooled_vectors_have_unit_norm() {
        let hidden: Vec<f32> = (0..5 * 384)
            .map(|i| ((i * 7919) % 1000) as f32 / 97.0 - 5.0)
            .collect();
        let mut out = vec![0.0_f32; 384];
        mean_pool_normalised(&hidden, &[1, 1, 1, 0, 0], &mut out);
        let norm: f64 = out
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-6, "{norm}");
    }
}
