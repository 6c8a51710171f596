//! Key layout of the single table. All keys are strings: `pk` groups what is read together,
//! `sk` orders it.
//!
//! | item                    | pk                      | sk                          |
//! |-------------------------|-------------------------|-----------------------------|
//! | apply                   | `APPLY#<apply id>`      | `APPLY`                     |
//! | task                    | `APPLY#<apply id>`      | `TASK#<task id>`            |
//! | tracked PR comment      | `APPLY#<apply id>`      | `COMMENT#<kind>` (progress, cutover, summary) |
//! | poll chain              | `APPLY#<apply id>`      | `POLL`                      |
//! | audit event             | `EVENTS#<apply id>`     | `EVENT#<time>#<seq>`        |
//! | webhook delivery dedup  | `DELIVERY#<delivery id>`| `DELIVERY`                  |
//! | comment (job) dedup     | `COMMENT#<comment key>` | `DELIVERY`                  |
//! | comment posted once     | `POST#<repo>#<pr>#<marker>` | `POST`                  |
//!
//! Audit events live in their own partition so that loading an apply (one Query on its `pk`)
//! never pages through its history. Non-terminal applies also carry `active_pk` = `ACTIVE` and
//! `active_sk` = `<created_at>#<apply id>`, which puts them in the sparse `active` index.

use chrono::{DateTime, SecondsFormat, Utc};
use schemabot_domain::apply::CommentKind;
use schemabot_domain::{ApplyId, DeliveryId, PrNumber, Repository, TaskId};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub const APPLY_SK: &str = "APPLY";
pub const POLL_SK: &str = "POLL";
pub const DELIVERY_SK: &str = "DELIVERY";
pub const POST_SK: &str = "POST";
pub const TASK_PREFIX: &str = "TASK#";
pub const COMMENT_PREFIX: &str = "COMMENT#";
pub const EVENT_PREFIX: &str = "EVENT#";
/// The one partition of the `active` index. A single partition serves thousands of reads per
/// second, far beyond the number of schema changes in flight.
pub const ACTIVE_PARTITION: &str = "ACTIVE";

pub fn apply_pk(apply_id: &ApplyId) -> String {
    format!("APPLY#{apply_id}")
}

pub fn task_sk(task_id: &TaskId) -> String {
    format!("{TASK_PREFIX}{task_id}")
}

pub fn comment_sk(kind: CommentKind) -> String {
    format!("{COMMENT_PREFIX}{}", kind.as_str())
}

pub fn events_pk(apply_id: &ApplyId) -> String {
    format!("EVENTS#{apply_id}")
}

/// `EVENT#<time, fixed-width nanoseconds>#<seq>`: sorts by time; `seq` (a per-process random
/// prefix and counter) keeps two events of the same instant from overwriting each other.
pub fn event_sk(at: DateTime<Utc>) -> String {
    static PROCESS_NONCE: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS, which makes a cheap per-process nonce.
    let nonce = *PROCESS_NONCE.get_or_init(|| RandomState::new().build_hasher().finish());
    let seq = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{EVENT_PREFIX}{}#{nonce:016x}{seq:08x}", format_time(at))
}

pub fn delivery_pk(delivery_id: &DeliveryId) -> String {
    format!("DELIVERY#{delivery_id}")
}

pub fn comment_delivery_pk(comment_key: &str) -> String {
    format!("{COMMENT_PREFIX}{comment_key}")
}

/// The record of one comment posted once: by the PR and the comment's hidden marker (the job's
/// identity, e.g. `apply:<repo>:<comment id>:plan:<database>`, or `progress:<apply id>`).
pub fn post_pk(repository: &Repository, pr: PrNumber, marker: &str) -> String {
    format!("POST#{repository}#{}#{marker}", pr.0)
}

/// Sort key in the `active` index: oldest first, the apply id makes it unique.
pub fn active_sk(created_at: DateTime<Utc>, apply_id: &ApplyId) -> String {
    format!("{}#{apply_id}", format_time(created_at))
}

/// The apply id at the end of an `active_sk`.
pub fn apply_id_from_active_sk(active_sk: &str) -> Option<ApplyId> {
    let (_, id) = active_sk.rsplit_once('#')?;
    ApplyId::parse(id).ok()
}

/// Times in keys and attributes: RFC 3339 UTC with nanoseconds, so they sort as strings.
pub fn format_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_by_time_and_never_collide() {
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let a = event_sk(t);
        let b = event_sk(t);
        let later = event_sk(t + chrono::Duration::nanoseconds(1));
        assert_ne!(a, b);
        assert!(a < b && b < later, "{a} {b} {later}");
        assert!(a.starts_with("EVENT#2024-05-01T10:00:00.000000000Z#"));
    }

    #[test]
    fn active_sort_key_round_trips_the_apply_id() {
        let id = ApplyId::parse("apply-00ff").unwrap();
        let sk = active_sk(Utc::now(), &id);
        assert_eq!(apply_id_from_active_sk(&sk), Some(id));
    }
}
