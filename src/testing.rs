//! Crash- and failure-test hooks. `OHWB_TEST_PAUSE_AT=<point>` makes the process announce
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

/// Fails here when `OHWB_TEST_FAIL_AT` names this point, so tests can drive the error path
/// of a real process (the reference id a user sees and the log line it ties to).
pub(crate) fn fail_point(point: &str) -> crate::Result<()> {
    if std::env::var("OHWB_TEST_FAIL_AT").is_ok_and(|p| p == point) {
        return Err(crate::Error::NotFound(format!(
            "injected failure at {point}"
        )));
    }
    Ok(())
}
