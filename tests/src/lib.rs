//! Black-box integration tests for Trolley live in `integration/` (one test binary, so it
//! links once). This library is intentionally empty.
