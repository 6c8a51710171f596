//! SchemaBot's pure domain core: typed ids, the command grammar, states and their transitions,
//! the progress-reconciliation decision, records and jobs. No AWS, GitHub or MySQL here.

#[macro_use]
mod macros;

pub mod apply;
pub mod audit;
pub mod command;
pub mod control;
pub mod cutover;
pub mod ids;
pub mod job;
pub mod lock;
pub mod ownership;
pub mod review;
pub mod rollback;
pub mod state;

pub use ids::{
    ApplyId, CommentId, Database, DeliveryId, Environment, IdError, InstallationId, Login,
    PrNumber, Repository, TaskId,
};
pub use state::State;
