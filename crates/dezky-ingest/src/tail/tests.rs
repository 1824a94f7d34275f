use super::*;

fn observed(inode: u64, size: u64, first_line: Option<&str>) -> Observed {
    Observed {
        device: 1,
        inode,
        size,
        fingerprint: first_line.and_then(|line| fingerprint(line.as_bytes())),
    }
}

#[test]
fn the_fingerprint_covers_the_first_complete_line() {
    assert_eq!(fingerprint(b""), None);
    assert_eq!(fingerprint(b"{\"Action\":\"file_cr"), None, "incomplete first line");
    let whole = fingerprint(b"line one\nline two\n").unwrap();
    assert_eq!(fingerprint(b"line one\n").unwrap(), whole, "later lines do not matter");
    assert_ne!(fingerprint(b"line 1\n").unwrap(), whole);
    let long = vec![b'x'; FINGERPRINT_BYTES + 10];
    assert_eq!(fingerprint(&long), fingerprint(&long[..FINGERPRINT_BYTES]));
    assert!(
        fingerprint(&long).is_some(),
        "a long first line is fingerprinted by its start"
    );
    assert_eq!(whole.len(), 64);
}

#[test]
fn a_missing_file_is_waited_for_and_a_new_one_read_from_the_start() {
    assert!(matches!(next_step(None, None), TailStep::Wait(_)));
    let file = observed(7, 100, Some("a\n"));
    assert_eq!(next_step(None, Some(&file)), TailStep::Read(file.cursor_at(0)));
    let cursor = file.cursor_at(40);
    assert!(
        matches!(next_step(Some(&cursor), None), TailStep::Wait(_)),
        "rotated away, new one not yet created"
    );
}

#[test]
fn the_same_file_is_read_on_from_the_cursor() {
    let file = observed(7, 100, Some("a\n"));
    let cursor = file.cursor_at(40);
    assert_eq!(next_step(Some(&cursor), Some(&file)), TailStep::Read(cursor.clone()));
    let grown = observed(7, 5_000, Some("a\n"));
    assert_eq!(next_step(Some(&cursor), Some(&grown)), TailStep::Read(cursor));
}

#[test]
fn rename_and_create_finishes_the_old_file_then_starts_the_new_one() {
    let old = observed(7, 100, Some("a\n"));
    let cursor = old.cursor_at(40);
    let new = observed(8, 10, Some("b\n"));
    assert_eq!(
        next_step(Some(&cursor), Some(&new)),
        TailStep::Rotated {
            previous: cursor.clone(),
            next: new.cursor_at(0)
        }
    );
    // The new file may not hold a complete line yet: it is adopted once it does.
    let empty = observed(8, 0, None);
    let TailStep::Rotated { next, .. } = next_step(Some(&cursor), Some(&empty)) else {
        panic!("expected a rotation");
    };
    assert_eq!(next.fingerprint, None);
    let filled = observed(8, 30, Some("b\n"));
    assert_eq!(
        next_step(Some(&next), Some(&filled)),
        TailStep::Read(filled.cursor_at(0))
    );
}

#[test]
fn copy_and_truncate_is_a_rotation_on_the_same_inode() {
    let cursor = observed(7, 100, Some("a\n")).cursor_at(100);
    for truncated in [
        observed(7, 0, None),
        observed(7, 30, Some("c\n")),
        observed(7, 30, Some("a\n")),
    ] {
        assert!(
            matches!(next_step(Some(&cursor), Some(&truncated)), TailStep::Rotated { .. }),
            "{truncated:?}"
        );
    }
}

#[test]
fn a_reused_inode_with_another_first_line_is_a_new_file() {
    let cursor = observed(7, 100, Some("a\n")).cursor_at(50);
    let reused = observed(7, 500, Some("something else\n"));
    assert!(matches!(
        next_step(Some(&cursor), Some(&reused)),
        TailStep::Rotated { .. }
    ));
}

#[test]
fn only_complete_lines_are_taken() {
    let chunk = b"one\r\ntwo\n\nthree-partial";
    let (lines, next) = complete_lines(chunk, 1_000);
    let texts: Vec<&[u8]> = lines.iter().map(|line| line.bytes).collect();
    assert_eq!(texts, vec![&b"one"[..], &b"two"[..]]);
    assert_eq!(lines[0].offset, 1_000);
    assert_eq!(lines[1].offset, 1_005);
    assert_eq!(next, 1_010, "after the empty line, before the partial one");
    let (lines, next) = complete_lines(b"no newline yet", 7);
    assert!(lines.is_empty());
    assert_eq!(next, 7);
}

#[test]
fn line_ids_survive_restarts_and_differ_between_files() {
    let a = observed(7, 100, Some("a\n")).cursor_at(0);
    let b = observed(7, 100, Some("b\n")).cursor_at(0);
    assert_eq!(a.line_id(40), a.clone().line_id(40));
    assert_ne!(a.line_id(40), a.line_id(41));
    assert_ne!(a.line_id(40), b.line_id(40));
}

#[test]
fn cursors_round_trip_through_json() {
    let cursor = observed(7, 100, Some("a\n")).cursor_at(42);
    let text = serde_json::to_string(&cursor).unwrap();
    assert!(text.contains("\"offset\":42"));
    assert_eq!(serde_json::from_str::<TailCursor>(&text).unwrap(), cursor);
}
