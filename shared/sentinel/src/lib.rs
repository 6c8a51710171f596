//! Spirit's sentinel check: with defer-cutover Spirit creates `_spirit_sentinel` in the schema
//! it alters and waits while the table exists; a cutover drops it. So "sentinel present" means
//! the change is still held before cutover, and "absent" means the cutover happened (or is
//! happening). SchemaBot uses this as evidence when Tern has lost its in-memory state.

mod checker;
mod dsn;
mod error;
mod tls;

pub use checker::{SentinelChecker, SentinelConfig, CHECK_QUERY, SENTINEL_QUERY};
pub use dsn::{DsnResolver, DsnSource, TargetDsn, TARGET_DSNS_ENV};
pub use error::SentinelError;
pub use tls::connection_opts;
