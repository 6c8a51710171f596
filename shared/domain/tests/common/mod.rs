//! Helpers shared by the domain's integration tests, one module per area.
//!
//! Each test file that declares `mod common;` compiles all of it but uses only a part, hence
//! `allow(dead_code)`.
#![allow(dead_code)]

pub mod commands;
pub mod reconcile;
