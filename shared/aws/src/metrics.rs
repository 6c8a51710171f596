//! Counting AWS requests per operation. The worker has a budget of DynamoDB requests per cutover;
//! the counter makes that measurable in tests and reportable as a metric in production.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Requests sent, per operation name (`UpdateItem`, `TransactWriteItems`, `SendMessage`, …).
/// Every attempt counts, retries included: that is what the service sees and bills.
/// Cloning shares the counts.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RequestCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests of one operation so far.
    pub fn get(&self, operation: &str) -> u64 {
        self.lock().get(operation).copied().unwrap_or(0)
    }

    /// All requests so far.
    pub fn total(&self) -> u64 {
        self.lock().values().sum()
    }

    /// A copy of the counts, e.g. to diff before/after one operation.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock().clone()
    }

    pub fn record(&self, operation: &str) {
        *self.lock().entry(operation.to_string()).or_insert(0) += 1;
    }

    /// An SDK interceptor feeding this counter; works for any awsJson client (DynamoDB, SQS).
    pub fn interceptor(&self) -> CountingInterceptor {
        CountingInterceptor {
            counter: self.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        // A panic while holding the lock cannot leave a count half-updated, so poison is harmless.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts each request just before it is transmitted, keyed by the `X-Amz-Target` operation.
#[derive(Debug, Clone)]
pub struct CountingInterceptor {
    counter: RequestCounter,
}

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "schemabot::RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // awsJson protocols name the operation as `<Service>.<Operation>` in this header.
        let operation = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or("unknown");
        self.counter.record(operation);
        Ok(())
    }
}
