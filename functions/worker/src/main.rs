//! Lambda entry point: wiring only. One function receives SQS batches (jobs and polls) and the
//! EventBridge schedule (progress sweep).

fn main() {}
