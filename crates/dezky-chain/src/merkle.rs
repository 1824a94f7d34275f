//! RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing, proofs and verification.
//!
//! Storage-independent: a proof is described as a list of leaf ranges whose subtree hashes the
//! caller looks up. Every range decomposes into *perfect, aligned* subtrees ([`NodeId`]), which is
//! exactly what a log persists as it grows (about one new node per appended leaf), so serving a
//! proof costs O(log n) node reads and no tree walk.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// A perfect subtree: the `2^level` leaves starting at `index << level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub fn start(self) -> u64 {
        self.index << self.level
    }

    pub fn end(self) -> u64 {
        (self.index + 1) << self.level
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("leaf {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {from} is larger than {to}")]
    SizesOutOfOrder { from: u64, to: u64 },
    #[error("leaf range {start}..{end} is empty")]
    EmptyRange { start: u64, end: u64 },
}

/// The hash of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A leaf hash: SHA-256(0x00 ‖ data).
pub fn hash_leaf(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// An interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
pub(crate) fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The perfect aligned subtrees that cover `[start, end)`, left to right, as RFC 9162's
/// recursive split produces them (largest first). `start` must be a multiple of the first
/// piece's size, which holds for every range a proof asks for.
pub fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = vec![];
    let mut position = start;
    while position < end {
        let remaining = end - position;
        let mut level = 63 - remaining.leading_zeros() as u8;
        while !position.is_multiple_of(1u64 << level) {
            level -= 1;
        }
        nodes.push(NodeId {
            level,
            index: position >> level,
        });
        position += 1u64 << level;
    }
    nodes
}

/// The Merkle tree hash of a range from the hashes of its `range_nodes`, in order.
pub fn fold_range(node_hashes: &[Hash]) -> Hash {
    match node_hashes.split_last() {
        None => empty_root(),
        Some((last, rest)) => rest.iter().rev().fold(*last, |right, left| hash_children(left, &right)),
    }
}

/// The Merkle tree hash of a list of leaf hashes, computed directly (for tests and verifiers
/// that hold all leaves).
pub fn root_of_leaves(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            hash_children(&root_of_leaves(&leaves[..k]), &root_of_leaves(&leaves[k..]))
        }
    }
}

fn inclusion_path(index: u64, start: u64, end: u64, out: &mut Vec<(u64, u64)>) {
    if end - start <= 1 {
        return;
    }
    let k = split_point(end - start);
    if index < start + k {
        inclusion_path(index, start, start + k, out);
        out.push((start + k, end));
    } else {
        inclusion_path(index, start + k, end, out);
        out.push((start, start + k));
    }
}

/// The leaf ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size`
/// leaves, in proof order (RFC 9162 §2.1.3.1, deepest first).
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = vec![];
    inclusion_path(index, 0, size, &mut out);
    Ok(out)
}

fn subproof(m: u64, start: u64, end: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
    let n = end - start;
    if m == n {
        if !complete {
            out.push((start, end));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, start, start + k, complete, out);
        out.push((start + k, end));
    } else {
        subproof(m - k, start + k, end, false, out);
        out.push((start, start + k));
    }
}

/// The leaf ranges whose hashes form the consistency proof from tree size `from` to `to`
/// (RFC 9162 §2.1.4.1). Empty when `from` is 0 or equals `to`.
pub fn consistency_ranges(from: u64, to: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if from > to {
        return Err(ProofError::SizesOutOfOrder { from, to });
    }
    let mut out = vec![];
    if from > 0 && from < to {
        subproof(from, 0, to, true, &mut out);
    }
    Ok(out)
}

/// RFC 9162 §2.1.3.2.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = hash_children(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = hash_children(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && &r == root
}

/// RFC 9162 §2.1.4.2, plus the trivial cases (from 0, or from == to with equal roots).
pub fn verify_consistency(from: u64, to: u64, from_root: &Hash, to_root: &Hash, proof: &[Hash]) -> bool {
    if from > to {
        return false;
    }
    if from == 0 {
        return proof.is_empty();
    }
    if from == to {
        return proof.is_empty() && from_root == to_root;
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if from.is_power_of_two() {
        path.push(*from_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (from - 1, to - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = hash_children(c, &fr);
            sr = hash_children(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = hash_children(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    &fr == from_root && &sr == to_root && s == 0
}

/// The right edge of a growing tree: the perfect subtrees covering `[0, size)`. Appending a
/// leaf completes zero or more new perfect subtrees, which the log persists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(NodeId, Hash)>,
}

impl Frontier {
    pub fn empty() -> Frontier {
        Frontier { size: 0, nodes: vec![] }
    }

    /// Rebuilds the frontier of a tree of `size` leaves from the hashes of `range_nodes(0, size)`.
    pub fn from_nodes(size: u64, hashes: &[Hash]) -> Option<Frontier> {
        let ids = range_nodes(0, size);
        (ids.len() == hashes.len()).then(|| Frontier {
            size,
            nodes: ids.into_iter().zip(hashes.iter().copied()).collect(),
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; returns the perfect subtrees of level ≥ 1 it completed.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut completed = vec![];
        let mut node = (
            NodeId {
                level: 0,
                index: self.size,
            },
            leaf,
        );
        while let Some(&(left_id, left_hash)) = self.nodes.last() {
            if left_id.level != node.0.level {
                break;
            }
            self.nodes.pop();
            node = (
                NodeId {
                    level: left_id.level + 1,
                    index: left_id.index / 2,
                },
                hash_children(&left_hash, &node.1),
            );
            completed.push(node);
        }
        self.nodes.push(node);
        self.size += 1;
        completed
    }

    pub fn root(&self) -> Hash {
        let hashes: Vec<Hash> = self.nodes.iter().map(|(_, hash)| *hash).collect();
        fold_range(&hashes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| hash_leaf(&i.to_be_bytes())).collect()
    }

    /// The hash of any range, computed naively from the leaves.
    fn range_hash(all: &[Hash], (start, end): (u64, u64)) -> Hash {
        root_of_leaves(&all[start as usize..end as usize])
    }

    /// The hash of a range as a log computes it: from its perfect nodes.
    fn range_hash_from_nodes(all: &[Hash], (start, end): (u64, u64)) -> Hash {
        let hashes: Vec<Hash> = range_nodes(start, end)
            .into_iter()
            .map(|node| root_of_leaves(&all[node.start() as usize..node.end() as usize]))
            .collect();
        fold_range(&hashes)
    }

    #[test]
    fn rfc_6962_empty_and_single_leaf_hashes() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex::encode(hash_leaf(&[])),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    /// The reference roots of the RFC 6962 / CT test vectors: leaves are the byte strings below.
    #[test]
    fn certificate_transparency_reference_roots() {
        let inputs: [&[u8]; 8] = [
            &[],
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
            ],
        ];
        let leaves: Vec<Hash> = inputs.iter().map(|data| hash_leaf(data)).collect();
        let expected = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        for (size, root) in expected.iter().enumerate() {
            assert_eq!(
                hex::encode(root_of_leaves(&leaves[..=size])),
                *root,
                "size {}",
                size + 1
            );
        }
    }

    #[test]
    fn range_nodes_are_perfect_aligned_and_cover_the_range() {
        assert_eq!(
            range_nodes(0, 6),
            vec![NodeId { level: 2, index: 0 }, NodeId { level: 1, index: 2 }]
        );
        assert_eq!(
            range_nodes(4, 7),
            vec![NodeId { level: 1, index: 2 }, NodeId { level: 0, index: 6 }]
        );
        assert!(range_nodes(3, 3).is_empty());
        for end in 1..70u64 {
            let nodes = range_nodes(0, end);
            assert_eq!(nodes.len(), end.count_ones() as usize);
            assert_eq!(nodes.last().unwrap().end(), end);
        }
    }

    #[test]
    fn out_of_range_requests_are_errors() {
        assert_eq!(
            inclusion_ranges(5, 5),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            consistency_ranges(6, 5),
            Err(ProofError::SizesOutOfOrder { from: 6, to: 5 })
        );
        assert_eq!(consistency_ranges(0, 5), Ok(vec![]));
        assert_eq!(consistency_ranges(5, 5), Ok(vec![]));
    }

    #[test]
    fn every_inclusion_and_consistency_proof_of_small_trees_verifies() {
        let all = leaves(40);
        for size in 1..=40u64 {
            let root = root_of_leaves(&all[..size as usize]);
            for index in 0..size {
                let proof: Vec<Hash> = inclusion_ranges(index, size)
                    .unwrap()
                    .into_iter()
                    .map(|r| range_hash(&all, r))
                    .collect();
                assert!(
                    verify_inclusion(&all[index as usize], index, size, &proof, &root),
                    "{index}/{size}"
                );
                assert!(!verify_inclusion(
                    &all[(index as usize + 1) % 40],
                    index,
                    size,
                    &proof,
                    &root
                ));
            }
            for from in 0..=size {
                let from_root = root_of_leaves(&all[..from as usize]);
                let proof: Vec<Hash> = consistency_ranges(from, size)
                    .unwrap()
                    .into_iter()
                    .map(|r| range_hash(&all, r))
                    .collect();
                assert!(
                    verify_consistency(from, size, &from_root, &root, &proof),
                    "{from}->{size}"
                );
            }
        }
    }

    #[test]
    fn frontier_matches_the_naive_root_and_emits_every_perfect_node_once() {
        let all = leaves(100);
        let mut frontier = Frontier::empty();
        let mut emitted = vec![];
        for (i, leaf) in all.iter().enumerate() {
            emitted.extend(frontier.push(*leaf));
            assert_eq!(frontier.root(), root_of_leaves(&all[..=i]));
        }
        // 100 leaves hold 50 + 25 + 12 + 6 + 3 + 1 = 97 perfect nodes above the leaves.
        assert_eq!(emitted.len(), 97);
        for (node, hash) in emitted {
            assert_eq!(hash, root_of_leaves(&all[node.start() as usize..node.end() as usize]));
        }
        let rebuilt_hashes: Vec<Hash> = range_nodes(0, 100)
            .into_iter()
            .map(|node| root_of_leaves(&all[node.start() as usize..node.end() as usize]))
            .collect();
        assert_eq!(Frontier::from_nodes(100, &rebuilt_hashes).unwrap(), frontier);
    }

    proptest! {
        #[test]
        fn proofs_verify_for_random_trees_and_fail_for_wrong_inputs(size in 1u64..300, index_seed in any::<u64>(), from_seed in any::<u64>(), flip in 0usize..32) {
            let all = leaves(size);
            let index = index_seed % size;
            let root = root_of_leaves(&all);
            let proof: Vec<Hash> = inclusion_ranges(index, size).unwrap().into_iter().map(|r| range_hash_from_nodes(&all, r)).collect();
            prop_assert!(verify_inclusion(&all[index as usize], index, size, &proof, &root));
            let mut wrong_leaf = all[index as usize];
            wrong_leaf[flip] ^= 1;
            prop_assert!(!verify_inclusion(&wrong_leaf, index, size, &proof, &root));
            if size > 1 {
                prop_assert!(!verify_inclusion(&all[index as usize], (index + 1) % size, size, &proof, &root));
            }
            let from = from_seed % (size + 1);
            let from_root = root_of_leaves(&all[..from as usize]);
            let consistency: Vec<Hash> = consistency_ranges(from, size).unwrap().into_iter().map(|r| range_hash_from_nodes(&all, r)).collect();
            prop_assert!(verify_consistency(from, size, &from_root, &root, &consistency));
            if from > 0 && from < size {
                let mut wrong_root = from_root;
                wrong_root[flip] ^= 1;
                prop_assert!(!verify_consistency(from, size, &wrong_root, &root, &consistency));
                let mut wrong_new = root;
                wrong_new[flip] ^= 1;
                prop_assert!(!verify_consistency(from, size, &from_root, &wrong_new, &consistency));
            }
        }
    }
}
