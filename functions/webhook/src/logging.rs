//! The log filter from `RUST_LOG`.
//!
//! The webhook filters with tracing-subscriber's `Targets`, not `EnvFilter`: `EnvFilter` brings
//! the `regex` crates, about 0.3 MB of the deploy zip (docs/performance.md, "Deploy zip sizes").
//! `RUST_LOG` takes what is usually written there: a default level and `target=level`
//! directives, comma-separated, e.g. `info` or `info,webhook=debug,aws_smithy_runtime=warn`.
//! A target matches itself and everything under it (`aws_smithy` covers
//! `aws_smithy_runtime::client`). `EnvFilter`'s span and field filters
//! (`target[span{field=value}]=level`) are not supported: such a value is reported and the
//! default is used instead, as `EnvFilter` does with a value it cannot parse.

use tracing_subscriber::filter::Targets;

/// The filter when `RUST_LOG` is unset, empty or unusable: [`DEFAULT_LEVEL`] for every target.
pub const DEFAULT_FILTER: &str = "info";
const DEFAULT_LEVEL: tracing::Level = tracing::Level::INFO;

/// The filter for a `RUST_LOG` value, and the value itself when it was not usable (to report
/// once logging is up).
pub fn log_filter(rust_log: Option<&str>) -> (Targets, Option<String>) {
    let default = || Targets::new().with_default(DEFAULT_LEVEL);
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        None => (default(), None),
        Some(value) => match value.parse::<Targets>() {
            Ok(filter) => (filter, None),
            Err(_) => (default(), Some(value.to_string())),
        },
    }
}

/// [`log_filter`] of the `RUST_LOG` environment variable.
pub fn log_filter_from_env() -> (Targets, Option<String>) {
    log_filter(std::env::var("RUST_LOG").ok().as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn enabled(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn unset_or_empty_is_info() {
        for value in [None, Some(""), Some("  ")] {
            let (filter, ignored) = log_filter(value);
            assert!(ignored.is_none());
            assert!(enabled(&filter, "webhook", Level::INFO));
            assert!(!enabled(&filter, "webhook", Level::DEBUG));
            assert!(enabled(&filter, "aws_smithy_runtime", Level::WARN));
        }
    }

    #[test]
    fn default_level_and_per_target_directives() {
        let (filter, ignored) = log_filter(Some("warn,webhook=debug,aws_smithy_runtime=off"));
        assert!(ignored.is_none());
        assert!(enabled(&filter, "webhook", Level::DEBUG));
        assert!(enabled(&filter, "webhook::intake", Level::DEBUG));
        assert!(!enabled(&filter, "webhook", Level::TRACE));
        assert!(!enabled(&filter, "schemabot_aws", Level::INFO));
        assert!(enabled(&filter, "schemabot_aws", Level::WARN));
        assert!(!enabled(
            &filter,
            "aws_smithy_runtime::client",
            Level::ERROR
        ));
    }

    #[test]
    fn a_target_without_a_default_logs_only_that_target() {
        let (filter, _) = log_filter(Some("webhook=trace"));
        assert!(enabled(&filter, "webhook", Level::TRACE));
        assert!(!enabled(&filter, "hyper", Level::ERROR));
    }

    #[test]
    fn span_filters_fall_back_to_info_and_are_reported() {
        let (filter, ignored) = log_filter(Some("info,webhook[admit{delivery=1}]=debug"));
        assert_eq!(
            ignored.as_deref(),
            Some("info,webhook[admit{delivery=1}]=debug")
        );
        assert!(enabled(&filter, "webhook", Level::INFO));
        assert!(!enabled(&filter, "webhook", Level::DEBUG));
    }
}
