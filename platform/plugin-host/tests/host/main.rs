//! Integration tests of the plugin host against real components built from this
//! repository: the three order types and the hostile fixtures. One binary, so it links once.

mod support;

mod artifacts;
mod config;
mod hostile;
mod inspect;
