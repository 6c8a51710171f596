//! The wire contract, checked against the descriptors the code is generated from: every field
//! number and type, every enum value and every RPC the project uses. A drift fails here.

use std::collections::BTreeMap;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::FileDescriptorSet;

const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tern_descriptor.bin"));

/// `Message.field = number: type` as Tern's current contract defines them. `map<K,V>` and
/// `repeated T` as in the contract; message and enum types by name.
const FIELDS: &str = "
SchemaFiles.files = 1: map<string,string>
PlanRequest.database = 1: string
PlanRequest.type = 2: string
PlanRequest.schema_files = 3: map<string,SchemaFiles>
PlanRequest.repository = 4: string
PlanRequest.pull_request = 5: int32
PlanRequest.environment = 6: string
PlanRequest.target = 8: string
PlanRequest.head_sha = 9: string
PlanRequest.schema_path = 10: string
TableChange.table_name = 1: string
TableChange.ddl = 2: string
TableChange.change_type = 3: ChangeType
TableChange.namespace = 4: string
TableChange.is_unsafe = 5: bool
TableChange.unsafe_reason = 6: string
SchemaChange.namespace = 1: string
SchemaChange.table_changes = 2: repeated TableChange
SchemaChange.metadata = 3: map<string,string>
SchemaChange.original_files = 4: map<string,string>
SchemaChange.original_files_captured = 5: bool
LintViolation.message = 1: string
LintViolation.table = 2: string
LintViolation.column = 3: string
LintViolation.linter = 4: string
LintViolation.fix_type = 5: string
LintViolation.severity = 6: string
ShardPlan.shard = 1: string
ShardPlan.namespace = 2: string
ShardPlan.changes = 3: repeated TableChange
PlanResponse.plan_id = 1: string
PlanResponse.engine = 2: Engine
PlanResponse.changes = 3: repeated SchemaChange
PlanResponse.lint_violations = 4: repeated LintViolation
PlanResponse.errors = 5: repeated string
PlanResponse.shards = 6: repeated ShardPlan
PlanDiffResponse.engine = 1: Engine
PlanDiffResponse.changes = 2: repeated SchemaChange
PlanDiffResponse.lint_violations = 3: repeated LintViolation
PlanDiffResponse.errors = 4: repeated string
PlanDiffResponse.shards = 5: repeated ShardPlan
ApplyRequest.plan_id = 1: string
ApplyRequest.options = 2: map<string,string>
ApplyRequest.schema_files = 3: map<string,SchemaFiles>
ApplyRequest.database = 4: string
ApplyRequest.type = 5: string
ApplyRequest.ddl_changes = 6: repeated TableChange
ApplyRequest.environment = 7: string
ApplyRequest.target = 8: string
ApplyRequest.caller = 9: string
ApplyRequest.target_shards = 10: repeated string
ApplyRequest.idempotency_key = 11: string
ApplyResponse.accepted = 1: bool
ApplyResponse.error_message = 2: string
ApplyResponse.apply_id = 3: string
ApplyResponse.apply_operation_id = 4: string
ProgressRequest.apply_id = 1: string
ProgressRequest.environment = 2: string
ShardProgress.shard = 1: string
ShardProgress.status = 2: string
ShardProgress.rows_copied = 3: int64
ShardProgress.rows_total = 4: int64
ShardProgress.eta_seconds = 5: int64
ShardProgress.cutover_attempts = 6: int32
ShardProgress.last_cutover_attempt = 7: string
ShardProgress.ready_to_complete = 8: bool
TableProgress.task_id = 1: string
TableProgress.namespace = 2: string
TableProgress.table_name = 3: string
TableProgress.ddl = 4: string
TableProgress.status = 5: string
TableProgress.rows_copied = 6: int64
TableProgress.rows_total = 7: int64
TableProgress.percent_complete = 8: int32
TableProgress.eta_seconds = 9: int64
TableProgress.is_instant = 10: bool
TableProgress.shards = 11: repeated ShardProgress
TableProgress.progress_detail = 12: string
TableProgress.change_type = 13: ChangeType
TableProgress.checksum_rows_checked = 14: int64
TableProgress.checksum_rows_total = 15: int64
ProgressResponse.apply_id = 1: string
ProgressResponse.state = 2: State
ProgressResponse.engine = 3: Engine
ProgressResponse.summary = 4: string
ProgressResponse.error_message = 5: string
ProgressResponse.tables = 6: repeated TableProgress
ProgressResponse.started_at = 7: string
ProgressResponse.completed_at = 8: string
ProgressResponse.volume = 9: int32
ProgressResponse.metadata = 10: map<string,string>
CutoverRequest.apply_id = 1: string
CutoverRequest.environment = 2: string
CutoverResponse.accepted = 1: bool
CutoverResponse.error_message = 2: string
StopRequest.apply_id = 1: string
StopRequest.environment = 2: string
StopResponse.accepted = 1: bool
StopResponse.error_message = 2: string
StopResponse.resume_deadline = 3: string
StopResponse.stopped_count = 4: int64
StopResponse.skipped_count = 5: int64
StartRequest.apply_id = 1: string
StartRequest.environment = 2: string
StartResponse.accepted = 1: bool
StartResponse.error_message = 2: string
StartResponse.started_count = 3: int64
StartResponse.skipped_count = 4: int64
CancelRequest.apply_id = 1: string
CancelRequest.environment = 2: string
CancelResponse.accepted = 1: bool
CancelResponse.error_message = 2: string
CancelResponse.cancelled_count = 3: int64
CancelResponse.skipped_count = 4: int64
RevertRequest.apply_id = 1: string
RevertRequest.environment = 2: string
RevertResponse.accepted = 1: bool
RevertResponse.error_message = 2: string
SkipRevertRequest.apply_id = 1: string
SkipRevertRequest.environment = 2: string
SkipRevertResponse.accepted = 1: bool
SkipRevertResponse.error_message = 2: string
HealthResponse.status = 1: string
";

const ENUMS: &str = "
State: NO_ACTIVE_CHANGE=0 PENDING=1 RUNNING=2 WAITING_FOR_CUTOVER=3 CUTTING_OVER=4 REVERT_WINDOW=5 COMPLETED=6 FAILED=7 STOPPED=8 REVERTED=9 CANCELLED=10 PREPARING_BRANCH=11 APPLYING_BRANCH_CHANGES=12 CREATING_DEPLOY_REQUEST=13 WAITING_FOR_DEPLOY=14 VALIDATING_DEPLOY_REQUEST=15 VALIDATING_BRANCH=16 RECOVERING=17 REVERTING=18
Engine: SPIRIT=0 PLANETSCALE=1 STRATA=2
ChangeType: OTHER=0 CREATE=1 ALTER=2 DROP=3 VSCHEMA=4
";

const RPCS: &str = "
Plan: PlanRequest -> PlanResponse
PlanDiff: PlanRequest -> PlanDiffResponse
Apply: ApplyRequest -> ApplyResponse
Progress: ProgressRequest -> ProgressResponse
Cutover: CutoverRequest -> CutoverResponse
Stop: StopRequest -> StopResponse
Start: StartRequest -> StartResponse
Cancel: CancelRequest -> CancelResponse
Revert: RevertRequest -> RevertResponse
SkipRevert: SkipRevertRequest -> SkipRevertResponse
Health: HealthRequest -> HealthResponse
";

/// The descriptors' view: `Message.field` → `number: type`, as in [`FIELDS`].
fn described_fields(set: &FileDescriptorSet) -> BTreeMap<String, String> {
    let file = &set.file[0];
    let mut fields = BTreeMap::new();
    for message in &file.message_type {
        let maps: BTreeMap<String, String> = message
            .nested_type
            .iter()
            .filter(|nested| nested.options.as_ref().is_some_and(|o| o.map_entry()))
            .map(|entry| {
                let key = type_name(&entry.field[0]);
                let value = type_name(&entry.field[1]);
                (entry.name().to_string(), format!("map<{key},{value}>"))
            })
            .collect();
        for field in &message.field {
            let nested = field.type_name().rsplit('.').next().unwrap_or_default();
            let described = match maps.get(nested) {
                Some(map) => map.clone(),
                None if field.label() == Label::Repeated => {
                    format!("repeated {}", type_name(field))
                }
                None => type_name(field),
            };
            fields.insert(
                format!("{}.{}", message.name(), field.name()),
                format!("{}: {described}", field.number()),
            );
        }
    }
    fields
}

fn type_name(field: &prost_types::FieldDescriptorProto) -> String {
    match field.r#type() {
        Type::String => "string".into(),
        Type::Bool => "bool".into(),
        Type::Int32 => "int32".into(),
        Type::Int64 => "int64".into(),
        Type::Message | Type::Enum => field
            .type_name()
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_string(),
        other => format!("{other:?}"),
    }
}

fn descriptors() -> FileDescriptorSet {
    FileDescriptorSet::decode(DESCRIPTORS).expect("descriptor set written by build.rs")
}

#[test]
fn every_field_matches_the_contract() {
    let described = described_fields(&descriptors());
    let mut expected = BTreeMap::new();
    for line in FIELDS.lines().filter(|l| !l.trim().is_empty()) {
        let (name, rest) = line.split_once(" = ").expect("table line");
        expected.insert(name.to_string(), rest.to_string());
    }
    for (name, wire) in &expected {
        assert_eq!(described.get(name), Some(wire), "field {name}");
    }
    // Nothing beyond the contract either (a field of ours Tern would not know).
    let extra: Vec<_> = described
        .keys()
        .filter(|name| !expected.contains_key(*name))
        .collect();
    assert!(extra.is_empty(), "fields not in the contract: {extra:?}");
}

#[test]
fn every_enum_value_matches_the_contract() {
    let set = descriptors();
    let file = &set.file[0];
    for line in ENUMS.lines().filter(|l| !l.trim().is_empty()) {
        let (name, values) = line.split_once(": ").expect("enum line");
        let described = file
            .enum_type
            .iter()
            .find(|e| e.name() == name)
            .unwrap_or_else(|| panic!("enum {name} missing"));
        let prefix = match name {
            "State" => "STATE_",
            "Engine" => "ENGINE_",
            _ => "CHANGE_TYPE_",
        };
        let expected: Vec<(String, i32)> = values
            .split_whitespace()
            .map(|pair| {
                let (value, number) = pair.split_once('=').expect("NAME=number");
                (format!("{prefix}{value}"), number.parse().expect("number"))
            })
            .collect();
        let actual: Vec<(String, i32)> = described
            .value
            .iter()
            .map(|v| (v.name().to_string(), v.number()))
            .collect();
        assert_eq!(actual, expected, "enum {name}");
    }
}

#[test]
fn every_rpc_matches_the_contract() {
    let set = descriptors();
    let service = &set.file[0].service[0];
    assert_eq!(set.file[0].package(), "tern.v1");
    assert_eq!(service.name(), "Tern");
    let short = |name: &str| name.rsplit('.').next().unwrap_or_default().to_string();
    let actual: Vec<String> = service
        .method
        .iter()
        .map(|m| {
            format!(
                "{}: {} -> {}",
                m.name(),
                short(m.input_type()),
                short(m.output_type())
            )
        })
        .collect();
    let expected: Vec<String> = RPCS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn requests_for_an_apply_put_its_id_first() {
    // The layout that broke against current servers put the database in field 1.
    use crate::proto;
    let request = proto::CutoverRequest {
        apply_id: "apply-0123456789abcdef".into(),
        environment: "staging".into(),
    };
    let bytes = request.encode_to_vec();
    assert_eq!(bytes[0], (1 << 3) | 2);
    assert_eq!(&bytes[2..24], b"apply-0123456789abcdef");
}
