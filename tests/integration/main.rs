//! Trolley's integration tests: every scenario runs through real HTTP against a real
//! server, on SQLite and on PostgreSQL.

mod support;

mod auth_and_isolation;
mod bad_input;
mod carts;
mod catalog;
mod checkout;
mod concurrency;
mod merge;
mod operations;
mod platform;
mod plugins;
