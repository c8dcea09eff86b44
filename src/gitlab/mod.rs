//! The GitLab CI document model: span-aware YAML, includes and job resolution.

pub mod scalar;
pub mod yaml;
