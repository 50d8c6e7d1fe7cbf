//! Crash-test hooks. `OHWB_TEST_PAUSE_AT=<point>` makes the process announce
//! `PAUSED <point>` on stderr when it reaches that point and then wait forever, so a test can
//! SIGKILL it at exactly that moment. Unset (always, in production) it costs one environment
//! lookup per write and does nothing.

/// Stops here when `OHWB_TEST_PAUSE_AT` names this point.
pub(crate) fn pause_point(point: &str) {
    if std::env::var("OHWB_TEST_PAUSE_AT").is_ok_and(|p| p == point) {
        eprintln!("PAUSED {point}");
        loop {
            std::thread::park();
        }
    }
}
