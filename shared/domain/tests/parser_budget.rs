//! The parser's time budget in the webhook hot path (≤ 10 µs per comment).
//!
//! Timing depends on the build and the machine, so this is opt-in and release-only:
//! `cargo test -p schemabot-domain --release --test parser_budget -- --ignored --nocapture`
#![cfg(not(debug_assertions))]

use schemabot_domain::command::{parse, ParseOutcome};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn mean_time(body: &str) -> Duration {
    const ROUNDS: u32 = 2_000;
    let started = Instant::now();
    for _ in 0..ROUNDS {
        black_box(parse(black_box(body)));
    }
    started.elapsed() / ROUNDS
}

#[test]
#[ignore = "timing: run in release with --ignored"]
fn typical_comments_parse_within_the_webhook_budget() {
    let review = "Looks good to me. The index on `users.email` should help; \
                  see the plan above.\n\n> nit: rename the column?\n\nDone.\n"
        .repeat(20);
    let cases = [
        ("command", "schemabot cutover apply-0123456789abcdef -e production".to_string()),
        (
            "quoted command + command",
            "> schemabot cutover apply-aa -e staging\n\nschemabot cutover apply-0123456789abcdef -e production"
                .to_string(),
        ),
        ("2 KB review, no mention", review.clone()),
        ("2 KB review, command at the end", format!("{review}\nschemabot cutover apply-ab -e production")),
    ];
    for (name, body) in &cases {
        assert!(matches!(
            parse(body),
            ParseOutcome::Command(_) | ParseOutcome::NotAddressed
        ));
        let mean = mean_time(body);
        println!("{name:<35} {:>6} bytes  {mean:?}", body.len());
        assert!(mean < Duration::from_micros(10), "{name}: {mean:?}");
    }
}

#[test]
#[ignore = "timing: run in release with --ignored"]
fn large_and_hostile_comments_stay_linear() {
    // GitHub caps comments at 65 536 characters.
    let cases = [
        (
            "64 KB prose with a late mention",
            format!("{}schemabot what", "word ".repeat(13_000)),
        ),
        ("64 KB of mentions", "schemabot ".repeat(6_500)),
        (
            "64 KB of unmatched backticks",
            (1..350).map(|n| "`".repeat(n) + " ").collect(),
        ),
        (
            "64 KB of quote lines",
            format!("{}schemabot x", "> schemabot cutover\n".repeat(3_200)),
        ),
        ("64 KB of `<!--`", "<!-- schemabot -->".repeat(3_600)),
    ];
    for (name, body) in &cases {
        let mean = mean_time(body);
        println!("{name:<35} {:>6} bytes  {mean:?}", body.len());
        // Linear work over 64 KB: well under a millisecond (quadratic would take seconds).
        assert!(mean < Duration::from_millis(1), "{name}: {mean:?}");
    }
}
