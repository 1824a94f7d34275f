//! Events and pages shaped like Authentik 2024.2 … 2026.11 sends them (formats.md).

use serde_json::{Value, json};

/// `created` for second `second` and microsecond `micros` of 2026-03-14 09:26.
pub fn at(second: u32, micros: u32) -> String {
    format!("2026-03-14T09:26:{second:02}.{micros:06}Z")
}

/// A login as 2025.x records it.
pub fn login(pk: &str, created: &str) -> Value {
    json!({
        "pk": pk,
        "user": { "pk": 7, "email": "ceo@acme.example", "username": "ceo" },
        "action": "login",
        "app": "authentik.stages.user_login.stage",
        "context": {
            "auth_method": "password",
            "auth_method_args": {},
            "http_request": { "args": { "next": "/if/user/" }, "path": "/api/v3/flows/executor/default-authentication-flow/",
                              "method": "POST", "request_id": "9b2f0c4e1d7a4b44", "user_agent": "Mozilla/5.0" },
            "geo": { "city": "Hamburg", "continent": "EU", "country": "DE", "lat": 53.55, "long": 9.99 },
            "asn": { "asn": 3320, "as_org": "Deutsche Telekom AG", "network": "192.0.2.0/24" }
        },
        "client_ip": "192.0.2.44",
        "created": created,
        "expires": "2027-03-14T09:26:53.123456Z",
        "brand": { "pk": "2f1c8c1e9d3b4a5f8e7d6c5b4a392817", "app": "authentik_brands", "name": "Default brand",
                   "model_name": "brand" }
    })
}

/// A system event (`user: {}`), as update checks and system tasks record it.
pub fn system_task(pk: &str, created: &str) -> Value {
    json!({
        "pk": pk, "user": {}, "action": "system_task_execution", "app": "authentik.events.system_tasks",
        "context": { "name": "clean_expired_models", "status": "successful", "messages": ["cleaned 12 events"] },
        "client_ip": null, "created": created, "expires": "2027-03-14T09:26:53.123456Z",
        "brand": { "pk": "2f1c8c1e9d3b4a5f8e7d6c5b4a392817", "app": "authentik_brands", "name": "Default brand",
                   "model_name": "brand" }
    })
}

/// A page of events (newest first) with Authentik's integer pagination; `next` 0 on the last.
pub fn page(number: u64, next: u64, count: u64, events: Vec<Value>) -> Value {
    json!({
        "pagination": { "next": next, "previous": number.saturating_sub(1), "count": count, "current": number,
                        "total_pages": count.div_ceil(100).max(1), "start_index": (number - 1) * 100 + 1,
                        "end_index": (number - 1) * 100 + events.len() as u64 },
        "results": events,
        "autocomplete": { "action": { "type": "str" } }
    })
}
