//! Crash- and failure-test hooks, compiled only with the `test-hooks` feature (which the tests
//! enable and release builds do not). `OHWB_TEST_PAUSE_AT=<point>` makes the process announce
//! `PAUSED <point>` on stderr when it reaches that point and then wait forever, so a test can
//! SIGKILL it at exactly that moment; `OHWB_TEST_FAIL_AT=<point>` makes it fail there.
//!
//! Invariant: without the feature both functions are empty, so no environment variable can make
//! a deployed bot pause or fail.

/// Stops here when `OHWB_TEST_PAUSE_AT` names this point.
#[cfg(feature = "test-hooks")]
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
#[cfg(feature = "test-hooks")]
pub(crate) fn fail_point(point: &str) -> crate::Result<()> {
    if std::env::var("OHWB_TEST_FAIL_AT").is_ok_and(|p| p == point) {
        return Err(crate::Error::NotFound(format!(
            "injected failure at {point}"
        )));
    }
    Ok(())
}

/// Without `test-hooks`: nothing.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn pause_point(_point: &str) {}

/// Without `test-hooks`: never fails.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn fail_point(_point: &str) -> crate::Result<()> {
    Ok(())
}
