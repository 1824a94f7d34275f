//! Tamper evidence end to end: a clean log verifies, proofs check out against signed
//! checkpoints, and every kind of direct database tampering is reported with its location.

use crate::support::app::{TestApp, error_code, spawn};
use dezky_chain::checkpoint::{NoteVerifier, verify_checkpoint};
use dezky_chain::leaf::parse_hash;
use dezky_chain::merkle::{Hash, verify_consistency, verify_inclusion};
use dezky_testkit::{TestBackend, TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn publish(app: &TestApp, count: usize, prefix: &str) {
    let token = app.ingest_token("portal").await;
    let events: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "externalId": format!("{prefix}-{i}"),
                "action": "portal.signed_in",
                "actorEmail": if i % 10 == 0 { "erin@acme.example".to_owned() } else { format!("user{i}@acme.example") },
                "actorIp": "203.0.113.7",
                "resourceName": format!("session {i}"),
                "tenantSlug": "acme",
                "metadata": { "i": i, "float": 1.5, "big": 18446744073709551615u64 },
            })
        })
        .collect();
    for chunk in events.chunks(500) {
        let (status, body) = app
            .post("/api/v1/ingest/events", &token, &json!({ "events": chunk }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

async fn checkpoint(app: &TestApp) -> Value {
    let (status, body) = app
        .post("/api/v1/audit/checkpoint", &app.operator_token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn verify(app: &TestApp) -> Value {
    let (status, report) = app.get("/api/v1/audit/verify", &app.operator_token).await;
    assert_eq!(status, StatusCode::OK);
    report
}

fn kinds_at(report: &Value) -> Vec<(String, Option<u64>, Option<u64>)> {
    report["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["kind"].as_str().unwrap().to_owned(),
                b["seq"].as_u64(),
                b["treeSize"].as_u64(),
            )
        })
        .collect()
}

/// The seqs of the breaks of one kind, in report order.
fn seqs_of(report: &Value, kind: &str) -> Vec<Option<u64>> {
    kinds_at(report)
        .into_iter()
        .filter(|(found, _, _)| found == kind)
        .map(|(_, seq, _)| seq)
        .collect()
}

/// Runs statements in one transaction straight against the database, bypassing the store.
async fn tamper(app: &TestApp, statements: &[&str]) {
    match app.backend {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let mut transaction = pool.begin().await.unwrap();
            for statement in statements {
                sqlx::query(statement)
                    .execute(&mut *transaction)
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e}"));
            }
            transaction.commit().await.unwrap();
            pool.close().await;
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let mut transaction = pool.begin().await.unwrap();
            for statement in statements {
                sqlx::query(statement)
                    .execute(&mut *transaction)
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e}"));
            }
            transaction.commit().await.unwrap();
            pool.close().await;
        }
    }
}

fn disable_event_guards(backend: TestBackend) -> Vec<&'static str> {
    match backend {
        TestBackend::Sqlite => vec![
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
        ],
        TestBackend::Postgres => vec!["ALTER TABLE audit_events DISABLE TRIGGER USER"],
    }
}

fn disable_checkpoint_guards(backend: TestBackend) -> Vec<&'static str> {
    match backend {
        TestBackend::Sqlite => vec!["DROP TRIGGER checkpoints_no_update"],
        TestBackend::Postgres => vec!["ALTER TABLE checkpoints DISABLE TRIGGER USER"],
    }
}

async fn clean_log_verifies_and_proofs_check_out_against_signed_checkpoints(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 250, "a").await;
    let first = checkpoint(&app).await;
    publish(&app, 123, "b").await;
    let second = checkpoint(&app).await;
    let again = checkpoint(&app).await;
    assert_eq!(again["created"], false, "nothing new: no new checkpoint");

    let report = verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");
    let size = second["treeSize"].as_u64().unwrap();
    assert_eq!(report["verifiedEvents"], size);
    assert_eq!(report["headSeq"], size - 1);
    assert_eq!(report["checkpointsVerified"], 2);

    // Anyone with the public key can check the signed note.
    let key = app
        .http
        .get(app.url("/api/v1/audit/checkpoint/key"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let verifier = NoteVerifier::parse_vkey(key.trim()).unwrap();
    let latest = app
        .http
        .get(app.url("/api/v1/audit/checkpoint/latest"))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(latest.headers()["content-type"], "text/plain; charset=utf-8");
    let signed = verify_checkpoint(&latest.text().await.unwrap(), &verifier).unwrap();
    assert_eq!(signed.tree_size, size);
    let first_signed = verify_checkpoint(first["note"].as_str().unwrap(), &verifier).unwrap();

    let hash = |text: &Value| -> Hash { parse_hash(text.as_str().unwrap()).unwrap() };
    for seq in [0, 1, 7, 249, 250, size - 1] {
        let (status, proof) = app
            .get(
                &format!("/api/v1/audit/proof/inclusion?seq={seq}&treeSize={size}"),
                &app.operator_token,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let path: Vec<Hash> = proof["path"].as_array().unwrap().iter().map(hash).collect();
        let (_, event) = app.get(&format!("/api/v1/audit/{seq}"), &app.operator_token).await;
        assert_eq!(proof["leafHash"], event["leafHash"]);
        assert!(
            verify_inclusion(&hash(&proof["leafHash"]), seq, size, &path, &signed.root_hash),
            "seq {seq}"
        );
    }
    let from = first_signed.tree_size;
    let (_, proof) = app
        .get(
            &format!("/api/v1/audit/proof/consistency?from={from}&to={size}"),
            &app.operator_token,
        )
        .await;
    let path: Vec<Hash> = proof["path"].as_array().unwrap().iter().map(hash).collect();
    assert!(verify_consistency(
        from,
        size,
        &first_signed.root_hash,
        &signed.root_hash,
        &path
    ));

    for bad in [
        format!("/api/v1/audit/proof/inclusion?seq={size}&treeSize={size}"),
        format!("/api/v1/audit/proof/inclusion?seq=0&treeSize={}", size + 1),
        "/api/v1/audit/proof/inclusion?seq=abc".to_owned(),
        format!("/api/v1/audit/proof/consistency?from={}&to={from}", from + 1),
    ] {
        let (status, body) = app.get(&bad, &app.operator_token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(&body), "invalid_query");
    }
}

async fn a_row_changed_in_place_is_an_event_hash_mismatch(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 40, "a").await;
    let size = checkpoint(&app).await["treeSize"].as_u64().unwrap();
    let mut statements = disable_event_guards(app.backend);
    statements.push("UPDATE audit_events SET outcome = 'denied' WHERE seq = 17");
    tamper(&app, &statements).await;
    let report = verify(&app).await;
    assert_eq!(report["ok"], false);
    let kinds = kinds_at(&report);
    assert!(
        kinds.contains(&("event-hash-mismatch".into(), Some(17), None)),
        "{report}"
    );
    assert!(
        kinds.contains(&("checkpoint-root-mismatch".into(), None, Some(size))),
        "{report}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|(kind, _, _)| kind == "event-hash-mismatch")
            .count(),
        1,
        "no cascade: {report}"
    );
}

/// Pages of thousands of events are hashed in parallel chunks and checked in order: breaks in
/// the first, a middle and the last chunk are each reported once, at their seqs.
async fn large_pages_report_breaks_in_every_chunk(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 2_500, "a").await;
    let size = checkpoint(&app).await["treeSize"].as_u64().unwrap();
    let clean = verify(&app).await;
    assert_eq!(clean["ok"], true, "{clean}");
    assert_eq!(clean["verifiedEvents"], size, "{clean}");
    let mut statements = disable_event_guards(app.backend);
    statements.extend([
        "UPDATE audit_events SET outcome = 'denied' WHERE seq = 3",
        "UPDATE audit_events SET resource_name = 'changed' WHERE seq = 1300",
        "UPDATE audit_events SET actor_email = 'mallory@evil.example' WHERE seq = 2499",
    ]);
    tamper(&app, &statements).await;
    let report = verify(&app).await;
    let mismatches = seqs_of(&report, "event-hash-mismatch");
    assert_eq!(mismatches, vec![Some(3), Some(1300), Some(2499)], "{report}");
    assert_eq!(report["verifiedEvents"], size, "{report}");
}

/// Verification reads the stored values as they are, so values the API could never have
/// written are breaks at their seqs, not a failed verification.
async fn rows_no_api_could_write_are_breaks_not_errors(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 20, "a").await;
    let mut statements = disable_event_guards(app.backend);
    statements.extend([
        "UPDATE audit_events SET metadata = 'not json' WHERE seq = 5",
        "UPDATE audit_events SET action = 'NOT AN ACTION!' WHERE seq = 9",
        // Looks erased (no salt), but still holds unreadable personal data.
        "UPDATE audit_events SET personal_salt = NULL, actor_id = NULL, actor_email = NULL, actor_ip = NULL, \
         resource_name = NULL, metadata = '[' WHERE seq = 12",
    ]);
    tamper(&app, &statements).await;
    let report = verify(&app).await;
    assert_eq!(report["ok"], false);
    let mismatches = seqs_of(&report, "event-hash-mismatch");
    assert_eq!(mismatches, vec![Some(5), Some(9), Some(12)], "{report}");
    assert!(
        kinds_at(&report).contains(&("unrecorded-erasure".into(), Some(12), None)),
        "{report}"
    );
}

/// Metadata is committed by its value. Stored text already in canonical form is hashed
/// unparsed, so this checks both ways of reading it: the same value printed differently
/// (slow path) is no break, and a changed value printed canonically (fast path) is one.
async fn metadata_is_committed_by_value_whatever_its_text(db: TestDatabase) {
    let app = spawn(db).await;
    let token = app.ingest_token("portal").await;
    let first = app.event_count().await;
    let events: Vec<Value> = (0..10)
        .map(|i| {
            json!({
                "externalId": format!("m-{i}"),
                "action": "portal.signed_in",
                "metadata": { "i": i, "tags": ["a", "é\n"], "nested": { "ok": true } },
            })
        })
        .collect();
    let (status, body) = app
        .post("/api/v1/ingest/events", &token, &json!({ "events": events }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let clean = verify(&app).await;
    assert_eq!(clean["ok"], true, "{clean}");
    let set = |offset: u64, metadata: &str| {
        format!(
            "UPDATE audit_events SET metadata = '{metadata}' WHERE seq = {}",
            first + offset
        )
    };
    let mut statements: Vec<String> = disable_event_guards(app.backend)
        .iter()
        .map(|s| s.to_string())
        .collect();
    statements.extend([
        set(3, r#"{ "tags": ["a", "\u00e9\n"], "i": 3, "nested": {"ok": true} }"#),
        set(5, r#"{"i":50,"nested":{"ok":true},"tags":["a","é\n"]}"#),
        set(7, r#"{"i":7,"nested":{"ok":false},"tags":["a","é\n"]}"#),
    ]);
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    tamper(&app, &statements).await;
    let report = verify(&app).await;
    let mismatches = seqs_of(&report, "event-hash-mismatch");
    assert_eq!(mismatches, vec![Some(first + 5), Some(first + 7)], "{report}");
}

async fn a_deleted_row_is_a_gap_and_a_prev_hash_mismatch(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 30, "a").await;
    let size = checkpoint(&app).await["treeSize"].as_u64().unwrap();
    let mut statements = disable_event_guards(app.backend);
    statements.push("DELETE FROM audit_events WHERE seq = 10");
    tamper(&app, &statements).await;
    let kinds = kinds_at(&verify(&app).await);
    assert!(kinds.contains(&("seq-gap".into(), Some(11), None)), "{kinds:?}");
    assert!(
        kinds.contains(&("event-prev-hash-mismatch".into(), Some(11), None)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("checkpoint-root-mismatch".into(), None, Some(size))),
        "{kinds:?}"
    );
}

async fn a_forged_row_is_reported(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 5, "a").await;
    let next = app.event_count().await;
    let zeros = "0".repeat(64);
    let forged = format!(
        "INSERT INTO audit_events (seq, at_ms, recorded_at_ms, actor_type, action, outcome, source, metadata, \
         prev_hash, hash, leaf_hash, personal_commitment, personal_salt) VALUES ({next}, 0, 0, 'user', \
         'tenant.deleted', 'success', 'platform', '{{}}', '{zeros}', '{zeros}', '{zeros}', '{zeros}', '{zeros}')"
    );
    tamper(&app, &[&forged]).await;
    let kinds = kinds_at(&verify(&app).await);
    assert!(
        kinds.contains(&("event-prev-hash-mismatch".into(), Some(next), None)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("event-hash-mismatch".into(), Some(next), None)),
        "{kinds:?}"
    );
}

async fn edited_signatures_and_swapped_roots_are_reported(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 8, "a").await;
    let first = checkpoint(&app).await;
    publish(&app, 8, "b").await;
    let second = checkpoint(&app).await;
    let (first_size, second_size) = (
        first["treeSize"].as_u64().unwrap(),
        second["treeSize"].as_u64().unwrap(),
    );
    // Flip one character inside the first note's signature (away from the base64 padding,
    // whose low bits carry nothing); give the second a root from elsewhere.
    let note = first["note"].as_str().unwrap();
    let signature_line = note.lines().last().unwrap();
    let at = signature_line.len() - 20;
    let original = signature_line.as_bytes()[at] as char;
    let flipped = format!(
        "{}{}{}",
        &signature_line[..at],
        if original == 'A' { 'B' } else { 'A' },
        &signature_line[at + 1..]
    );
    let edited = note.replace(signature_line, &flipped).replace('\'', "''");
    let mut statements = disable_checkpoint_guards(app.backend);
    let update_note = format!("UPDATE checkpoints SET note = '{edited}' WHERE tree_size = {first_size}");
    let update_root = format!(
        "UPDATE checkpoints SET root_hash = '{}' WHERE tree_size = {second_size}",
        "ab".repeat(32)
    );
    statements.push(&update_note);
    statements.push(&update_root);
    tamper(&app, &statements).await;
    let report = verify(&app).await;
    let kinds = kinds_at(&report);
    assert!(
        kinds.contains(&("checkpoint-signature-mismatch".into(), None, Some(first_size))),
        "{report}"
    );
    assert!(
        kinds.contains(&("checkpoint-root-mismatch".into(), None, Some(second_size))),
        "{report}"
    );
    assert!(
        !kinds.iter().any(|(kind, _, _)| kind.starts_with("event")),
        "events are intact: {report}"
    );
}

async fn erasure_keeps_the_log_verifiable_and_unrecorded_erasure_is_caught(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 50, "a").await;
    let signed = checkpoint(&app).await;
    let size = signed["treeSize"].as_u64().unwrap();
    let (_, before) = app.get("/api/v1/audit?q=erin%40acme", &app.operator_token).await;
    assert_eq!(before["events"].as_array().unwrap().len(), 5);

    let (status, erased) = app
        .post(
            "/api/v1/audit/erasure",
            &app.operator_token,
            &json!({ "actorEmail": "ERIN@acme.example" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(erased["erasedEvents"], 5);
    let record_seq = erased["recordSeq"].as_u64().unwrap();
    let (_, record) = app
        .get(&format!("/api/v1/audit/{record_seq}"), &app.operator_token)
        .await;
    assert_eq!(record["action"], "audit.erased");
    assert!(
        !record.to_string().contains("erin@"),
        "the record does not repeat the erased address: {record}"
    );

    let first_erased = erased["erasedSeqs"][0][0].as_u64().unwrap();
    let (_, event) = app
        .get(&format!("/api/v1/audit/{first_erased}"), &app.operator_token)
        .await;
    assert_eq!(event["erased"], true);
    for field in ["actorEmail", "actorIp", "actorId", "resourceName", "personalSalt"] {
        assert_eq!(event[field], Value::Null, "{field}");
    }
    assert_eq!(event["tenantSlug"], "acme", "non-personal fields stay");
    let (_, after) = app.get("/api/v1/audit?q=erin%40acme", &app.operator_token).await;
    assert_eq!(
        after["events"].as_array().unwrap().len(),
        0,
        "erased data is gone from the search index too"
    );

    let report = verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");
    let (status, proof) = app
        .get(
            &format!("/api/v1/audit/proof/inclusion?seq={first_erased}&treeSize={size}"),
            &app.operator_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let note_root = parse_hash(signed["rootHash"].as_str().unwrap()).unwrap();
    let path: Vec<Hash> = proof["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| parse_hash(h.as_str().unwrap()).unwrap())
        .collect();
    assert!(verify_inclusion(
        &parse_hash(proof["leafHash"].as_str().unwrap()).unwrap(),
        first_erased,
        size,
        &path,
        &note_root
    ));

    let (status, nothing) = app
        .post(
            "/api/v1/audit/erasure",
            &app.operator_token,
            &json!({ "actorEmail": "erin@acme.example" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nothing["erasedEvents"], 0);
    assert_eq!(nothing["recordSeq"], Value::Null);
    for bad in [
        json!({}),
        json!({ "actorEmail": "a@b", "actorId": "x" }),
        json!({ "actorEmail": " " }),
    ] {
        let (status, _) = app.post("/api/v1/audit/erasure", &app.operator_token, &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // An erasure done behind the log's back (the gate forced open by hand) is reported.
    let sneaky: Vec<&str> = match app.backend {
        TestBackend::Sqlite => vec![
            "INSERT INTO erasure_gate (open) VALUES (1)",
            "UPDATE audit_events SET actor_id = NULL, actor_email = NULL, actor_ip = NULL, resource_name = NULL, metadata = NULL, personal_salt = NULL WHERE seq = 3",
            "DELETE FROM erasure_gate",
        ],
        TestBackend::Postgres => vec![
            "SET LOCAL dezky.erasure = 'on'",
            "UPDATE audit_events SET actor_id = NULL, actor_email = NULL, actor_ip = NULL, resource_name = NULL, metadata = NULL, personal_salt = NULL WHERE seq = 3",
        ],
    };
    tamper(&app, &sneaky).await;
    let kinds = kinds_at(&verify(&app).await);
    assert_eq!(kinds, vec![("unrecorded-erasure".to_owned(), Some(3), None)]);
}

async fn erasing_an_operator_keeps_their_erasure_records_and_rewritten_erased_rows_are_caught(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 20, "a").await;
    let (status, first) = app
        .post(
            "/api/v1/audit/erasure",
            &app.operator_token,
            &json!({ "actorEmail": "erin@acme.example" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let record_seq = first["recordSeq"].as_u64().unwrap();
    let (_, record) = app
        .get(&format!("/api/v1/audit/{record_seq}"), &app.operator_token)
        .await;
    let operator_id = record["actorId"].as_str().unwrap().to_owned();
    // Erase the operator who performed the first erasure: the record must survive.
    let (status, _) = app
        .post(
            "/api/v1/audit/erasure",
            &app.operator_token,
            &json!({ "actorId": operator_id }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, record_after) = app
        .get(&format!("/api/v1/audit/{record_seq}"), &app.operator_token)
        .await;
    assert_eq!(record_after["erased"], false);
    assert_eq!(verify(&app).await["ok"], true);

    // Someone writes personal data back into an erased row (leaving hashes alone).
    let erased_seq = first["erasedSeqs"][0][0].as_u64().unwrap();
    let mut statements = disable_event_guards(app.backend);
    let rewrite = format!("UPDATE audit_events SET actor_email = 'someone@else.example' WHERE seq = {erased_seq}");
    statements.push(&rewrite);
    tamper(&app, &statements).await;
    let kinds = kinds_at(&verify(&app).await);
    assert_eq!(kinds, vec![("event-hash-mismatch".to_owned(), Some(erased_seq), None)]);
}

async fn a_truncated_tail_is_reported_without_any_checkpoint(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 10, "a").await;
    let last = app.event_count().await - 1;
    let mut statements = disable_event_guards(app.backend);
    let delete = format!("DELETE FROM audit_events WHERE seq >= {}", last - 2);
    statements.push(&delete);
    tamper(&app, &statements).await;
    let kinds = kinds_at(&verify(&app).await);
    assert_eq!(kinds, vec![("seq-gap".to_owned(), Some(last - 2), None)]);
}

async fn the_erasure_gate_allows_nothing_but_erasure(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 3, "a").await;
    let (open, change) = match app.backend {
        TestBackend::Sqlite => (
            "INSERT INTO erasure_gate (open) VALUES (1)",
            "UPDATE audit_events SET actor_email = NULL, outcome = 'denied' WHERE seq = 1",
        ),
        TestBackend::Postgres => (
            "SET LOCAL dezky.erasure = 'on'",
            "UPDATE audit_events SET actor_email = NULL, outcome = 'denied' WHERE seq = 1",
        ),
    };
    let result = match app.backend {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let mut transaction = pool.begin().await.unwrap();
            sqlx::query(open).execute(&mut *transaction).await.unwrap();
            sqlx::query(change).execute(&mut *transaction).await.map(|_| ())
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let mut transaction = pool.begin().await.unwrap();
            sqlx::query(open).execute(&mut *transaction).await.unwrap();
            sqlx::query(change).execute(&mut *transaction).await.map(|_| ())
        }
    };
    assert!(result.unwrap_err().to_string().contains("append-only"));
    assert_eq!(verify(&app).await["ok"], true);
}

async fn checkpoints_carry_an_hmac_line_when_audit_signing_key_is_set(db: TestDatabase) {
    let app = crate::support::app::spawn_with(db, &[("AUDIT_SIGNING_KEY", "a-long-enough-shared-secret")]).await;
    publish(&app, 5, "a").await;
    let signed = checkpoint(&app).await;
    let note = signed["note"].as_str().unwrap();
    let signature_lines: Vec<&str> = note.lines().filter(|line| line.starts_with('\u{2014}')).collect();
    assert_eq!(signature_lines.len(), 2, "Ed25519 and HMAC lines: {note}");
    assert!(signature_lines[1].contains("/hmac "), "{note}");
    let hmac_name = signature_lines[1].split(' ').nth(1).unwrap();
    assert_eq!(
        dezky_chain::checkpoint::verify_checkpoint_hmac(note, hmac_name, b"a-long-enough-shared-secret"),
        Ok(true)
    );
    assert!(dezky_chain::checkpoint::verify_checkpoint_hmac(note, hmac_name, b"another-secret-entirely").is_err());
    assert_eq!(verify(&app).await["ok"], true);
}

/// The walk reads pages ahead where a gapless log puts them, and around a gap reads again from
/// where each page really ended: at every page size and read-ahead it pushes exactly what
/// reading one page at a time pushes, gaps at page boundaries and inside pages included.
async fn reading_pages_ahead_pushes_what_reading_one_page_at_a_time_pushes(db: TestDatabase) {
    use dezky_chain::verify::{BreakKind, Report, Verifier};
    use dezky_server::verification::{stored_checkpoints, walk_pages};
    let app = spawn(db).await;
    publish(&app, 60, "a").await;
    checkpoint(&app).await;
    let mut statements = disable_event_guards(app.backend);
    statements.push("DELETE FROM audit_events WHERE seq IN (9, 10, 23, 41, 58)");
    tamper(&app, &statements).await;
    let store = &*app.store;
    let walk = async |page: u32, read_ahead: usize| -> (Report, Option<String>) {
        let mut verifier = Verifier::new(stored_checkpoints(store).await.unwrap(), None);
        let last_hash = walk_pages(store, &mut verifier, None, page, read_ahead).await.unwrap();
        (verifier.finish(), last_hash)
    };
    let one_page_at_a_time = walk(1_000, 1).await;
    let (report, last_hash) = &one_page_at_a_time;
    let gaps: Vec<_> = report
        .breaks
        .iter()
        .filter(|b| b.kind == BreakKind::SeqGap)
        .map(|b| b.seq)
        .collect();
    assert_eq!(gaps, vec![Some(11), Some(24), Some(42), Some(59)], "{report:?}");
    assert_eq!(report.verified_events, app.event_count().await - 5, "{report:?}");
    let head = store.chain_head().await.unwrap();
    assert_eq!(
        last_hash.as_deref(),
        Some(head.head_hash.as_str()),
        "the walk reached the head"
    );
    for page in [1, 2, 3, 5, 7, 8, 13, 59] {
        for read_ahead in 1..=4 {
            assert_eq!(
                walk(page, read_ahead).await,
                one_page_at_a_time,
                "page {page}, read-ahead {read_ahead}"
            );
        }
    }
}

/// A verification requested while another one walks the log waits for its turn, and appends
/// go on meanwhile.
async fn verifications_take_turns_while_appends_go_on(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, 40, "a").await;
    let walking = app.verification_turn.lock().await;
    let request = app
        .http
        .get(app.url("/api/v1/audit/verify"))
        .bearer_auth(&app.operator_token)
        .send();
    let waiting = tokio::spawn(request);
    publish(&app, 10, "b").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a verification ran beside the one holding the turn"
    );
    drop(walking);
    let response = waiting.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["verifiedEvents"], app.event_count().await, "{report}");
}

on_both_backends!(
    verifications_take_turns_while_appends_go_on,
    reading_pages_ahead_pushes_what_reading_one_page_at_a_time_pushes,
    checkpoints_carry_an_hmac_line_when_audit_signing_key_is_set,
    clean_log_verifies_and_proofs_check_out_against_signed_checkpoints,
    a_row_changed_in_place_is_an_event_hash_mismatch,
    rows_no_api_could_write_are_breaks_not_errors,
    metadata_is_committed_by_value_whatever_its_text,
    large_pages_report_breaks_in_every_chunk,
    a_deleted_row_is_a_gap_and_a_prev_hash_mismatch,
    a_forged_row_is_reported,
    edited_signatures_and_swapped_roots_are_reported,
    erasure_keeps_the_log_verifiable_and_unrecorded_erasure_is_caught,
    the_erasure_gate_allows_nothing_but_erasure,
    erasing_an_operator_keeps_their_erasure_records_and_rewritten_erased_rows_are_caught,
    a_truncated_tail_is_reported_without_any_checkpoint,
);
