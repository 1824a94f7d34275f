//! oCIS's event bus: a durable pull consumer of our own (`OCIS_EVENTS_CONSUMER`, never oCIS's
//! `audit`) on the `main-queue` stream. Each fetched batch is recorded with the last stream
//! sequence as the cursor in one transaction, and only then acknowledged: a crash before the
//! acknowledgement means a redelivery, which the envelope-ID externalIds absorb. A jump in the
//! stream sequence is checked against the stream: skipped messages that are gone (removed by
//! the stream's limits or deleted before we read them) are recorded as a gap; skipped messages
//! still there were handed to an earlier incarnation that died before acknowledging them, and
//! come back after the ack wait. Decoding and mapping come from `dezky_ingest::ocis_bus`.

use crate::clock::Clock;
use crate::ingest::Ingest;
use crate::ingest::config::OcisEventsConfig;
use crate::ingest::status::OCIS_EVENTS;
use crate::ingest::tenants::TenantDirectory;
use anyhow::Context;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::stream::{LastRawMessageErrorKind, Stream};
use dezky_core::Source;
use dezky_ingest::gap::gap_event;
use dezky_ingest::ocis_audit::TenantHint;
use dezky_ingest::ocis_bus::{BusOutcome, parse_message, stream_gap, stream_gap_details};
use dezky_store::{CursorWrite, Store};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

pub const CURSOR_NAME: &str = "ocis-events";
/// Messages per fetch (and per transaction).
const BATCH: usize = 1_000;
/// How long a fetch waits for messages when the stream is idle.
const FETCH_WAIT: Duration = Duration::from_millis(500);
/// Skipped sequences looked up one by one at most; a larger jump beyond the stream's first
/// message is reported as a gap of unknown extent rather than thousands of lookups.
const MAX_LOOKUPS: u64 = 10_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchReport {
    pub recorded: u64,
    pub duplicates: u64,
    /// Messages dropped by OCIS_AUDIT_ACTIONS_ONLY / OCIS_AUDIT_ACTIONS_SKIP.
    pub filtered: u64,
    pub rejected: u64,
    pub gaps: u64,
}

pub struct OcisEvents {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ingest: Arc<Ingest>,
    config: OcisEventsConfig,
    consumer: Mutex<Option<(PullConsumer, Stream)>>,
}

impl OcisEvents {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        ingest: Arc<Ingest>,
        config: OcisEventsConfig,
    ) -> OcisEvents {
        OcisEvents {
            store,
            clock,
            ingest,
            config,
            consumer: Mutex::new(None),
        }
    }

    async fn connect(&self) -> anyhow::Result<(PullConsumer, Stream)> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(&self.config.endpoint)
            .await
            .with_context(|| format!("cannot connect to OCIS_EVENTS_ENDPOINT {}", self.config.endpoint))?;
        let jetstream = async_nats::jetstream::new(client);
        let stream = jetstream.get_stream(&self.config.stream).await.with_context(|| {
            format!(
                "no JetStream stream '{}' at {}",
                self.config.stream, self.config.endpoint
            )
        })?;
        let consumer = stream
            .get_or_create_consumer(
                &self.config.consumer,
                pull::Config {
                    durable_name: Some(self.config.consumer.clone()),
                    ack_policy: AckPolicy::Explicit,
                    ..Default::default()
                },
            )
            .await
            .with_context(|| format!("cannot create the durable consumer '{}'", self.config.consumer))?;
        Ok((consumer, stream))
    }

    /// How many of the skipped sequences `first..=last` are no longer in the stream. `None`:
    /// too many to look up, extent unknown.
    async fn missing_between(&self, stream: &Stream, first: u64, last: u64) -> anyhow::Result<Option<u64>> {
        // The stream's limits remove from the front: everything before its first message is gone.
        let first_kept = stream
            .get_info()
            .await
            .context("reading the stream's state")?
            .state
            .first_sequence;
        let gone_in_front = first_kept.saturating_sub(first).min(last - first + 1);
        let from = first.max(first_kept);
        if last >= from && last - from >= MAX_LOOKUPS {
            return Ok(None);
        }
        let mut missing = gone_in_front;
        for sequence in from..=last {
            match stream.get_raw_message(sequence).await {
                Ok(_) => {}
                Err(error) if error.kind() == LastRawMessageErrorKind::NoMessageFound => missing += 1,
                Err(error) => {
                    return Err(anyhow::anyhow!("looking up stream message {sequence}: {error}"));
                }
            }
        }
        Ok(Some(missing))
    }

    /// Fetches and records what is waiting (one batch). Connection problems surface as errors;
    /// the next call reconnects.
    pub async fn tick(&self) -> anyhow::Result<FetchReport> {
        let mut guard = self.consumer.lock().await;
        if guard.is_none() {
            *guard = Some(self.connect().await?);
        }
        let (consumer, stream) = guard.as_ref().expect("connected");
        let result = self.fetch_batch(consumer, stream).await;
        if result.is_err() {
            *guard = None; // reconnect on the next tick
        }
        result
    }

    async fn fetch_batch(&self, consumer: &PullConsumer, stream: &Stream) -> anyhow::Result<FetchReport> {
        let mut messages = consumer
            .fetch()
            .max_messages(BATCH)
            .expires(FETCH_WAIT)
            .messages()
            .await
            .context("fetching from the oCIS event bus")?;
        let mut received = vec![];
        while let Some(message) = messages.next().await {
            received.push(message.map_err(|error| anyhow::anyhow!("receiving from the oCIS event bus: {error}"))?);
        }
        let mut report = FetchReport::default();
        if received.is_empty() {
            self.ingest
                .status
                .set_detail(OCIS_EVENTS, Some("waiting for events".into()));
            return Ok(report);
        }
        let mut last_sequence: Option<u64> = self
            .store
            .cursor(CURSOR_NAME)
            .await?
            .map(|text| text.parse().context("the stored oCIS event-bus cursor is unreadable"))
            .transpose()?;
        let now = self.clock.now();
        let source = Source::parse(dezky_ingest::ocis_bus::SOURCE).expect("a valid source");
        let mut events = vec![];
        let directory = TenantDirectory::load(self.store.as_ref()).await?;
        let tenant_of = |hint: TenantHint<'_>| directory.for_ocis(hint);
        for message in &received {
            let sequence = message
                .info()
                .map_err(|error| anyhow::anyhow!("a message without JetStream metadata: {error}"))?
                .stream_sequence;
            if let Some((first, last)) = stream_gap(last_sequence, sequence) {
                let missing = self.missing_between(stream, first, last).await?;
                if missing != Some(0) {
                    let unknown = last - first + 1;
                    events.push(gap_event(
                        &source,
                        now,
                        "stream-sequence-jumped",
                        stream_gap_details(&self.config.stream, first, last, missing.unwrap_or(unknown)),
                    ));
                    report.gaps += 1;
                    self.ingest.status.record_gap(OCIS_EVENTS);
                    tracing::warn!(
                        first,
                        last,
                        ?missing,
                        "oCIS event bus: messages missing from the stream, gap recorded"
                    );
                }
            }
            last_sequence = Some(last_sequence.map_or(sequence, |last| last.max(sequence)));
            match parse_message(&message.payload, &self.config.filter, now, &tenant_of) {
                Ok(BusOutcome::Event(mut event)) => {
                    directory.add_partner(&mut event);
                    events.push(*event);
                }
                Ok(BusOutcome::Filtered) => report.filtered += 1,
                Err(error) => {
                    // It can never decode: count it, say so, and do not let it block the stream.
                    report.rejected += 1;
                    self.ingest.status.record_rejected(OCIS_EVENTS, 1);
                    self.ingest
                        .status
                        .record_error(OCIS_EVENTS, now, format!("message {sequence} rejected: {error}"));
                }
            }
        }
        let newest_at = events.iter().map(|event| event.at).max();
        let submitted = events.len() as u64;
        let cursor = CursorWrite {
            name: CURSOR_NAME.to_owned(),
            value: last_sequence.map(|sequence| sequence.to_string()).unwrap_or_default(),
        };
        let receipt = self.store.append_with_cursor(events, cursor, now).await?;
        report.duplicates = receipt.duplicates() as u64;
        report.recorded = submitted - report.duplicates - report.gaps;
        self.ingest.status.record_filtered(OCIS_EVENTS, report.filtered);
        // Durable now: acknowledge. A lost acknowledgement means a redelivery, skipped as a duplicate.
        for message in &received {
            message
                .ack()
                .await
                .map_err(|error| anyhow::anyhow!("acknowledging on the oCIS event bus: {error}"))?;
        }
        self.ingest.status.record_success(
            OCIS_EVENTS,
            self.clock.now(),
            report.recorded + report.gaps,
            report.duplicates,
            newest_at,
        );
        self.ingest
            .status
            .set_detail(OCIS_EVENTS, Some(format!("consuming {}", self.config.stream)));
        Ok(report)
    }
}
