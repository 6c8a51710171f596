//! `item_type` values: what kind of record an item is.

pub const APPLY: &str = "apply";
pub const TASK: &str = "task";
pub const COMMENT: &str = "comment";
pub const EVENT: &str = "event";
pub const DELIVERY: &str = "delivery";
pub const COMMENT_DELIVERY: &str = "comment_delivery";
pub const POLL_CHAIN: &str = "poll_chain";
pub const LOCK: &str = "lock";
pub const PR_LOCK: &str = "pr_lock";
pub const APPLIED_SCHEMA: &str = "applied_schema";
pub const LOCK_EVENT: &str = "lock_event";
pub const COMMENT_POST: &str = "comment_post";
pub const CONTROL_REQUEST: &str = "control_request";
pub const FORCE_UNLOCK: &str = "force_unlock";
