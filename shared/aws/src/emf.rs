//! CloudWatch Embedded Metric Format: one JSON line on stdout per metric event, which Lambda's
//! log pipeline turns into CloudWatch metrics without any API call (no latency, no IAM).

use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// The namespace every SchemaBot metric is published under.
pub const NAMESPACE: &str = "SchemaBot";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// Builds the EMF document for one event: `dimensions` are name/value pairs (one dimension set),
/// `metrics` name/value/unit triples.
pub fn document(dimensions: &[(&str, &str)], metrics: &[(&str, f64, Unit)]) -> Value {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": metrics
                    .iter()
                    .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions {
        root.insert((*name).into(), Value::String((*value).into()));
    }
    for (name, value, _) in metrics {
        root.insert((*name).into(), json!(value));
    }
    Value::Object(root)
}

/// Emits one metric event to stdout — only inside Lambda (where the log pipeline extracts it), or
/// when `SCHEMABOT_EMF=1` asks for it; local runs and tests keep their output readable.
pub fn emit(dimensions: &[(&str, &str)], metrics: &[(&str, f64, Unit)]) {
    if enabled() {
        println!("{}", document(dimensions, metrics));
    }
}

fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| {
        std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
            || std::env::var("SCHEMABOT_EMF").is_ok_and(|v| v == "1")
    })
}

/// Counts one occurrence of `metric` with the given dimensions.
pub fn count(metric: &str, dimensions: &[(&str, &str)]) {
    emit(dimensions, &[(metric, 1.0, Unit::Count)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_the_embedded_metric_format() {
        let doc = document(
            &[("Command", "cutover"), ("Outcome", "triggered")],
            &[
                ("Commands", 1.0, Unit::Count),
                ("CutoverLatency", 812.0, Unit::Milliseconds),
            ],
        );
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "SchemaBot");
        assert_eq!(directive["Dimensions"], json!([["Command", "Outcome"]]));
        assert_eq!(
            directive["Metrics"][1],
            json!({"Name": "CutoverLatency", "Unit": "Milliseconds"})
        );
        assert_eq!(doc["Outcome"], "triggered");
        assert_eq!(doc["CutoverLatency"], json!(812.0));
        assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }
}
