//! The part of an event's commitment that does not depend on its place in the chain.
//!
//! An event's personal commitment, `SHA-256(salt ‖ canonical personal fields)`, needs only the
//! event and a fresh salt; its seq, prevHash and leaf come from the chain head, read inside the
//! append transaction. The commitment (the costly part: it canonicalises and hashes the
//! metadata) is therefore computed before the event joins the sequencer's queue, by the caller
//! and in parallel with the group being written, and the serial append path only hashes the
//! short header, the chain link and the Merkle nodes.

use dezky_chain::leaf::{PersonalFields, personal_commitment};
use dezky_chain::merkle::Hash;
use dezky_core::NewAuditEvent;

/// An event's salt and the salted hash of its personal fields.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PersonalSeal {
    pub salt: [u8; 32],
    pub commitment: Hash,
}

impl PersonalSeal {
    /// A fresh random salt and the event's commitment under it.
    pub(crate) fn of(event: &NewAuditEvent) -> PersonalSeal {
        let salt: [u8; 32] = rand::random();
        PersonalSeal {
            salt,
            commitment: personal_commitment(&salt, &PersonalFields::of_new(event)),
        }
    }
}

/// One seal per event, in order.
pub(crate) fn seal_all<'a>(events: impl IntoIterator<Item = &'a NewAuditEvent>) -> Vec<PersonalSeal> {
    events.into_iter().map(PersonalSeal::of).collect()
}

/// Lowercase hex of a hash, as every hash column stores it (a table lookup per nibble: this
/// runs five times per appended event).
pub(crate) fn hash_hex(hash: &Hash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(64);
    for byte in hash {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use dezky_core::{Action, ActorType, Source, Timestamp};

    fn event(email: &str) -> NewAuditEvent {
        let mut event = NewAuditEvent::new(
            Timestamp::from_millis(1),
            ActorType::User,
            Action::parse("tenant.created").unwrap(),
            Source::parse("platform").unwrap(),
        );
        event.actor_email = Some(email.into());
        event
    }

    #[test]
    fn a_seal_is_the_commitment_under_its_own_salt() {
        let event = event("anna@example.org");
        let seal = PersonalSeal::of(&event);
        assert_eq!(
            seal.commitment,
            personal_commitment(&seal.salt, &PersonalFields::of_new(&event))
        );
    }

    #[test]
    fn every_seal_has_a_fresh_salt() {
        let events = [event("anna@example.org"), event("anna@example.org")];
        let seals = seal_all(&events);
        assert_eq!(seals.len(), 2);
        assert_ne!(seals[0].salt, seals[1].salt);
        assert_ne!(seals[0].commitment, seals[1].commitment);
    }

    #[test]
    fn hash_hex_matches_the_hex_crate() {
        for hash in [[0u8; 32], [0xff; 32], core::array::from_fn(|index| (index * 37) as u8)] {
            assert_eq!(hash_hex(&hash), hex::encode(hash));
        }
    }
}
