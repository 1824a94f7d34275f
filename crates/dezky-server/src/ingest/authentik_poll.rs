//! The Authentik poller: walks `GET /api/v3/events/events/` newest first down to the stored
//! high-water mark and records the new events oldest first, with the new mark, in one
//! transaction. Any error aborts the tick with the cursor unchanged (the next tick retries;
//! the worker loop backs off). Decisions come from `dezky_ingest::authentik`.

use crate::clock::Clock;
use crate::ingest::Ingest;
use crate::ingest::config::AuthentikConfig;
use crate::ingest::status::AUTHENTIK;
use crate::ingest::tenants::TenantDirectory;
use anyhow::{Context, bail};
use dezky_ingest::authentik::{HighWaterMark, PageError, PageWalk, TenantHint, WalkLimits, map_event, parse_page};
use dezky_store::{CursorWrite, Store};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use std::sync::Arc;

pub const CURSOR_NAME: &str = "authentik";

/// What one poll did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    pub recorded: u64,
    pub duplicates: u64,
    pub pages: u32,
    pub gaps: u64,
    /// Events dropped by AUTHENTIK_ACTIONS_ONLY / AUTHENTIK_ACTIONS_SKIP.
    pub filtered: u64,
}

pub struct AuthentikPoller {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ingest: Arc<Ingest>,
    config: AuthentikConfig,
    http: reqwest::Client,
    limits: WalkLimits,
}

impl AuthentikPoller {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, ingest: Arc<Ingest>, config: AuthentikConfig) -> Self {
        AuthentikPoller {
            store,
            clock,
            ingest,
            config,
            http: crate::outbound::http_client(),
            limits: WalkLimits::default(),
        }
    }

    /// Smaller pages or a smaller cap (tests exercise the cap without thousands of events).
    pub fn with_limits(mut self, limits: WalkLimits) -> Self {
        self.limits = limits;
        self
    }

    pub async fn tick(&self) -> anyhow::Result<PollReport> {
        let mark = self
            .store
            .cursor(CURSOR_NAME)
            .await?
            .map(|text| HighWaterMark::from_cursor(&text))
            .transpose()
            .map_err(|error| anyhow::anyhow!("the stored Authentik cursor is unreadable: {error:?}"))?;
        let mut walk = PageWalk::new(mark, self.limits);
        while let Some(request) = walk.next_request() {
            let url = format!("{}/api/v3/events/events/?{}", self.config.url, request.query());
            let response = self
                .http
                .get(&url)
                .bearer_auth(self.config.token.expose_secret())
                .send()
                .await
                .with_context(|| format!("Authentik at {} cannot be reached", self.config.url))?;
            let status = response.status();
            let body = response.bytes().await.context("reading Authentik's answer")?;
            match status {
                StatusCode::OK => walk.push(parse_page(&body).context("Authentik sent an unexpected page")?),
                StatusCode::NOT_FOUND if parse_page(&body) == Err(PageError::InvalidPage) => walk.page_vanished(),
                StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {
                    bail!("Authentik refused AUTHENTIK_TOKEN ({status}): the token is invalid or expired")
                }
                other => bail!("Authentik answered {other} for {url}"),
            }
        }
        let outcome = walk.finish();
        let now = self.clock.now();
        let mut report = PollReport {
            pages: outcome.pages_fetched,
            ..PollReport::default()
        };
        let Some(mark) = &outcome.mark else {
            self.ingest.status.record_success(AUTHENTIK, now, 0, 0, None);
            return Ok(report); // Authentik has never had an event
        };
        let mut events = vec![];
        if let Some(gap) = outcome.gap_event(now) {
            events.push(gap);
            report.gaps = 1;
            self.ingest.status.record_gap(AUTHENTIK);
            tracing::warn!(
                reason = outcome.gap.as_ref().map(|gap| gap.reason),
                "Authentik: gap recorded"
            );
        }
        let directory = TenantDirectory::load(self.store.as_ref()).await?;
        let tenant_of = |hint: TenantHint<'_>| directory.for_authentik(hint);
        // Filtered events are passed over, but the mark still moves past them.
        let (kept, dropped): (Vec<_>, Vec<_>) = outcome
            .events
            .iter()
            .partition(|event| self.config.filter.passes(&event.action));
        report.filtered = dropped.len() as u64;
        events.extend(kept.into_iter().map(|event| {
            let mut mapped = map_event(event, &tenant_of);
            directory.add_partner(&mut mapped);
            mapped
        }));
        let newest_at = outcome.events.last().map(|event| event.created.timestamp());
        let submitted = events.len() as u64;
        let cursor = CursorWrite {
            name: CURSOR_NAME.to_owned(),
            value: mark.to_cursor(),
        };
        let receipt = self.store.append_with_cursor(events, cursor, now).await?;
        report.duplicates = receipt.duplicates() as u64;
        report.recorded = submitted - report.duplicates;
        self.ingest.status.record_filtered(AUTHENTIK, report.filtered);
        self.ingest.status.record_success(
            AUTHENTIK,
            self.clock.now(),
            report.recorded,
            report.duplicates,
            newest_at,
        );
        Ok(report)
    }
}
