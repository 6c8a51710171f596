//! What the plan and apply jobs share: schema directory discovery and Tern plan requests.

mod discovery;
mod tern_plan;

pub use discovery::{parse_schema_config, SchemaConfig, SCHEMA_CONFIG_FILE};
pub(crate) use discovery::{schema_dirs, Discovery, SchemaDir};
pub(crate) use tern_plan::{
    files_plan_request, has_deployment, original_files, plan_lint, plan_request, plan_tables,
    planned_changes,
};
