//! Turns an [`AuditQuery`] into a SQL WHERE clause and its parameters, for either dialect.
//!
//! Kept free of any database handle so both backends share one translation and it can be
//! tested on its own. Values are always bound as parameters, never spliced into the SQL.

use dezky_core::{ActionFilter, AuditQuery};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// The fields of PostgreSQL's hot events the trigram index is built on (those whose values
/// rarely repeat); queries must repeat the expression exactly for the planner to use the index.
/// The action and the tenant are searched through `audit_text_values` (migration
/// `text_index_high_cardinality_fields`).
pub(crate) const POSTGRES_INDEXED_TEXT_EXPRESSION: &str =
    "(coalesce(resource_name, '') || E'\\n' || coalesce(actor_email, ''))";
/// The `audit_text_values.field` of each value searched through that table.
pub(crate) const TEXT_VALUE_ACTION: &str = "action";
pub(crate) const TEXT_VALUE_TENANT: &str = "tenant_slug";

/// The distinct actions and tenant slugs that contain a search text, looked up in
/// `audit_text_values` before the query (`SELECT_TEXT_VALUES`). Bound as values, the planner
/// estimates each branch of the search from its statistics: with them computed inside the
/// query it walked the whole log backwards for a rare text (432 ms at 200,000 events, against
/// under 1 ms through the indexes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TextValues {
    pub actions: Vec<String>,
    pub tenants: Vec<String>,
}

/// The values containing the pattern (`text_pattern`), at most `MAX_TEXT_VALUES + 1` of them.
pub(crate) const SELECT_TEXT_VALUES: &str =
    "SELECT field, value FROM audit_text_values WHERE value ILIKE $1 ESCAPE '\\' LIMIT $2";
/// A text contained in more distinct values than this is common: it is searched in the joined
/// fields without the value lists (a walk of the newest events finds such a text quickly).
pub(crate) const MAX_TEXT_VALUES: usize = 1_000;

/// The LIKE pattern of a search text: contains it, wildcards taken literally.
pub(crate) fn text_pattern(search: &str) -> String {
    format!("%{}%", escape_like(search))
}

impl TextValues {
    /// Sorts the looked-up `(field, value)` rows; `None` for a common text (see
    /// `MAX_TEXT_VALUES`).
    pub(crate) fn from_rows(rows: Vec<(String, String)>) -> Option<TextValues> {
        if rows.len() > MAX_TEXT_VALUES {
            return None;
        }
        let mut values = TextValues::default();
        for (field, value) in rows {
            match field.as_str() {
                TEXT_VALUE_ACTION => values.actions.push(value),
                TEXT_VALUE_TENANT => values.tenants.push(value),
                _ => {}
            }
        }
        Some(values)
    }
}

/// All the searched fields as one text: what a search matches on PostgreSQL's restored rows,
/// and on hot rows when the text holds a line break (which only this joined text can match).
pub(crate) const POSTGRES_TEXT_EXPRESSION: &str = "(action || E'\\n' || coalesce(resource_name, '') \
     || E'\\n' || coalesce(actor_email, '') || E'\\n' || coalesce(tenant_slug, ''))";

#[derive(Debug, Default)]
pub(crate) struct SqlFilter {
    conditions: Vec<String>,
    pub params: Vec<Param>,
}

impl SqlFilter {
    fn push(&mut self, dialect: Dialect, template: &str, values: Vec<Param>) {
        // Each `?` in the template becomes the dialect's placeholder for the next parameter.
        let mut condition = String::with_capacity(template.len() + 8);
        for (index, piece) in template.split('?').enumerate() {
            if index > 0 {
                match dialect {
                    Dialect::Sqlite => condition.push('?'),
                    Dialect::Postgres => {
                        condition.push('$');
                        condition.push_str(&(self.params.len() + index).to_string());
                    }
                }
            }
            condition.push_str(piece);
        }
        self.conditions.push(condition);
        self.params.extend(values);
    }

    /// ` WHERE a AND b` or the empty string.
    pub fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

/// The PostgreSQL free-text condition on hot events: the trigram index for the resource name
/// and the e-mail, and the B-tree indexes on action and tenant_slug for the distinct values
/// that contain the text. Each branch is an index scan; the planner ORs their bitmaps.
fn postgres_hot_text_match(search: &str, values: &TextValues) -> (String, Vec<Param>) {
    let mut template = format!("({POSTGRES_INDEXED_TEXT_EXPRESSION} ILIKE ? ESCAPE '\\'");
    let mut params = vec![Param::Text(text_pattern(search))];
    for (column, matching) in [("action", &values.actions), ("tenant_slug", &values.tenants)] {
        if !matching.is_empty() {
            let placeholders = vec!["?"; matching.len()].join(", ");
            template.push_str(&format!(" OR {column} IN ({placeholders})"));
            params.extend(matching.iter().cloned().map(Param::Text));
        }
    }
    template.push(')');
    (template, params)
}

/// Escapes LIKE wildcards so user text matches literally (escape character `\`).
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The smallest string greater than every string starting with `prefix`. Action prefixes are
/// ASCII (validated in dezky-core), so bumping the last byte stays ASCII.
fn prefix_upper_bound(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// Which table the filter reads: the hot events, or restored copies of archived ones (which
/// have no SQLite full-text index: free text is a GLOB scan of the restored rows there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventTable {
    Hot,
    Restored,
}

/// The searched fields as one text, in SQLite: searched with a case-insensitive GLOB
/// (`text_match::case_insensitive_glob`) in restored rows (which have no FTS index) and in the
/// candidates the FTS index returns for hot rows; also what that index holds per event
/// (`text_index`).
pub(crate) const SQLITE_TEXT_EXPRESSION: &str = "(action || char(10) || coalesce(resource_name, '') \
     || char(10) || coalesce(actor_email, '') || char(10) || coalesce(tenant_slug, ''))";

/// The filter on hot events. On PostgreSQL a free text is searched through the trigram index
/// and `text_values` when they were looked up, otherwise (a common text) in the joined fields.
pub(crate) fn build(query: &AuditQuery, dialect: Dialect, text_values: Option<&TextValues>) -> SqlFilter {
    build_for(query, dialect, EventTable::Hot, text_values)
}

pub(crate) fn build_for(
    query: &AuditQuery,
    dialect: Dialect,
    table: EventTable,
    text_values: Option<&TextValues>,
) -> SqlFilter {
    let mut filter = SqlFilter::default();
    let bounds = seq_bounds(query);
    let fields = field_conditions(query, dialect);
    let sqlite_hot = dialect == Dialect::Sqlite && table == EventTable::Hot;
    // SQLite's hot events take the field conditions inside their candidates (below), which
    // match them exactly. Repeated outside they could only mislead the planner (when the
    // events table had a (source, external_id) index, `source = ?` walked it). Only
    // the e-mail is checked again on the event: erasure may have removed it since the index
    // file copied it (until the indexer reaches the erasure's record).
    for condition in bounds
        .iter()
        .chain(fields.iter().filter(|field| !sqlite_hot || field.erasable))
    {
        filter.push(dialect, &condition.template, condition.values.clone());
    }
    match &query.text {
        Some(search) if sqlite_hot => {
            let (template, values) = sqlite_text_match(query, search, &bounds, &fields);
            filter.push(dialect, &template, values);
        }
        Some(search) if dialect == Dialect::Sqlite => filter.push(
            dialect,
            &format!("{SQLITE_TEXT_EXPRESSION} GLOB ?"),
            vec![Param::Text(crate::text_match::case_insensitive_glob(search))],
        ),
        Some(search) => match text_values.filter(|_| table == EventTable::Hot && !search.contains('\n')) {
            Some(values) => {
                let (template, params) = postgres_hot_text_match(search, values);
                filter.push(dialect, &template, params);
            }
            None => filter.push(
                dialect,
                &format!("{POSTGRES_TEXT_EXPRESSION} ILIKE ? ESCAPE '\\'"),
                vec![Param::Text(text_pattern(search))],
            ),
        },
        None if sqlite_hot && !fields.is_empty() => {
            let (template, values) = sqlite_indexed_candidates(query, &bounds, &fields);
            filter.push(dialect, &template, values);
        }
        None => {}
    }
    filter
}

/// One condition of a WHERE clause, with `?` for each of its values.
struct Condition {
    template: String,
    values: Vec<Param>,
    /// Whether erasure can change the field it tests.
    erasable: bool,
}

impl Condition {
    fn new(template: &str, values: Vec<Param>) -> Condition {
        Condition {
            template: template.to_owned(),
            values,
            erasable: false,
        }
    }
}

/// `a AND b AND …` and their values in order.
fn joined<'a>(conditions: impl IntoIterator<Item = &'a Condition>) -> (String, Vec<Param>) {
    let mut templates = vec![];
    let mut values = vec![];
    for condition in conditions {
        templates.push(condition.template.as_str());
        values.extend(condition.values.iter().cloned());
    }
    (templates.join(" AND "), values)
}

/// The cursor's bounds on seq.
fn seq_bounds(query: &AuditQuery) -> Vec<Condition> {
    let mut bounds = vec![];
    if let Some(cursor) = query.before {
        bounds.push(Condition::new(
            "seq < ?",
            vec![Param::Int(i64::try_from(cursor.0).unwrap_or(i64::MAX))],
        ));
    }
    if let Some(min_seq) = query.min_seq {
        bounds.push(Condition::new(
            "seq >= ?",
            vec![Param::Int(i64::try_from(min_seq).unwrap_or(i64::MAX))],
        ));
    }
    bounds
}

/// The conditions on the events' fields other than free text: the ones SQLite answers from
/// the query indexes in the index file (`text_index`'s `event_keys`, same column names).
fn field_conditions(query: &AuditQuery, dialect: Dialect) -> Vec<Condition> {
    let mut fields = vec![];
    let text = |value: &str| Param::Text(value.to_owned());
    if let Some(since) = query.since {
        fields.push(Condition::new("at_ms >= ?", vec![Param::Int(since.as_millis())]));
    }
    if let Some(until) = query.until {
        fields.push(Condition::new("at_ms < ?", vec![Param::Int(until.as_millis())]));
    }
    match (&query.action, dialect) {
        (None, _) => {}
        (Some(ActionFilter::Exact(action)), _) => {
            fields.push(Condition::new("action = ?", vec![text(action.as_str())]));
        }
        // SQLite compares TEXT byte-wise, so a range scan on the index is exact.
        (Some(ActionFilter::Prefix(prefix)), Dialect::Sqlite) => fields.push(Condition::new(
            "action >= ? AND action < ?",
            vec![text(prefix), Param::Text(prefix_upper_bound(prefix))],
        )),
        // PostgreSQL's collation need not be byte-wise; LIKE with text_pattern_ops is.
        (Some(ActionFilter::Prefix(prefix)), Dialect::Postgres) => fields.push(Condition::new(
            "action LIKE ? ESCAPE '\\'",
            vec![Param::Text(format!("{}%", escape_like(prefix)))],
        )),
    }
    if let Some(tenant) = &query.tenant_slug {
        fields.push(Condition::new("tenant_slug = ?", vec![text(tenant.as_str())]));
    }
    if let Some(partner) = &query.partner_slug {
        fields.push(Condition::new("partner_slug = ?", vec![text(partner.as_str())]));
    }
    if let Some(email) = &query.actor_email {
        fields.push(Condition {
            erasable: true,
            ..Condition::new("lower(actor_email) = lower(?)", vec![text(email)])
        });
    }
    if let Some(outcome) = query.outcome {
        fields.push(Condition::new("outcome = ?", vec![text(outcome.as_str())]));
    }
    if let Some(source) = &query.source {
        fields.push(Condition::new("source = ?", vec![text(source.as_str())]));
    }
    fields
}

/// SQLite's candidates for a filter on fields (no free text): the newest page of matches
/// among the indexed events, answered by the query indexes in the index file, and the newest
/// page among the events it has not reached, scanned. The outer query checks every condition
/// again on the events and takes the newest page of the two.
fn sqlite_indexed_candidates(query: &AuditQuery, bounds: &[Condition], fields: &[Condition]) -> (String, Vec<Param>) {
    let (conditions, values) = joined(bounds.iter().chain(fields));
    let page = u64::from(query.limit.get()) + 1;
    // The index file's copy of an erasable field may be stale (erased since, until the indexer
    // reaches the erasure's record), so its matches are checked on the events before any page
    // is cut: without a limit here. Otherwise only events the statement's snapshot of the
    // database holds may take a place in the page: its snapshot of the index file is taken a
    // moment later and may already hold newer ones.
    let indexed_page = if fields.iter().any(|field| field.erasable) {
        String::new()
    } else {
        format!(" AND seq < (SELECT next_seq FROM chain_head) ORDER BY seq DESC LIMIT {page}")
    };
    let template = format!(
        "seq IN (SELECT seq FROM (SELECT seq FROM text_index.event_keys WHERE {conditions}{indexed_page}) \
         UNION ALL SELECT seq FROM ({SQLITE_NOT_YET_INDEXED} AND {conditions} ORDER BY seq DESC LIMIT {page}))"
    );
    let mut all = values.clone();
    all.extend(values);
    (template, all)
}

/// The events a search must look at beyond the text index: those it has not reached yet
/// (`text_index`). Read in the same statement as the index, so from the same snapshot of it.
/// `NOT INDEXED`: only the rowid range may drive this scan, whatever index the events table
/// has now or gains later.
const SQLITE_NOT_YET_INDEXED: &str =
    "SELECT seq FROM audit_events NOT INDEXED WHERE seq >= (SELECT next_seq FROM text_index.text_index_state)";

/// The SQLite free-text condition: the index's candidates (the events holding every trigram
/// of the text, see `text_match`) and the events it has not reached yet, each checked for the
/// text itself with the GLOB that restored rows are searched with. When the text is the only
/// filter (besides the seq bounds of a cursor), each of the two returns the page itself:
/// newest matches first, checked there, at most one page (plus the row that tells whether
/// more follow), so a common term stops after a page instead of handing every match to the
/// outer query to sort (measured at 10 M events: see docs/PERFORMANCE.md). With other filters
/// the index cannot know which matches survive them: it returns every candidate, and the outer
/// query checks the text with the others.
fn sqlite_text_match(
    query: &AuditQuery,
    search: &str,
    bounds: &[Condition],
    fields: &[Condition],
) -> (String, Vec<Param>) {
    let trigrams = Param::Text(crate::text_match::all_trigrams(search));
    let exact = format!("{SQLITE_TEXT_EXPRESSION} GLOB ?");
    let pattern = Param::Text(crate::text_match::case_insensitive_glob(search));
    if !fields.is_empty() {
        // The query indexes and the text index together pick the indexed candidates; the
        // events not indexed yet are filtered on their fields here too.
        let (conditions, condition_values) = joined(bounds.iter().chain(fields));
        let template = format!(
            "seq IN (SELECT seq FROM text_index.event_keys WHERE {conditions} AND seq IN \
             (SELECT rowid FROM text_index.audit_events_text WHERE audit_events_text MATCH ?) \
             UNION ALL {SQLITE_NOT_YET_INDEXED} AND {conditions}) AND {exact}"
        );
        let mut values = condition_values.clone();
        values.push(trigrams);
        values.extend(condition_values);
        values.push(pattern);
        return (template, values);
    }
    let mut bounds = (String::new(), String::new());
    let mut bound_values = vec![];
    if let Some(cursor) = query.before {
        bounds.0.push_str(" AND audit_events_text.rowid < ?");
        bounds.1.push_str(" AND seq < ?");
        bound_values.push(Param::Int(i64::try_from(cursor.0).unwrap_or(i64::MAX)));
    }
    if let Some(min_seq) = query.min_seq {
        bounds.0.push_str(" AND audit_events_text.rowid >= ?");
        bounds.1.push_str(" AND seq >= ?");
        bound_values.push(Param::Int(i64::try_from(min_seq).unwrap_or(i64::MAX)));
    }
    let page = u64::from(query.limit.get()) + 1;
    // The index holds no fields (contentless): the check reads them from the candidate's event.
    let template = format!(
        "seq IN (SELECT seq FROM (SELECT audit_events.seq FROM text_index.audit_events_text \
         JOIN audit_events ON audit_events.seq = audit_events_text.rowid \
         WHERE audit_events_text MATCH ? AND {exact}{} ORDER BY audit_events_text.rowid DESC LIMIT {page}) \
         UNION ALL SELECT seq FROM ({SQLITE_NOT_YET_INDEXED} AND {exact}{} ORDER BY seq DESC LIMIT {page}))",
        bounds.0, bounds.1
    );
    let mut values = vec![trigrams, pattern.clone()];
    values.extend(bound_values.iter().cloned());
    values.push(pattern);
    values.extend(bound_values);
    (template, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dezky_core::query::{QueryPurpose, RawAuditQuery};

    fn parse(raw: RawAuditQuery) -> AuditQuery {
        AuditQuery::parse(&raw, QueryPurpose::Page).unwrap()
    }

    #[test]
    fn empty_query_has_no_where_clause() {
        let filter = build(&AuditQuery::default(), Dialect::Postgres, None);
        assert_eq!(filter.where_clause(), "");
        assert!(filter.params.is_empty());
    }

    #[test]
    fn postgres_placeholders_are_numbered_in_order() {
        let query = parse(RawAuditQuery {
            before: Some("10".into()),
            action: Some("tenant.".into()),
            tenant_slug: Some("acme".into()),
            ..Default::default()
        });
        let filter = build(&query, Dialect::Postgres, None);
        assert_eq!(
            filter.where_clause(),
            " WHERE seq < $1 AND action LIKE $2 ESCAPE '\\' AND tenant_slug = $3"
        );
        assert_eq!(
            filter.params,
            vec![
                Param::Int(10),
                Param::Text("tenant.%".into()),
                Param::Text("acme".into())
            ]
        );
    }

    #[test]
    fn min_seq_is_a_lower_bound() {
        let query = AuditQuery {
            min_seq: Some(7),
            ..parse(RawAuditQuery {
                before: Some("10".into()),
                ..Default::default()
            })
        };
        let filter = build(&query, Dialect::Postgres, None);
        assert_eq!(filter.where_clause(), " WHERE seq < $1 AND seq >= $2");
        assert_eq!(filter.params, vec![Param::Int(10), Param::Int(7)]);
    }

    #[test]
    fn sqlite_prefix_is_a_range_answered_by_the_index_file_and_the_events_it_has_not_reached() {
        let query = parse(RawAuditQuery {
            action: Some("tenant.".into()),
            ..Default::default()
        });
        let range = "action >= ? AND action < ?";
        let bounds = [Param::Text("tenant.".into()), Param::Text("tenant/".into())];
        let filter = build(&query, Dialect::Sqlite, None);
        assert_eq!(
            filter.where_clause(),
            format!(
                " WHERE seq IN (SELECT seq FROM (SELECT seq FROM text_index.event_keys WHERE {range} \
                 AND seq < (SELECT next_seq FROM chain_head) ORDER BY seq DESC LIMIT 101) UNION ALL SELECT seq FROM (SELECT seq FROM audit_events NOT INDEXED \
                 WHERE seq >= (SELECT next_seq FROM text_index.text_index_state) AND {range} \
                 ORDER BY seq DESC LIMIT 101))"
            )
        );
        assert_eq!(filter.params, [&bounds[..], &bounds[..]].concat());
        // Restored rows carry their own indexes; only the seq bounds alone need no candidates.
        let restored = build_for(&query, Dialect::Sqlite, EventTable::Restored, None);
        assert_eq!(restored.where_clause(), format!(" WHERE {range}"));
        let cursor_only = parse(RawAuditQuery {
            before: Some("10".into()),
            ..Default::default()
        });
        assert_eq!(
            build(&cursor_only, Dialect::Sqlite, None).where_clause(),
            " WHERE seq < ?"
        );
    }

    #[test]
    fn sqlite_email_matches_are_checked_on_the_events_before_a_page_is_cut() {
        let query = parse(RawAuditQuery {
            actor_email: Some("A@x.example".into()),
            limit: Some("1".into()),
            ..Default::default()
        });
        let filter = build(&query, Dialect::Sqlite, None);
        let email = "lower(actor_email) = lower(?)";
        assert_eq!(
            filter.where_clause(),
            format!(
                " WHERE {email} AND seq IN (SELECT seq FROM (SELECT seq FROM text_index.event_keys WHERE {email}) \
                 UNION ALL SELECT seq FROM (SELECT seq FROM audit_events NOT INDEXED \
                 WHERE seq >= (SELECT next_seq FROM text_index.text_index_state) AND {email} \
                 ORDER BY seq DESC LIMIT 2))"
            )
        );
        assert_eq!(filter.params, vec![Param::Text("A@x.example".into()); 3]);
    }

    #[test]
    fn sqlite_free_text_alone_is_paged_by_the_index_and_the_events_it_has_not_reached() {
        let query = parse(RawAuditQuery {
            q: Some("pdf".into()),
            before: Some("900".into()),
            limit: Some("20".into()),
            ..Default::default()
        });
        let filter = build(&query, Dialect::Sqlite, None);
        assert_eq!(
            filter.where_clause(),
            format!(
                " WHERE seq < ? AND seq IN (SELECT seq FROM (SELECT audit_events.seq FROM text_index.audit_events_text \
                 JOIN audit_events ON audit_events.seq = audit_events_text.rowid \
                 WHERE audit_events_text MATCH ? AND {SQLITE_TEXT_EXPRESSION} GLOB ? \
                 AND audit_events_text.rowid < ? ORDER BY audit_events_text.rowid DESC LIMIT 21) \
                 UNION ALL SELECT seq FROM (SELECT seq FROM audit_events NOT INDEXED \
                 WHERE seq >= (SELECT next_seq FROM text_index.text_index_state) \
                 AND {SQLITE_TEXT_EXPRESSION} GLOB ? AND seq < ? ORDER BY seq DESC LIMIT 21))"
            )
        );
        assert_eq!(
            filter.params,
            vec![
                Param::Int(900),
                Param::Text("\"pdf\"".into()),
                Param::Text("*[pP][dD][fF]*".into()),
                Param::Int(900),
                Param::Text("*[pP][dD][fF]*".into()),
                Param::Int(900)
            ]
        );
        // Any other filter: the index returns every candidate and the outer query filters them.
        let with_tenant = parse(RawAuditQuery {
            q: Some("pdf".into()),
            tenant_slug: Some("acme".into()),
            ..Default::default()
        });
        let filter = build(&with_tenant, Dialect::Sqlite, None);
        assert_eq!(
            filter.where_clause(),
            format!(
                " WHERE seq IN (SELECT seq FROM text_index.event_keys WHERE tenant_slug = ? \
                 AND seq IN (SELECT rowid FROM text_index.audit_events_text WHERE audit_events_text MATCH ?) \
                 UNION ALL SELECT seq FROM audit_events NOT INDEXED \
                 WHERE seq >= (SELECT next_seq FROM text_index.text_index_state) AND tenant_slug = ?) \
                 AND {SQLITE_TEXT_EXPRESSION} GLOB ?"
            )
        );
        assert_eq!(
            filter.params,
            vec![
                Param::Text("acme".into()),
                Param::Text("\"pdf\"".into()),
                Param::Text("acme".into()),
                Param::Text("*[pP][dD][fF]*".into())
            ]
        );
        assert!(!filter.where_clause().contains("LIMIT"));
    }

    #[test]
    fn free_text_is_escaped_for_each_dialect() {
        let query = parse(RawAuditQuery {
            q: Some("50%_\"x".into()),
            ..Default::default()
        });
        assert_eq!(
            build(&query, Dialect::Sqlite, None).params,
            vec![
                Param::Text("\"50%\" AND \"0%_\" AND \"%_\"\"\" AND \"_\"\"x\"".into()),
                // Once for the index's candidates, once for the events it has not reached.
                Param::Text("*50%_\"[xX]*".into()),
                Param::Text("*50%_\"[xX]*".into())
            ]
        );
        assert_eq!(
            build(&query, Dialect::Postgres, None).params,
            vec![Param::Text("%50\\%\\_\"x%".into())]
        );
    }

    #[test]
    fn restored_rows_are_searched_without_the_sqlite_text_index() {
        let query = parse(RawAuditQuery {
            q: Some("a_c".into()),
            ..Default::default()
        });
        let filter = build_for(&query, Dialect::Sqlite, EventTable::Restored, None);
        assert!(filter.where_clause().contains("GLOB ?"), "{}", filter.where_clause());
        assert!(!filter.where_clause().contains("audit_events_text"));
        assert_eq!(filter.params, vec![Param::Text("*[aA]_[cC]*".into())]);
        let values = TextValues {
            actions: vec!["a_cb".into()],
            tenants: vec![],
        };
        assert_eq!(
            build_for(&query, Dialect::Postgres, EventTable::Restored, Some(&values)).where_clause(),
            build(&query, Dialect::Postgres, None).where_clause(),
            "restored rows are searched in the joined fields"
        );
    }

    #[test]
    fn postgres_free_text_on_hot_events_uses_the_trigram_index_and_the_value_lists() {
        let query = parse(RawAuditQuery {
            q: Some("ac%".into()),
            tenant_slug: Some("acme".into()),
            ..Default::default()
        });
        let values = TextValues {
            actions: vec!["tenant.ac%ted".into(), "x.ac%".into()],
            tenants: vec!["ac%me".into()],
        };
        let filter = build(&query, Dialect::Postgres, Some(&values));
        assert_eq!(
            filter.where_clause(),
            format!(
                " WHERE tenant_slug = $1 AND ({POSTGRES_INDEXED_TEXT_EXPRESSION} ILIKE $2 ESCAPE '\\' \
                 OR action IN ($3, $4) OR tenant_slug IN ($5))"
            )
        );
        let text = |value: &str| Param::Text(value.into());
        assert_eq!(
            filter.params,
            vec![
                text("acme"),
                text("%ac\\%%"),
                text("tenant.ac%ted"),
                text("x.ac%"),
                text("ac%me")
            ]
        );
        let none_match = build(&query, Dialect::Postgres, Some(&TextValues::default()));
        assert!(
            none_match
                .where_clause()
                .ends_with(&format!("({POSTGRES_INDEXED_TEXT_EXPRESSION} ILIKE $2 ESCAPE '\\')")),
            "{}",
            none_match.where_clause()
        );
        for common_or_multiline in [
            build(&query, Dialect::Postgres, None),
            build(
                &parse(RawAuditQuery {
                    q: Some("login\nacme".into()),
                    ..Default::default()
                }),
                Dialect::Postgres,
                Some(&values),
            ),
        ] {
            assert!(
                common_or_multiline
                    .where_clause()
                    .contains(&format!("{POSTGRES_TEXT_EXPRESSION} ILIKE")),
                "{}",
                common_or_multiline.where_clause()
            );
        }
    }

    #[test]
    fn text_values_sort_rows_by_field_and_give_up_on_a_common_text() {
        let rows = vec![
            ("action".to_owned(), "a.b".to_owned()),
            ("tenant_slug".to_owned(), "acme".to_owned()),
            ("action".to_owned(), "a.c".to_owned()),
        ];
        assert_eq!(
            TextValues::from_rows(rows),
            Some(TextValues {
                actions: vec!["a.b".into(), "a.c".into()],
                tenants: vec!["acme".into()],
            })
        );
        let common = vec![("action".to_owned(), "x".to_owned()); MAX_TEXT_VALUES + 1];
        assert_eq!(TextValues::from_rows(common), None);
        let at_the_limit = vec![("action".to_owned(), "x".to_owned()); MAX_TEXT_VALUES];
        assert!(TextValues::from_rows(at_the_limit).is_some());
    }

    #[test]
    fn like_escaping_and_upper_bound() {
        assert_eq!(escape_like("a_b%c\\"), "a\\_b\\%c\\\\");
        assert_eq!(prefix_upper_bound("ten"), "teo");
        assert_eq!(prefix_upper_bound("tenant_"), "tenant`");
    }
}
