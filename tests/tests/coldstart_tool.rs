//! Keeps the cold-start measuring tool (`src/bin/coldstart.rs`, run by
//! `scripts/bench-coldstart.sh`) working: one timed run per scenario of the `webhook` binary,
//! on a private moto, must succeed and report its figures.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the `webhook` binary with this test's profile and target directory; returns its path.
fn webhook_binary() -> PathBuf {
    // <target-dir>[/<triple>]/<profile-dir>/deps/coldstart_tool-<hash>
    let exe = std::env::current_exe().expect("path of the test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in <target>/<profile>/deps");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .args(["build", "--quiet", "-p", "webhook", "--bin", "webhook"])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--profile",
            profile,
        ])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"));
    if let Some(target_dir) = profile_dir
        .parent()
        .filter(|dir| dir.join("CACHEDIR.TAG").exists())
    {
        command.arg("--target-dir").arg(target_dir);
    }
    let output = command.output().expect("run cargo build");
    assert!(
        output.status.success(),
        "cargo build -p webhook failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "webhook")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the webhook executable")
}

#[test]
fn the_coldstart_tool_measures_both_scenarios_on_a_private_moto() {
    let binary = webhook_binary();
    let report_path = std::env::temp_dir().join(format!(
        "coldstart-smoke-{}.json",
        uuid::Uuid::new_v4().simple()
    ));
    // The same AWS settings the script gives the tool: moto's region and test credentials only.
    let output = Command::new(env!("CARGO_BIN_EXE_coldstart"))
        .arg("--binary")
        .arg(&binary)
        .args(["--runs", "1", "--private-moto", "--json"])
        .arg(&report_path)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run the coldstart tool");
    assert!(
        output.status.success(),
        "coldstart failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).expect("the JSON report"))
            .expect("a JSON report");
    let _ = std::fs::remove_file(&report_path);
    for scenario in ["ping", "issue_comment"] {
        let figures = &report["scenarios"][scenario];
        for figure in ["cold_start_ms", "peak_rss_mib", "warm_invoke_ms"] {
            let median = figures[figure]["median"].as_f64().unwrap_or(0.0);
            assert!(median > 0.0, "{scenario} {figure}: {figures}");
        }
    }
}
