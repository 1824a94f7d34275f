//! Range proofs: a contiguous run of leaves sits at exactly these positions in the tree of a
//! signed checkpoint.
//!
//! An inclusion proof shows one leaf; an offline bundle carries thousands, so it proves the
//! whole run at once. RFC 9162 defines the tree hash by recursive splitting; walking that
//! recursion from the root, every subtree lies entirely inside the run (its hash is computed
//! from the run's own leaves), entirely outside it (its hash is carried in the proof), or
//! straddles a boundary of the run (split further). Only the two boundaries are ever split, so
//! the proof holds O(log n) hashes however long the run is, and the verifier recomputes the
//! root from leaves it hashed itself. With the run starting at 0 and ending at the tree size
//! the proof is empty: the checkpoint's tree is fully covered.
//!
//! The inside subtrees are contiguous runs of leaves in order, so [`RangeRootBuilder`] hashes
//! them while the leaves stream past (one [`Frontier`] at a time): memory stays O(log n).

use crate::merkle::{Frontier, Hash, ProofError, hash_children, split_point};

/// One subtree the recursion stops at, as a half-open leaf range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangePart {
    /// Inside the run: hashed from the run's leaves.
    Known { start: u64, end: u64 },
    /// Outside the run: its hash is in the proof.
    Proof { start: u64, end: u64 },
}

fn walk(start: u64, end: u64, run: (u64, u64), out: &mut Vec<RangePart>) {
    let (first, last) = run;
    if end <= first || start >= last {
        out.push(RangePart::Proof { start, end });
    } else if first <= start && end <= last {
        out.push(RangePart::Known { start, end });
    } else {
        // Straddling a boundary means at least two leaves, so the split is defined.
        let k = split_point(end - start);
        walk(start, start + k, run, out);
        walk(start + k, end, run, out);
    }
}

fn check_run(start: u64, end: u64, size: u64) -> Result<(), ProofError> {
    if start >= end {
        return Err(ProofError::EmptyRange { start, end });
    }
    if end > size {
        return Err(ProofError::IndexOutOfRange { index: end - 1, size });
    }
    Ok(())
}

/// The subtrees, left to right, that prove the run `[start, end)` in a tree of `size` leaves.
pub fn range_proof_parts(start: u64, end: u64, size: u64) -> Result<Vec<RangePart>, ProofError> {
    check_run(start, end, size)?;
    let mut parts = vec![];
    walk(0, size, (start, end), &mut parts);
    Ok(parts)
}

/// The leaf ranges whose hashes form the range proof (the `Proof` parts, in order).
pub fn range_proof_ranges(start: u64, end: u64, size: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    Ok(range_proof_parts(start, end, size)?
        .into_iter()
        .filter_map(|part| match part {
            RangePart::Proof { start, end } => Some((start, end)),
            RangePart::Known { .. } => None,
        })
        .collect())
}

/// The root of the tree of `size` leaves, from the hashes of the run's `Known` parts and of
/// the `Proof` parts, each in order (the recursion of [`range_proof_parts`] replayed); `None`
/// when the run is invalid or either list has the wrong length.
pub fn root_from_range(start: u64, end: u64, size: u64, known: &[Hash], proof: &[Hash]) -> Option<Hash> {
    check_run(start, end, size).ok()?;
    let (mut known, mut proof) = (known.iter(), proof.iter());
    let root = replay(0, size, (start, end), &mut known, &mut proof)?;
    (known.next().is_none() && proof.next().is_none()).then_some(root)
}

fn replay(
    start: u64,
    end: u64,
    run: (u64, u64),
    known: &mut std::slice::Iter<'_, Hash>,
    proof: &mut std::slice::Iter<'_, Hash>,
) -> Option<Hash> {
    let (first, last) = run;
    if end <= first || start >= last {
        proof.next().copied()
    } else if first <= start && end <= last {
        known.next().copied()
    } else {
        let k = split_point(end - start);
        let left = replay(start, start + k, run, known, proof)?;
        let right = replay(start + k, end, run, known, proof)?;
        Some(hash_children(&left, &right))
    }
}

/// Hashes the `Known` parts of a range proof as the run's leaves stream past in order.
#[derive(Clone, Debug)]
pub struct RangeRootBuilder {
    run: (u64, u64),
    size: u64,
    proof_len: usize,
    /// The `Known` parts, in order, and which one the next leaf belongs to.
    known: Vec<(u64, u64)>,
    current: usize,
    frontier: Frontier,
    hashes: Vec<Hash>,
    next_index: u64,
    /// A leaf arrived out of order or outside the run: the root cannot be the signed one.
    disordered: bool,
}

impl RangeRootBuilder {
    pub fn new(start: u64, end: u64, size: u64) -> Result<RangeRootBuilder, ProofError> {
        let parts = range_proof_parts(start, end, size)?;
        let known: Vec<(u64, u64)> = parts
            .iter()
            .filter_map(|part| match *part {
                RangePart::Known { start, end } => Some((start, end)),
                RangePart::Proof { .. } => None,
            })
            .collect();
        Ok(RangeRootBuilder {
            run: (start, end),
            size,
            proof_len: parts.len() - known.len(),
            known,
            current: 0,
            frontier: Frontier::empty(),
            hashes: vec![],
            next_index: start,
            disordered: false,
        })
    }

    /// How many proof hashes [`RangeRootBuilder::finish`] expects.
    pub fn proof_len(&self) -> usize {
        self.proof_len
    }

    /// The leaf at tree position `index`. Leaves past the run are ignored (the run may end
    /// before the bundle does); a missing or repeated leaf makes the root unobtainable.
    pub fn push(&mut self, index: u64, leaf: Hash) {
        let Some(&(_, part_end)) = self.known.get(self.current) else {
            return;
        };
        if index != self.next_index {
            self.disordered = true;
            return;
        }
        self.next_index += 1;
        self.frontier.push(leaf);
        if index + 1 == part_end {
            self.hashes.push(self.frontier.root());
            self.frontier = Frontier::empty();
            self.current += 1;
        }
    }

    /// The recomputed root, or `None` when leaves were missing, out of order, or the proof has
    /// the wrong number of hashes.
    pub fn finish(self, proof: &[Hash]) -> Option<Hash> {
        if self.disordered || self.hashes.len() != self.known.len() {
            return None;
        }
        root_from_range(self.run.0, self.run.1, self.size, &self.hashes, proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{hash_leaf, root_of_leaves};
    use proptest::prelude::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| hash_leaf(&i.to_be_bytes())).collect()
    }

    fn proof_for(all: &[Hash], start: u64, end: u64) -> Vec<Hash> {
        range_proof_ranges(start, end, all.len() as u64)
            .unwrap()
            .into_iter()
            .map(|(s, e)| root_of_leaves(&all[s as usize..e as usize]))
            .collect()
    }

    fn build(all: &[Hash], start: u64, end: u64, size: u64) -> RangeRootBuilder {
        let mut builder = RangeRootBuilder::new(start, end, size).unwrap();
        for index in start..end {
            builder.push(index, all[index as usize]);
        }
        builder
    }

    #[test]
    fn a_fully_covered_tree_needs_no_proof() {
        let all = leaves(13);
        assert_eq!(range_proof_ranges(0, 13, 13).unwrap(), vec![]);
        assert_eq!(build(&all, 0, 13, 13).finish(&[]), Some(root_of_leaves(&all)));
    }

    #[test]
    fn one_leaf_is_an_inclusion_proof() {
        // A run of one leaf needs exactly the RFC 9162 audit path's ranges (in tree order).
        let mut ranges = range_proof_ranges(5, 6, 7).unwrap();
        let mut path = crate::merkle::inclusion_ranges(5, 7).unwrap();
        ranges.sort();
        path.sort();
        assert_eq!(ranges, path);
    }

    #[test]
    fn bad_runs_are_errors() {
        assert_eq!(
            range_proof_parts(4, 4, 10),
            Err(ProofError::EmptyRange { start: 4, end: 4 })
        );
        assert_eq!(
            range_proof_parts(4, 11, 10),
            Err(ProofError::IndexOutOfRange { index: 10, size: 10 })
        );
    }

    #[test]
    fn missing_or_repeated_leaves_and_wrong_proofs_give_no_root() {
        let all = leaves(40);
        let proof = proof_for(&all, 10, 30);
        let mut missing = RangeRootBuilder::new(10, 30, 40).unwrap();
        for index in (10..30).filter(|index| *index != 17) {
            missing.push(index, all[index as usize]);
        }
        assert_eq!(missing.finish(&proof), None);
        assert_eq!(build(&all, 10, 30, 40).finish(&proof[1..]), None);
        let mut longer = proof.clone();
        longer.push(all[0]);
        assert_eq!(build(&all, 10, 30, 40).finish(&longer), None);
        let mut short = RangeRootBuilder::new(10, 30, 40).unwrap();
        for index in 10..29 {
            short.push(index, all[index as usize]);
        }
        assert_eq!(short.finish(&proof), None);
    }

    proptest! {
        #[test]
        fn every_run_of_every_tree_proves_its_root(size in 1u64..300, a in any::<u64>(), b in any::<u64>(), flip in 0usize..32) {
            let all = leaves(size);
            let (x, y) = (a % size, b % size);
            let (start, end) = (x.min(y), x.max(y) + 1);
            let proof = proof_for(&all, start, end);
            let root = root_of_leaves(&all);
            let builder = build(&all, start, end, size);
            prop_assert_eq!(builder.proof_len(), proof.len());
            prop_assert_eq!(builder.finish(&proof), Some(root));
            // O(log n) proof hashes: at most two per level.
            prop_assert!(proof.len() as u32 <= 2 * (64 - size.leading_zeros()));
            // A changed leaf anywhere in the run changes the root.
            let changed_index = start + (a % (end - start));
            let mut changed = all.clone();
            changed[changed_index as usize][flip] ^= 1;
            prop_assert_ne!(build(&changed, start, end, size).finish(&proof), Some(root));
            // So does a changed proof hash.
            if !proof.is_empty() {
                let mut wrong = proof.clone();
                let at = (b as usize) % wrong.len();
                wrong[at][flip] ^= 1;
                prop_assert_ne!(build(&all, start, end, size).finish(&wrong), Some(root));
            }
            // The same run placed one position off does not verify.
            if end < size {
                let mut shifted = RangeRootBuilder::new(start + 1, end + 1, size).unwrap();
                for index in start..end {
                    shifted.push(index + 1, all[index as usize]);
                }
                let shifted_proof = proof_for(&all, start + 1, end + 1);
                prop_assert_ne!(shifted.finish(&shifted_proof), Some(root));
            }
        }
    }
}
