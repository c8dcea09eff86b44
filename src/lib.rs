//! kaniko2buildkit: find Kaniko in GitLab CI files and migrate it to BuildKit.
//!
//! Data flows one way: load → parse → detect → map → edits → apply → verify →
//! render. `main.rs` only parses arguments and calls [`run`].

pub mod gitlab;
pub mod span;
