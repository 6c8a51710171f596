//! AWS adapters for SchemaBot: the DynamoDB state store (every state change a conditional write,
//! written together with its audit event), the single table definition shared with `infra/`, and
//! the SQS job queue.

pub mod codec;
pub mod condition;
pub mod config;
pub mod emf;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod queue;
pub mod store;
pub mod table;

pub use aws_sdk_dynamodb::Client as DynamoClient;
pub use aws_sdk_sqs::Client as SqsClient;
pub use error::StoreError;
pub use metrics::RequestCounter;
pub use store::{Store, WriteOutcome};
pub use table::{TableDefinition, TABLE};
