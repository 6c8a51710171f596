//! Records ↔ DynamoDB items. Attribute names are explicit constants (shared with the update
//! expressions in `store`), states are their snake_case strings, times RFC 3339 strings with
//! fixed-width nanoseconds (lossless and sortable), counters and versions numbers. Optional
//! fields are absent attributes, never NULLs.

mod apply;
pub mod attr;
mod item;
pub mod item_type;
mod records;

pub use apply::{decode_apply, decode_task, encode_apply, encode_claim, encode_task};
pub use item::{n, s, state, time, DecodeError, Item};
pub(crate) use item::{ItemReader, ItemWriter};
pub use records::{decode_comment, decode_event, encode_comment, encode_event};

/// RFC 3339 in UTC with exactly nine fractional digits, so that string order is time order.
pub use crate::keys::format_time;
