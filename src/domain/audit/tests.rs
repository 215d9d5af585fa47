use super::*;

fn event(n: i64) -> AuditEvent {
    AuditEvent {
        at: n,
        org_id: Some(Uuid::nil()),
        actor_id: None,
        action: Action::ApiKeyCreated,
        target_id: Some(Uuid::from_u128(n as u128)),
        source: Some("127.0.0.1".into()),
        via: Some(Via::Cli),
        credential_id: None,
    }
}

fn key() -> AuditKey {
    AuditKey::derive(&[7; 32])
}

/// `n` records, the first `unkeyed` of them under the old rule, and their head.
fn chain(n: i64, unkeyed: i64) -> (Vec<AuditRecord>, AuditHead) {
    let mut prev = GENESIS;
    let records: Vec<_> = (1..=n)
        .map(|seq| {
            let mut event = event(seq);
            let hash = if seq <= unkeyed {
                event.via = None;
                chain_hash(&prev, seq, &event)
            } else {
                key().record_mac(&prev, seq, &event)
            };
            let record = AuditRecord {
                seq,
                event,
                prev_hash: prev,
                hash,
            };
            prev = hash;
            record
        })
        .collect();
    let head = AuditHead::next(&key(), n, prev, unkeyed + 1);
    (records, head)
}

fn verify(records: &[AuditRecord], head: &AuditHead) -> Result<u64, Broken> {
    verify_expecting(records, head, None)
}

fn verify_expecting(
    records: &[AuditRecord],
    head: &AuditHead,
    expect: Option<(i64, Hash)>,
) -> Result<u64, Broken> {
    let mut v = Verifier::new(key(), Some(head), expect);
    v.check_head(Some(head))?;
    for r in records {
        v.check(r)?;
    }
    v.finish(Some(head))
}

#[test]
fn an_intact_chain_verifies_and_any_change_is_found() {
    let (records, head) = chain(5, 0);
    assert_eq!(verify(&records, &head), Ok(5));

    let mut edited = records.clone();
    edited[2].event.source = Some("10.0.0.1".into());
    assert_eq!(verify(&edited, &head), Err(Broken::Altered { seq: 3 }));

    let mut removed = records.clone();
    removed.remove(1);
    assert_eq!(verify(&removed, &head), Err(Broken::Unlinked { seq: 3 }));

    let cut = &records[..4];
    assert_eq!(
        verify(cut, &head),
        Err(Broken::Truncated {
            head_seq: 5,
            last_seq: 4
        })
    );
}

#[test]
fn rechaining_without_the_key_and_rewriting_the_head_are_found() {
    let (records, head) = chain(5, 0);
    // The review's re-chainer: plain SHA-256 links from record 3 on.
    let mut rechained = records.clone();
    rechained[2].event.actor_id = None;
    for i in 2..5 {
        let prev = rechained[i - 1].hash;
        rechained[i].prev_hash = prev;
        rechained[i].hash = chain_hash(&prev, rechained[i].seq, &rechained[i].event);
    }
    let forged = AuditHead {
        seq: 5,
        hash: rechained[4].hash,
        ..head
    };
    assert_eq!(verify(&rechained, &forged), Err(Broken::HeadForged));
    assert_eq!(verify(&rechained, &head), Err(Broken::Altered { seq: 3 }));

    // Cut the tail and copy the new last record's seq and MAC into the head.
    let cut = &records[..3];
    let copied = AuditHead {
        seq: 3,
        hash: records[2].hash,
        ..head
    };
    assert_eq!(verify(cut, &copied), Err(Broken::HeadForged));
    let unsigned = AuditHead {
        mac: None,
        ..copied
    };
    assert_eq!(verify(cut, &unsigned), Err(Broken::HeadUnsigned));
    // Moving the unkeyed boundary is covered by the head's MAC.
    let moved = AuditHead {
        keyed_from: 6,
        ..head
    };
    assert_eq!(verify(&records, &moved), Err(Broken::HeadForged));
    // Another master key signs nothing here.
    let other = Verifier::new(AuditKey::derive(&[8; 32]), Some(&head), None);
    let mut other = other;
    assert_eq!(other.check(&records[0]), Err(Broken::Altered { seq: 1 }));
}

#[test]
fn old_records_verify_under_the_unkeyed_rule_up_to_the_boundary() {
    let (records, head) = chain(6, 3);
    assert_eq!(verify(&records, &head), Ok(6));
    // Just migrated: an unsigned head with nothing keyed yet.
    let (old, _) = chain(3, 3);
    let migrated = AuditHead {
        seq: 3,
        hash: old[2].hash,
        keyed_from: 4,
        mac: None,
    };
    assert_eq!(verify(&old, &migrated), Ok(3));
    // An unkeyed record may not claim a credential (those fields are not covered).
    let mut claimed = records.clone();
    claimed[0].event.via = Some(Via::Key);
    assert_eq!(verify(&claimed, &head), Err(Broken::Altered { seq: 1 }));
}

#[test]
fn an_expected_anchor_catches_a_rollback_to_an_older_genuine_head() {
    let (records, head) = chain(5, 0);
    let anchor = (5, records[4].hash);
    assert_eq!(verify_expecting(&records, &head, Some(anchor)), Ok(5));
    // The trail and head as they were at record 3: all genuine, but the anchor is gone.
    let older = AuditHead::next(&key(), 3, records[2].hash, 1);
    assert_eq!(
        verify_expecting(&records[..3], &older, Some(anchor)),
        Err(Broken::NotAsExpected { seq: 5 })
    );
    assert_eq!(
        verify_expecting(&records, &head, Some((4, [1; 32]))),
        Err(Broken::NotAsExpected { seq: 4 })
    );
}

#[test]
fn the_next_link_refuses_a_forged_or_unsigned_head() {
    let (records, head) = chain(3, 0);
    assert_eq!(
        next_link(&key(), Some(&head), Action::SignedIn),
        Ok((4, records[2].hash, 1))
    );
    let forged = AuditHead {
        seq: 2,
        hash: records[1].hash,
        ..head
    };
    assert_eq!(
        next_link(&key(), Some(&forged), Action::SignedIn),
        Err(Broken::HeadForged)
    );
    let migrated = AuditHead {
        keyed_from: 4,
        mac: None,
        ..head
    };
    assert_eq!(
        next_link(&key(), Some(&migrated), Action::SignedIn),
        Err(Broken::HeadUnsigned)
    );
    assert_eq!(
        next_link(&key(), Some(&migrated), Action::ChainKeyed),
        Ok((4, records[2].hash, 4))
    );
    assert_eq!(
        next_link(&key(), None, Action::SignedIn),
        Ok((1, GENESIS, 1))
    );
    assert_eq!(
        next_link(&key(), Some(&head), Action::ChainKeyed),
        Err(Broken::KeyedAlready)
    );
}

#[test]
fn user_changes_name_enable_and_disable() {
    assert_eq!(Action::of_user_change(true, false), Action::UserEnabled);
    assert_eq!(Action::of_user_change(false, true), Action::UserDisabled);
    assert_eq!(Action::of_user_change(false, false), Action::UserChanged);
}
