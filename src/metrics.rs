//! Counters for monitoring, rendered in Prometheus' text format by the HTTP front end.
//!
//! Invariants:
//! - Only counts, durations and sizes: no question text, no user id, no label whose value a
//!   user chooses. The label sets are fixed here.
//! - Lock-free: recording never blocks answering (relaxed atomics; a scrape may see one
//!   counter a moment ahead of another, which monitoring tolerates).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Whether the chat connection this process serves is up; shared with the chat front end,
/// which sets it as the connection comes and goes.
#[derive(Debug, Default)]
pub struct Gateway {
    connected: AtomicBool,
}

impl Gateway {
    /// Records whether the gateway is connected.
    pub fn set_connected(&self, up: bool) {
        self.connected.store(up, Ordering::Relaxed);
    }

    /// Whether it is.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}

/// What an `/ask` ended as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with citations.
    Answered,
    /// "Not covered" (or too long to answer).
    Declined,
    /// Local contacts first: the question asked for help.
    Help,
    /// The crisis reply.
    Crisis,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Answered,
        Outcome::Declined,
        Outcome::Help,
        Outcome::Crisis,
    ];

    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Declined => "declined",
            Outcome::Help => "help",
            Outcome::Crisis => "crisis",
        }
    }
}

/// Upper bounds of the answer-latency histogram buckets, in seconds: answers take tens of
/// milliseconds, and Discord's deadline is 3 s.
const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// A cumulative histogram of durations.
#[derive(Default)]
struct Histogram {
    /// Observations at or under each bound of [`LATENCY_BUCKETS`] (not cumulative here).
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    /// Sum in microseconds, so it stays an integer.
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| s <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str) {
        let mut cumulative = 0;
        for (bound, n) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Everything the bot counts. One per process, shared by the command layer and the front ends.
#[derive(Default)]
pub struct Metrics {
    outcomes: [AtomicU64; 4],
    answer_latency: Histogram,
    reindexes: AtomicU64,
    reindex_failures: AtomicU64,
    reindex_us: AtomicU64,
    rate_limited: AtomicU64,
    votes_helpful: AtomicU64,
    votes_not_helpful: AtomicU64,
}

/// What the index being served looks like, read when the metrics are rendered.
#[derive(Debug, Clone, Default)]
pub struct IndexGauges {
    /// When the generation being served was built (Unix seconds): it identifies the
    /// generation, and shows how old the index is.
    pub built_at: u64,
    /// Passages in it.
    pub passages: u64,
    /// Documents in it.
    pub documents: u64,
}

impl Metrics {
    /// Counts one `/ask` and how long it took.
    pub fn record_ask(&self, outcome: Outcome, took: Duration) {
        self.outcomes[outcome as usize].fetch_add(1, Ordering::Relaxed);
        self.answer_latency.observe(took);
    }

    /// Counts one reindex attempt.
    pub fn record_reindex(&self, ok: bool, took: Duration) {
        if ok {
            self.reindexes.fetch_add(1, Ordering::Relaxed);
            self.reindex_us
                .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        } else {
            self.reindex_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a question refused by the per-user rate limit.
    pub fn record_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a feedback vote.
    pub fn record_vote(&self, helpful: bool) {
        let c = if helpful {
            &self.votes_helpful
        } else {
            &self.votes_not_helpful
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// How many asks ended as `outcome`.
    pub fn asks(&self, outcome: Outcome) -> u64 {
        self.outcomes[outcome as usize].load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric.
    pub fn render(&self, index: &IndexGauges) -> String {
        let mut out = String::new();
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        head(
            &mut out,
            "ohwb_asks_total",
            "counter",
            "Questions asked, by how they ended (answered, declined, help, crisis).",
        );
        for o in Outcome::ALL {
            let _ = writeln!(
                out,
                "ohwb_asks_total{{outcome=\"{}\"}} {}",
                o.as_str(),
                self.asks(o)
            );
        }
        head(
            &mut out,
            "ohwb_answer_seconds",
            "histogram",
            "Time to reply to a question, in seconds.",
        );
        self.answer_latency.render(&mut out, "ohwb_answer_seconds");
        head(
            &mut out,
            "ohwb_feedback_total",
            "counter",
            "Feedback votes on answers, by vote.",
        );
        for (vote, c) in [
            ("helpful", &self.votes_helpful),
            ("not_helpful", &self.votes_not_helpful),
        ] {
            let _ = writeln!(
                out,
                "ohwb_feedback_total{{vote=\"{vote}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let counters = [
            (
                "ohwb_rate_limited_total",
                "Questions refused by the per-user rate limit.",
                self.rate_limited.load(Ordering::Relaxed),
            ),
            (
                "ohwb_reindex_total",
                "Index rebuilds that succeeded.",
                self.reindexes.load(Ordering::Relaxed),
            ),
            (
                "ohwb_reindex_failures_total",
                "Index rebuilds that failed (the previous index stayed served).",
                self.reindex_failures.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in counters {
            head(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {v}");
        }
        head(
            &mut out,
            "ohwb_reindex_seconds_total",
            "counter",
            "Time spent in successful rebuilds, in seconds.",
        );
        let _ = writeln!(
            out,
            "ohwb_reindex_seconds_total {}",
            self.reindex_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let gauges = [
            (
                "ohwb_index_built_timestamp_seconds",
                "When the index being served was built (Unix time); changes with each generation.",
                index.built_at,
            ),
            (
                "ohwb_index_passages",
                "Passages in the index being served.",
                index.passages,
            ),
            (
                "ohwb_index_documents",
                "Documents in the index being served.",
                index.documents,
            ),
        ];
        for (name, help, v) in gauges {
            head(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {v}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_counts_add_up() {
        let m = Metrics::default();
        m.record_ask(Outcome::Answered, Duration::from_millis(3));
        m.record_ask(Outcome::Answered, Duration::from_millis(40));
        m.record_ask(Outcome::Crisis, Duration::from_secs(10));
        let text = m.render(&IndexGauges::default());
        assert!(
            text.contains("ohwb_asks_total{outcome=\"answered\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("ohwb_asks_total{outcome=\"crisis\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("ohwb_answer_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("ohwb_answer_seconds_bucket{le=\"0.05\"} 2\n"),
            "{text}"
        );
        // 10 s is over every finite bound: only +Inf counts it.
        assert!(
            text.contains("ohwb_answer_seconds_bucket{le=\"5\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("ohwb_answer_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("ohwb_answer_seconds_count 3\n"), "{text}");
        assert!(text.contains("ohwb_answer_seconds_sum 10.043\n"), "{text}");
    }

    #[test]
    fn every_sample_line_belongs_to_a_declared_metric() {
        let text = Metrics::default().render(&IndexGauges {
            built_at: 1_700_000_000,
            passages: 180,
            documents: 9,
        });
        let declared: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(
                declared.iter().any(|d| name.starts_with(d)),
                "{line} has no # TYPE"
            );
        }
        assert!(text.contains("ohwb_index_passages 180\n"));
    }
}
