//! Attribute names of every item kind.

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const ACTIVE_PK: &str = "active_pk";
pub const ACTIVE_SK: &str = "active_sk";
/// TTL attribute (epoch seconds); DynamoDB deletes the item some time after it passes.
pub const EXPIRES_AT: &str = "expires_at";
/// What kind of record an item is (`apply`, `task`, …), for people reading the table.
pub const ITEM_TYPE: &str = "item_type";

pub const APPLY_ID: &str = "apply_id";
pub const TERN_APPLY_ID: &str = "tern_apply_id";
pub const REPOSITORY: &str = "repository";
pub const PR: &str = "pr";
pub const INSTALLATION_ID: &str = "installation_id";
pub const DATABASE: &str = "database";
pub const DATABASE_TYPE: &str = "database_type";
pub const DEPLOYMENT: &str = "deployment";
pub const ENVIRONMENT: &str = "environment";
pub const TARGET_SCHEMA: &str = "target_schema";
pub const STATE: &str = "state";
pub const VERSION: &str = "version";
pub const MODE: &str = "mode";
pub const DEFER_CUTOVER: &str = "defer_cutover";
pub const REQUESTED_BY: &str = "requested_by";
pub const CREATED_AT: &str = "created_at";
pub const STARTED_AT: &str = "started_at";
pub const COMPLETED_AT: &str = "completed_at";
pub const ERROR_MESSAGE: &str = "error_message";
pub const CLAIM: &str = "claim";
pub const CLAIM_COMMAND_ID: &str = "command_id";
pub const CLAIM_ACTOR: &str = "actor";
pub const CLAIM_CLAIMED_AT: &str = "claimed_at";
/// When the claim holder last began a Tern Cutover call (its outcome is unknown until settled).
pub const CLAIM_TERN_CALLED_AT: &str = "tern_called_at";
/// Whether that call may still be in flight (cleared when its attempt saw it fail).
pub const CLAIM_TERN_CALL_OPEN: &str = "tern_call_open";
pub const CUTOVER_TRIGGERED_BY: &str = "cutover_triggered_by";
pub const CUTOVER_TRIGGERED_AT: &str = "cutover_triggered_at";
pub const DESIRED_SCHEMA: &str = "desired_schema";
pub const ROLLBACK_OF: &str = "rollback_of";

pub const TASK_ID: &str = "task_id";
pub const NAMESPACE: &str = "namespace";
pub const TABLE_NAME: &str = "table_name";
pub const DDL: &str = "ddl";
pub const READY_TO_COMPLETE: &str = "ready_to_complete";
pub const ROWS_COPIED: &str = "rows_copied";
pub const ROWS_TOTAL: &str = "rows_total";
pub const PERCENT: &str = "percent";
pub const ETA_SECONDS: &str = "eta_seconds";
pub const CHECKSUM_ROWS_CHECKED: &str = "checksum_rows_checked";
pub const CHECKSUM_ROWS_TOTAL: &str = "checksum_rows_total";
pub const ENGINE_SILENT_SINCE: &str = "engine_silent_since";

pub const KIND: &str = "kind";
pub const COMMENT_ID: &str = "comment_id";
pub const BODY_HASH: &str = "body_hash";
pub const EDIT_COUNT: &str = "edit_count";
pub const LAST_EDITED_AT: &str = "last_edited_at";
pub const FINALIZED: &str = "finalized";

pub const AT: &str = "at";
pub const EVENT: &str = "event";
pub const ACTOR: &str = "actor";
pub const DELIVERY_ID: &str = "delivery_id";
pub const FROM_STATE: &str = "from_state";
pub const TO_STATE: &str = "to_state";
pub const OUTCOME: &str = "outcome";
pub const MESSAGE: &str = "message";

pub const STATUS: &str = "status";
pub const LEASE_EXPIRES_AT_MS: &str = "lease_expires_at_ms";
pub const COMMENT_KEY: &str = "comment_key";
pub const FIRST_SEEN_AT: &str = "first_seen_at";

pub const MARKER: &str = "marker";
pub const POSTED_AT: &str = "posted_at";

pub const CHAIN_SEQ: &str = "chain_seq";
pub const UPDATED_AT: &str = "updated_at";

pub const LOCK_STAGE: &str = "lock_stage";
pub const LOCK_COMMAND_ID: &str = "lock_command_id";
/// When a `confirming`/`applying` lock is due to be settled by the sweep (its lease).
pub const SETTLE_AFTER: &str = "settle_after";
/// When the confirm holding a lock began calling Tern's Apply.
pub const APPLY_CALLED_AT: &str = "apply_called_at";
pub const HEAD_SHA: &str = "head_sha";
pub const PLAN: &str = "plan";
pub const LOCKED_BY: &str = "locked_by";
pub const ACQUIRED_AT: &str = "acquired_at";
pub const SCHEMA_DIGEST: &str = "schema_digest";
/// A control request's operation, requester and outcome.
pub const CONTROL_OP: &str = "control_op";
pub const REQUESTED_AT: &str = "requested_at";
pub const RESUME_DEADLINE: &str = "resume_deadline";
