//! Logging for the binary: `tracing` to stderr, as text or JSON, filtered by `OHWB_LOG`.
//!
//! Invariant: the libraries that log raw Discord payloads (and so staff questions) never log
//! below `info`, whatever `OHWB_LOG` asks for: privacy outranks verbosity.

use std::io::IsTerminal;

use ohwb_bot::config::LogFormat;

/// Libraries that log raw Discord payloads (and so staff questions) at debug or trace level.
/// They are capped at `info` whatever `OHWB_LOG` asks for: privacy outranks verbosity.
const PAYLOAD_LOGGERS: &[&str] = &[
    "serenity",
    "tungstenite",
    "tokio_tungstenite",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

pub fn init_logging(default: &str, format: LogFormat) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("OHWB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A separate filter after the user's: a more specific directive in OHWB_LOG
    // ("hyper_util::client=trace") cannot lift the cap, as it would inside one EnvFilter.
    let cap = tracing_subscriber::filter::filter_fn(|meta| {
        *meta.level() <= tracing::Level::INFO || !is_payload_logger(meta.target())
    });
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = match format {
        // Colour codes only on a terminal: journald and log files get plain text.
        LogFormat::Text => fmt.with_ansi(std::io::stderr().is_terminal()).boxed(),
        LogFormat::Json => fmt.json().boxed(),
    };
    let layer = layer.with_filter(filter).with_filter(cap);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Whether `target` is one of [`PAYLOAD_LOGGERS`] or a module inside one.
fn is_payload_logger(target: &str) -> bool {
    PAYLOAD_LOGGERS.iter().any(|p| {
        target == *p
            || target
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with("::"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_loggers_are_matched_with_their_modules_only() {
        assert!(is_payload_logger("hyper_util"));
        assert!(is_payload_logger("hyper_util::client::legacy"));
        assert!(is_payload_logger("serenity::gateway::shard"));
        assert!(!is_payload_logger("hyper_utility"));
        assert!(!is_payload_logger("ohwb_bot::discord"));
    }
}
