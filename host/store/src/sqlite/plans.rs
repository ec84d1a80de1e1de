//! The query plans of the statements that read an index schema version 6 changed
//! (`runs_done`, `lanes_ready`) or dropped (`runs_status`), or one version 7 rebuilt (the
//! dedupe digest's, `runs_plugin` over name ids): each must read its index (a partial index may
//! be walked in order from its start), never scan a table and never sort. The conformance suite
//! checks what they answer.

use super::{dispatch, history, intake, lanes, ledger, names, ops, schema, views};
use rusqlite::Connection;

/// The migrated schema in memory, with `ANALYZE`-less statistics like a fresh file.
fn migrated() -> Connection {
    let mut conn = Connection::open_in_memory().expect("memory db");
    schema::migrate(&mut conn).expect("migrate");
    conn
}

/// The plan's lines, joined (`EXPLAIN QUERY PLAN` details).
fn plan(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("explain");
    let nulls = vec![rusqlite::types::Value::Null; stmt.parameter_count()];
    let rows = stmt
        .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
        .expect("plan rows");
    rows.map(|r| r.expect("plan row"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn assert_seeks(sql: &str, index: &str) {
    let plan = plan(&migrated(), sql);
    assert!(
        plan.contains(&format!("INDEX {index}")),
        "{index} unused: {plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "sorts: {plan}");
    let table_scan = plan
        .split("; ")
        .any(|step| step.starts_with("SCAN") && !step.contains("INDEX"));
    assert!(!table_scan, "scans a table: {plan}");
}

#[test]
fn retention_reads_finished_runs_by_age_from_runs_done() {
    assert_seeks(
        &ops::aged_runs_sql(),
        "runs_done (status=? AND updated_at<?)",
    );
}

#[test]
fn failures_since_a_time_read_runs_done() {
    let sql = crate::shared_sql::failures_sql("?1", "?2");
    let plan = plan(&migrated(), &sql);
    assert!(
        plan.contains("INDEX runs_done (status=? AND updated_at>?)"),
        "{plan}"
    );
    assert!(!plan.contains("SCAN r"), "scans the runs: {plan}");
}

#[test]
fn claiming_and_the_oldest_ready_head_read_lanes_ready_in_order() {
    assert_seeks(lanes::READY_HEADS, "lanes_ready");
    assert_seeks(dispatch::OLDEST_READY, "lanes_ready");
}

#[test]
fn a_duplicate_finds_its_first_event_by_the_digest() {
    assert_seeks(intake::EVENT_BY_KEY, "sqlite_autoindex_events_1 (dedupe=?)");
}

#[test]
fn the_runs_of_one_plugin_read_runs_plugin_newest_first() {
    let sql = format!(
        "{} WHERE {} ORDER BY r.id DESC LIMIT ?",
        history::SUMMARY,
        history::PLUGIN_IS
    );
    assert_seeks(&sql, "runs_plugin (plugin=?)");
}

#[test]
fn a_connections_newest_status_reads_events_connection_status() {
    assert_seeks(&views::newest_status_sql(), "events_connection_status");
    let conn = migrated();
    let seeded: String = conn
        .query_row(
            "SELECT name FROM names WHERE id = ?1",
            [names::STATUS_KIND],
            |r| r.get(0),
        )
        .expect("seeded");
    assert_eq!(seeded, crate::model::views::CONNECTION_STATUS_KIND);
}

#[test]
fn a_pending_send_to_a_chat_reads_ledger_pending() {
    let plan = plan(&migrated(), &ledger::pending_send_sql());
    assert!(
        plan.contains("INDEX ledger_pending (connection_id=? AND chat_id=?)"),
        "{plan}"
    );
    let scans_ledger = plan.split("; ").any(|step| step.starts_with("SCAN ledger"));
    assert!(!scans_ledger, "scans: {plan}");
    let seeded: String = migrated()
        .query_row(
            "SELECT name FROM names WHERE id = ?1",
            [names::SEND_KIND],
            |r| r.get(0),
        )
        .expect("seeded");
    assert_eq!(seeded, "messages.send");
}

#[test]
fn queue_depth_counts_from_runs_status_id() {
    assert_seeks(dispatch::QUEUE_COUNTS, "runs_status_id (status=?)");
}

#[test]
fn an_echo_lookup_seeks_ledger_effect_for_both_forms_of_the_id() {
    let plan = plan(&migrated(), ledger::OWN_EFFECT);
    assert!(plan.contains("INDEX ledger_effect (effect_id=?)"), "{plan}");
    let scans_ledger = plan.split("; ").any(|step| step.starts_with("SCAN ledger"));
    assert!(!scans_ledger, "scans: {plan}");
}
