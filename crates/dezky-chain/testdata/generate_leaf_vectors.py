#!/usr/bin/env python3
"""Independent implementation of dezky leaf format v1, used to write leaf-v1.json.

It shares no code with the Rust implementation: Python's json module (sorted keys, no white
space, literal UTF-8) stands in for the canonical JSON of these vectors, which hold only
strings, integers, booleans, null and nested objects/arrays whose keys are ASCII (where that
equals RFC 8785). The Rust test checks itself against the file this writes.

Run: python3 crates/dezky-chain/testdata/generate_leaf_vectors.py > crates/dezky-chain/testdata/leaf-v1.json
"""
import hashlib
import json


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(data):
    return hashlib.sha256(data).digest()


CASES = [
    {
        "name": "minimal platform event",
        "seq": 0,
        "recordedAt": 1773480414000,
        "salt": "00" * 32,
        "prevHash": "00" * 32,
        "event": {
            "at": 1773480413007, "actorType": "system", "action": "api_token.created", "outcome": "success",
            "resourceType": None, "resourceId": None, "tenantSlug": None, "partnerSlug": None,
            "source": "platform", "externalId": None,
            "actorId": None, "actorEmail": None, "actorIp": None, "resourceName": None, "metadata": {},
        },
    },
    {
        "name": "every field, nested metadata, u64 beyond 2^53, non-ASCII, escapes",
        "seq": 41,
        "recordedAt": 1773480500123,
        "salt": "a5" * 32,
        "prevHash": "11" * 32,
        "event": {
            "at": 1773480499999, "actorType": "user", "action": "stalwart.auth_failed", "outcome": "failure",
            "resourceType": "mailbox", "resourceId": "42", "tenantSlug": "acme", "partnerSlug": "resell",
            "source": "stalwart", "externalId": "d1f0c3",
            "actorId": "u-7", "actorEmail": "Jürgen@acme.example", "actorIp": "2001:db8::7",
            "resourceName": "Line one\nline \"two\"\t\\ end",
            "metadata": {"spanId": 18446744073709551615, "z": [1, "two", None, True], "a": {"y": False, "b": -3}},
        },
    },
]


def vector(case):
    event = case["event"]
    header = {key: event[key] for key in (
        "at", "actorType", "action", "outcome", "resourceType", "resourceId", "tenantSlug",
        "partnerSlug", "source", "externalId")}
    header.update({"v": 1, "seq": case["seq"], "recordedAt": case["recordedAt"]})
    personal = {key: event[key] for key in ("actorId", "actorEmail", "actorIp", "resourceName", "metadata")}
    header_text = canonical(header)
    personal_text = canonical(personal)
    commitment = sha256(bytes.fromhex(case["salt"]) + personal_text.encode())
    leaf = sha256(b"\x00" + header_text.encode() + commitment)
    chained = sha256(bytes.fromhex(case["prevHash"]) + leaf)
    return dict(case, expected={
        "headerCanonical": header_text,
        "personalCanonical": personal_text,
        "personalCommitment": commitment.hex(),
        "leafHash": leaf.hex(),
        "hash": chained.hex(),
    })


print(json.dumps([vector(case) for case in CASES], indent=2, ensure_ascii=False))
