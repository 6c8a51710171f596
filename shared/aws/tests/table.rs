//! The table definition: local creation (idempotent, TTL on) and its CloudFormation form.

mod common;

use aws_sdk_dynamodb::types::{BillingMode, KeyType, ProjectionType, TimeToLiveStatus};
use common::{local_aws, unique};
use schemabot_aws::table::{create_table, ACTIVE_INDEX, TABLE};

#[tokio::test]
async fn create_table_is_idempotent_and_matches_the_definition() {
    let aws = local_aws().await;
    let name = unique("schemabot-table");
    create_table(&aws.dynamo, &name).await.unwrap();
    create_table(&aws.dynamo, &name)
        .await
        .expect("an existing table is fine");

    let described = aws
        .dynamo
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    let keys: Vec<(&str, &KeyType)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type()))
        .collect();
    assert_eq!(keys, [("pk", &KeyType::Hash), ("sk", &KeyType::Range)]);
    assert_eq!(
        table.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let index = &table.global_secondary_indexes()[0];
    assert_eq!(index.index_name(), Some(ACTIVE_INDEX));
    let index_keys: Vec<&str> = index
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(index_keys, ["active_pk", "active_sk"]);
    assert_eq!(
        index.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::All)
    );

    let ttl = aws
        .dynamo
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
}

#[test]
fn a_sam_template_can_be_checked_against_the_definition() {
    let template = r#"
Resources:
  StateTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - { AttributeName: sk, AttributeType: S }
        - { AttributeName: pk, AttributeType: S }
        - { AttributeName: active_pk, AttributeType: S }
        - { AttributeName: active_sk, AttributeType: S }
      KeySchema:
        - { AttributeName: pk, KeyType: HASH }
        - { AttributeName: sk, KeyType: RANGE }
      GlobalSecondaryIndexes:
        - IndexName: active
          KeySchema:
            - { AttributeName: active_pk, KeyType: HASH }
            - { AttributeName: active_sk, KeyType: RANGE }
          Projection: { ProjectionType: ALL }
      TimeToLiveSpecification: { AttributeName: expires_at, Enabled: true }
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }
      SSESpecification: { SSEEnabled: true }
"#;
    let parsed: serde_json::Value = serde_yaml_ng::from_str(template).unwrap();
    let properties = &parsed["Resources"]["StateTable"]["Properties"];
    assert_eq!(
        TABLE.cloudformation_mismatches(properties),
        Vec::<String>::new()
    );

    let drifted = template.replace("AttributeName: expires_at", "AttributeName: ttl");
    let parsed: serde_json::Value = serde_yaml_ng::from_str(&drifted).unwrap();
    let mismatches =
        TABLE.cloudformation_mismatches(&parsed["Resources"]["StateTable"]["Properties"]);
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
}
