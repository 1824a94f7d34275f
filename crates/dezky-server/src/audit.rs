//! Recording dezky's own actions in the audit log.
//!
//! A mutation's audit event is built here and handed to the store method that performs the
//! mutation, which commits both in one transaction (never one without the other). Events with
//! no accompanying mutation go through [`AuditService::record`].

use crate::clock::Clock;
use crate::metrics::Metrics;
use dezky_core::{Action, ActorType, NewAuditEvent, Source, Timestamp};
use dezky_store::{AppendReceipt, Store, StoreError};
use std::net::IpAddr;
use std::sync::Arc;

/// Who did something, as the audit log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub actor_type: ActorType,
    pub id: Option<String>,
    pub email: Option<String>,
    pub ip: Option<IpAddr>,
}

impl Actor {
    /// The command line on this machine (`dezky token create`, `dezky admin grant`).
    pub fn command_line() -> Actor {
        Actor {
            actor_type: ActorType::System,
            id: Some("cli".to_owned()),
            email: None,
            ip: None,
        }
    }

    /// dezky itself, e.g. the bootstrap token created at first start.
    pub fn system() -> Actor {
        Actor {
            actor_type: ActorType::System,
            id: Some("dezky".to_owned()),
            email: None,
            ip: None,
        }
    }

    /// A platform event (`source = platform`) done by this actor.
    pub fn event(&self, now: Timestamp, action: Action) -> NewAuditEvent {
        let mut event = NewAuditEvent::new(now, self.actor_type, action, Source::platform());
        event.actor_id = self.id.clone();
        event.actor_email = self.email.clone();
        event.actor_ip = self.ip.map(|ip| ip.to_string());
        event
    }
}

/// Appends events that stand on their own (ingested ones, or events without a mutation).
#[derive(Clone)]
pub struct AuditService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

impl AuditService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> AuditService {
        AuditService { store, clock, metrics }
    }

    pub async fn record(&self, events: Vec<NewAuditEvent>) -> Result<AppendReceipt, StoreError> {
        let sources: Vec<Source> = events.iter().map(|event| event.source.clone()).collect();
        let receipt = self.store.append_events(events, self.clock.now()).await?;
        for (source, outcome) in sources.iter().zip(&receipt.outcomes) {
            self.metrics.count_append(
                source.as_str(),
                matches!(outcome, dezky_store::AppendOutcome::Duplicate),
            );
        }
        Ok(receipt)
    }
}
