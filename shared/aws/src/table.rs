//! The one definition of SchemaBot's DynamoDB table. Local runs create the table from it;
//! `infra/template.yaml` declares the same table, and [`TableDefinition::cloudformation_mismatches`]
//! lets a test prove the two agree.

use crate::codec::attr;
use crate::error::StoreError;
use crate::DynamoClient;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The table: string keys `pk`/`sk`, the sparse `active` index, TTL on `expires_at`, on-demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDefinition {
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    pub active_index: IndexDefinition,
    pub ttl_attribute: &'static str,
    pub point_in_time_recovery: bool,
}

/// A global secondary index with string keys, projecting all attributes (so that fields added
/// later need no index rebuild; GSI projections cannot be changed in place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

/// SchemaBot's table.
pub const TABLE: TableDefinition = TableDefinition {
    partition_key: attr::PK,
    sort_key: attr::SK,
    active_index: IndexDefinition {
        name: ACTIVE_INDEX,
        partition_key: attr::ACTIVE_PK,
        sort_key: attr::ACTIVE_SK,
    },
    ttl_attribute: attr::EXPIRES_AT,
    point_in_time_recovery: true,
};

/// Name of the sparse index of non-terminal applies (what the progress sweep walks).
pub const ACTIVE_INDEX: &str = "active";

/// How long `create_table` waits for the table and its index to become ACTIVE.
const CREATE_TIMEOUT: Duration = Duration::from_secs(180);
const CREATE_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Creates SchemaBot's table (see [`TableDefinition::create_table`]).
pub async fn create_table(client: &DynamoClient, name: &str) -> Result<(), StoreError> {
    TABLE.create_table(client, name).await
}

impl TableDefinition {
    fn key_attributes(&self) -> [&'static str; 4] {
        [
            self.partition_key,
            self.sort_key,
            self.active_index.partition_key,
            self.active_index.sort_key,
        ]
    }

    /// Creates the table if it does not exist (an existing one is fine), waits until it and its
    /// index are ACTIVE, then makes sure TTL is enabled.
    pub async fn create_table(&self, client: &DynamoClient, name: &str) -> Result<(), StoreError> {
        const OP: &str = "CreateTable";
        let attribute_definitions = self
            .key_attributes()
            .into_iter()
            .map(|attribute| {
                AttributeDefinition::builder()
                    .attribute_name(attribute)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::build(OP, e))?;
        let index = GlobalSecondaryIndex::builder()
            .index_name(self.active_index.name)
            .set_key_schema(Some(key_schema(
                self.active_index.partition_key,
                self.active_index.sort_key,
            )?))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| StoreError::build(OP, e))?;

        let created = client
            .create_table()
            .table_name(name)
            .set_attribute_definitions(Some(attribute_definitions))
            .set_key_schema(Some(key_schema(self.partition_key, self.sort_key)?))
            .global_secondary_indexes(index)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(CreateTableError::ResourceInUseException(_))
                ) => {}
            Err(err) => return Err(StoreError::from_sdk(OP, err)),
        }

        self.wait_until_active(client, name).await?;
        self.enable_ttl(client, name).await
    }

    async fn wait_until_active(&self, client: &DynamoClient, name: &str) -> Result<(), StoreError> {
        let started = Instant::now();
        loop {
            let described = client
                .describe_table()
                .table_name(name)
                .send()
                .await
                .map_err(|e| StoreError::from_sdk("DescribeTable", e))?;
            let ready = described.table().is_some_and(|table| {
                table.table_status() == Some(&TableStatus::Active)
                    && table
                        .global_secondary_indexes()
                        .iter()
                        .all(|index| index.index_status() == Some(&IndexStatus::Active))
            });
            if ready {
                return Ok(());
            }
            if started.elapsed() > CREATE_TIMEOUT {
                return Err(StoreError::TableNotReady {
                    table: name.to_string(),
                    seconds: CREATE_TIMEOUT.as_secs(),
                });
            }
            tokio::time::sleep(CREATE_POLL_INTERVAL).await;
        }
    }

    async fn enable_ttl(&self, client: &DynamoClient, name: &str) -> Result<(), StoreError> {
        let current = client
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("DescribeTimeToLive", e))?;
        let status = current
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status());
        // DynamoDB refuses to enable TTL twice, so only ask when it is off.
        if matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) {
            return Ok(());
        }
        let specification = TimeToLiveSpecification::builder()
            .attribute_name(self.ttl_attribute)
            .enabled(true)
            .build()
            .map_err(|e| StoreError::build("UpdateTimeToLive", e))?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(specification)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("UpdateTimeToLive", e))?;
        Ok(())
    }

    /// The table as `AWS::DynamoDB::Table` `Properties` (without `TableName`, which is the
    /// stack's business, and encryption settings, which depend on the account's keys).
    pub fn cloudformation_properties(&self) -> Value {
        let key = |hash: &str, range: &str| {
            json!([
                { "AttributeName": hash, "KeyType": "HASH" },
                { "AttributeName": range, "KeyType": "RANGE" },
            ])
        };
        let attribute_definitions: Vec<Value> = self
            .key_attributes()
            .into_iter()
            .map(|name| json!({ "AttributeName": name, "AttributeType": "S" }))
            .collect();
        json!({
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": attribute_definitions,
            "KeySchema": key(self.partition_key, self.sort_key),
            "GlobalSecondaryIndexes": [{
                "IndexName": self.active_index.name,
                "KeySchema": key(self.active_index.partition_key, self.active_index.sort_key),
                "Projection": { "ProjectionType": "ALL" },
            }],
            "TimeToLiveSpecification": { "AttributeName": self.ttl_attribute, "Enabled": true },
            "PointInTimeRecoverySpecification": {
                "PointInTimeRecoveryEnabled": self.point_in_time_recovery
            },
        })
    }

    /// Every property of [`Self::cloudformation_properties`] that `properties` (a template's
    /// `AWS::DynamoDB::Table` `Properties`) lacks or declares differently. Extra properties in
    /// the template (tags, encryption, deletion protection) are not compared. Attribute
    /// definitions are compared as a set; everything else exactly.
    pub fn cloudformation_mismatches(&self, properties: &Value) -> Vec<String> {
        let expected = self.cloudformation_properties();
        let Some(expected) = expected.as_object() else {
            return vec!["internal: definition is not an object".to_string()];
        };
        let mut mismatches = Vec::new();
        for (property, want) in expected {
            let got = properties.get(property);
            let same = match (property.as_str(), got) {
                (_, None) => false,
                ("AttributeDefinitions", Some(got)) => same_set(want, got),
                (_, Some(got)) => want == got,
            };
            if !same {
                mismatches.push(format!(
                    "{property}: expected {want}, template has {}",
                    got.map_or_else(|| "nothing".to_string(), Value::to_string)
                ));
            }
        }
        mismatches
    }
}

fn same_set(a: &Value, b: &Value) -> bool {
    match (a.as_array(), b.as_array()) {
        (Some(a), Some(b)) => a.len() == b.len() && a.iter().all(|x| b.contains(x)),
        _ => false,
    }
}

fn key_schema(hash: &str, range: &str) -> Result<Vec<KeySchemaElement>, StoreError> {
    [(hash, KeyType::Hash), (range, KeyType::Range)]
        .into_iter()
        .map(|(name, key_type)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .map_err(|e| StoreError::build("CreateTable", e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudformation_properties_describe_the_table() {
        let props = TABLE.cloudformation_properties();
        assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
        assert_eq!(props["KeySchema"][0]["AttributeName"], "pk");
        assert_eq!(props["GlobalSecondaryIndexes"][0]["IndexName"], "active");
        assert_eq!(
            props["TimeToLiveSpecification"]["AttributeName"],
            "expires_at"
        );
        assert!(TABLE.cloudformation_mismatches(&props).is_empty());
    }

    #[test]
    fn mismatches_name_the_differing_property() {
        let mut props = TABLE.cloudformation_properties();
        props["TimeToLiveSpecification"]["AttributeName"] = json!("ttl");
        props["AttributeDefinitions"]
            .as_array_mut()
            .unwrap()
            .reverse();
        props["Tags"] = json!([{ "Key": "app", "Value": "schemabot" }]);
        let mismatches = TABLE.cloudformation_mismatches(&props);
        assert_eq!(mismatches.len(), 1, "{mismatches:?}");
        assert!(mismatches[0].starts_with("TimeToLiveSpecification"));
    }
}
