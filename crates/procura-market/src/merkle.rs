//! The round's append-only Merkle log (spec §C.4), hashed as in RFC 6962 /
//! RFC 9162 §2.1:
//!
//! - leaf hash: SHA-256(0x00 ‖ leaf bytes);
//! - interior node: SHA-256(0x01 ‖ left ‖ right);
//! - the root of n > 1 leaves, MTH(D\[n\]), splits at k, the largest power
//!   of two below n: node(MTH(D\[0:k\]), MTH(D\[k:n\])); the root of one leaf
//!   is its leaf hash, of none SHA-256 of the empty string.
//!
//! [`Tree`] keeps the hash of every complete, aligned subtree, so an append
//! costs O(1) amortised and the root, an inclusion proof or a consistency
//! proof at any earlier size costs O(log² n). The verifiers
//! ([`verify_inclusion`], [`verify_consistency`]) are RFC 9162 §2.1.3.2 and
//! §2.1.4.2, step for step.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// SHA-256 of `bytes`.
#[must_use]
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// The leaf hash of `leaf`: SHA-256(0x00 ‖ leaf).
#[must_use]
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// An interior node: SHA-256(0x01 ‖ left ‖ right).
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty log: SHA-256 of the empty string.
#[must_use]
pub fn empty_root() -> Hash {
    sha256(b"")
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH over `leaves` (leaf hashes), by the definition: the naive root that
/// [`Tree`] is tested against.
#[must_use]
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// Why a proof was not served: the index or sizes are out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// An inclusion proof for a leaf at or past the tree size.
    #[error("index {index} is not below the tree size {size}")]
    Index {
        /// The leaf asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// A size past the log's.
    #[error("size {size} is past the log's size {log}")]
    Size {
        /// The size asked for.
        size: u64,
        /// The log's size.
        log: u64,
    },
    /// A consistency proof from a larger size to a smaller one.
    #[error("from {from} is past to {to}")]
    Order {
        /// The first size.
        from: u64,
        /// The second size.
        to: u64,
    },
}

/// An append-only Merkle tree of leaf hashes.
///
/// `levels[h][i]` is the root of the complete subtree over leaves
/// `[i·2ʰ, (i+1)·2ʰ)`; every complete, aligned subtree is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Tree {
        Tree::default()
    }

    /// The tree over `leaves`, in order.
    #[must_use]
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Tree {
        let mut tree = Tree::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// The number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The leaf hash at `index`, if there is one.
    #[must_use]
    pub fn leaf(&self, index: u64) -> Option<&Hash> {
        self.levels.first()?.get(usize::try_from(index).ok()?)
    }

    /// Appends a leaf hash, completing every subtree it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut height = 0;
        let mut hash = leaf;
        loop {
            if self.levels.len() == height {
                self.levels.push(Vec::new());
            }
            let level = &mut self.levels[height];
            level.push(hash);
            let index = level.len() - 1;
            if index.is_multiple_of(2) {
                return;
            }
            hash = node_hash(&level[index - 1], &level[index]);
            height += 1;
        }
    }

    /// MTH(D\[start:end\]) for a range the recursions below produce: `start`
    /// is a multiple of a power of two ≥ `end − start`'s left split, so every
    /// left part is a stored complete subtree.
    fn range_root(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        match n {
            0 => empty_root(),
            _ if n.is_power_of_two() && start.is_multiple_of(n) => {
                let height = n.trailing_zeros() as usize;
                self.levels[height][(start >> height) as usize]
            }
            _ => {
                let k = split(n);
                node_hash(
                    &self.range_root(start, start + k),
                    &self.range_root(start + k, end),
                )
            }
        }
    }

    fn check_size(&self, size: u64) -> Result<(), RangeError> {
        if size > self.size() {
            return Err(RangeError::Size {
                size,
                log: self.size(),
            });
        }
        Ok(())
    }

    /// The root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, RangeError> {
        self.check_size(size)?;
        Ok(self.range_root(0, size))
    }

    /// The root of the whole tree.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.range_root(0, self.size())
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size`
    /// leaves: RFC 9162 §2.1.3.1, PATH(m, D\[n\]).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, RangeError> {
        self.check_size(size)?;
        if index >= size {
            return Err(RangeError::Index { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    /// PATH(m, D\[start:start+n\]), written leaf side first.
    fn path(&self, m: u64, start: u64, n: u64, proof: &mut Vec<Hash>) {
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, start, k, proof);
            proof.push(self.range_root(start + k, start + n));
        } else {
            self.path(m - k, start + k, n - k, proof);
            proof.push(self.range_root(start, start + k));
        }
    }

    /// The consistency proof from the tree of the first `from` leaves to
    /// that of the first `to`: RFC 9162 §2.1.4.1, PROOF(m, D\[n\]). Empty
    /// when `from` is 0 or equals `to`.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, RangeError> {
        self.check_size(to)?;
        if from > to {
            return Err(RangeError::Order { from, to });
        }
        let mut proof = Vec::new();
        if from > 0 {
            self.subproof(from, 0, to, true, &mut proof);
        }
        Ok(proof)
    }

    /// SUBPROOF(m, D\[start:start+n\], b).
    fn subproof(&self, m: u64, start: u64, n: u64, whole: bool, proof: &mut Vec<Hash>) {
        if m == n {
            if !whole {
                proof.push(self.range_root(start, start + n));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, k, whole, proof);
            proof.push(self.range_root(start + k, start + n));
        } else {
            self.subproof(m - k, start + k, n - k, false, proof);
            proof.push(self.range_root(start, start + k));
        }
    }
}

/// Why a proof does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The index is not below the tree size.
    #[error("the index is not below the tree size")]
    IndexOutOfRange,
    /// The first size is past the second.
    #[error("the first tree is larger than the second")]
    SizesOutOfOrder,
    /// The proof has the wrong number of hashes for its sizes.
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    /// The proof's hashes do not lead to the root.
    #[error("the proof does not lead to the root")]
    RootMismatch,
}

/// Verifies that `leaf` (a leaf hash) is leaf `index` of the tree of `size`
/// leaves with root `root`: RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange);
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n % 2 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n.is_multiple_of(2) {
                while f_n.is_multiple_of(2) && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `from` leaves with root `from_root` is a
/// prefix of the tree of `to` leaves with root `to_root`: RFC 9162
/// §2.1.4.2. From the empty tree the proof must be empty (every tree
/// extends it); between equal sizes it must be empty and the roots equal.
pub fn verify_consistency(
    from: u64,
    to: u64,
    proof: &[Hash],
    from_root: &Hash,
    to_root: &Hash,
) -> Result<(), ProofError> {
    if from > to {
        return Err(ProofError::SizesOutOfOrder);
    }
    if from == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(ProofError::WrongLength)
        };
    }
    if from == to {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if from_root == to_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    // Step 1: between different sizes the proof is never empty.
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    // Step 2: when `from` is a power of two, its root is the proof's first
    // node.
    let mut nodes: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if from.is_power_of_two() {
        nodes.push(*from_root);
    }
    nodes.extend_from_slice(proof);
    let Some((first, rest)) = nodes.split_first() else {
        return Err(ProofError::WrongLength);
    };
    // Steps 3–5.
    let (mut f_n, mut s_n) = (from - 1, to - 1);
    while f_n % 2 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut f_r, mut s_r) = (*first, *first);
    // Step 6.
    for c in rest {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n % 2 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n.is_multiple_of(2) {
                while f_n.is_multiple_of(2) && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 7.
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if &f_r != from_root || &s_r != to_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    fn flip(proof: &[Hash], at: usize) -> Vec<Hash> {
        let mut flipped = proof.to_vec();
        flipped[at][at % 32] ^= 1 << (at % 8);
        flipped
    }

    #[test]
    fn the_tree_root_is_the_naive_root_at_every_size() {
        let all = leaves(64);
        let tree = Tree::from_leaves(all.iter().copied());
        for size in 0..=64 {
            assert_eq!(
                tree.root_at(size).expect("in range"),
                root_of(&all[..size as usize])
            );
        }
        assert_eq!(
            tree.root_at(65),
            Err(RangeError::Size { size: 65, log: 64 })
        );
    }

    #[test]
    fn every_inclusion_proof_up_to_64_verifies_and_no_tampered_one_does() {
        let all = leaves(64);
        let tree = Tree::from_leaves(all.iter().copied());
        for size in 1..=64u64 {
            let root = root_of(&all[..size as usize]);
            for index in 0..size {
                let leaf = &all[index as usize];
                let proof = tree.inclusion_proof(index, size).expect("in range");
                assert_eq!(verify_inclusion(index, size, leaf, &proof, &root), Ok(()));
                // Another leaf, another index, an index past the size, a
                // changed hash, a proof one hash short or long: all
                // refused. (A wrong size alone can pass: the root is what
                // binds the size, through the signed checkpoint.)
                let other = leaf_hash(b"other");
                assert!(verify_inclusion(index, size, &other, &proof, &root).is_err());
                if size > 1 {
                    let next = (index + 1) % size;
                    assert!(verify_inclusion(next, size, leaf, &proof, &root).is_err());
                }
                assert!(verify_inclusion(size, size, leaf, &proof, &root).is_err());
                for at in 0..proof.len() {
                    assert!(verify_inclusion(index, size, leaf, &flip(&proof, at), &root).is_err());
                }
                if let Some((_, shorter)) = proof.split_last() {
                    assert!(verify_inclusion(index, size, leaf, shorter, &root).is_err());
                }
                let mut longer = proof.clone();
                longer.push(root);
                assert!(verify_inclusion(index, size, leaf, &longer, &root).is_err());
            }
        }
    }

    #[test]
    fn every_consistency_proof_up_to_64_verifies_and_no_tampered_one_does() {
        let all = leaves(64);
        let tree = Tree::from_leaves(all.iter().copied());
        for to in 0..=64u64 {
            let to_root = root_of(&all[..to as usize]);
            for from in 0..=to {
                let from_root = root_of(&all[..from as usize]);
                let proof = tree.consistency_proof(from, to).expect("in range");
                assert_eq!(
                    verify_consistency(from, to, &proof, &from_root, &to_root),
                    Ok(())
                );
                if from == 0 {
                    continue;
                }
                // A forked first tree of the same size is caught.
                let fork = leaf_hash(b"fork");
                assert!(verify_consistency(from, to, &proof, &fork, &to_root).is_err());
                assert!(verify_consistency(from, to, &proof, &from_root, &fork).is_err());
                for at in 0..proof.len() {
                    assert!(
                        verify_consistency(from, to, &flip(&proof, at), &from_root, &to_root)
                            .is_err()
                    );
                }
                if let Some((_, shorter)) = proof.split_last() {
                    assert!(verify_consistency(from, to, shorter, &from_root, &to_root).is_err());
                }
                let mut longer = proof.clone();
                longer.push(to_root);
                assert!(verify_consistency(from, to, &longer, &from_root, &to_root).is_err());
                if from < to {
                    assert!(
                        verify_consistency(from + 1, to, &proof, &from_root, &to_root).is_err()
                    );
                    assert!(verify_consistency(to, from, &proof, &to_root, &from_root).is_err());
                }
            }
        }
        assert_eq!(
            tree.consistency_proof(5, 4),
            Err(RangeError::Order { from: 5, to: 4 })
        );
    }

    #[test]
    fn the_rfc_6962_test_leaves_give_the_published_roots() {
        let inputs: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ];
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let tree = Tree::from_leaves(inputs.iter().map(|leaf| leaf_hash(leaf)));
        for (k, root) in roots.iter().enumerate() {
            assert_eq!(
                hex::encode(tree.root_at(k as u64).expect("in range")),
                *root
            );
        }
    }
}
