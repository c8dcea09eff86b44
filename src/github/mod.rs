//! The github front-end (being written): detection and migration of Kaniko.

use crate::analysis::Analysis;
use crate::config::Config;
use crate::gitlab::Pipeline;
use crate::migrate::{Migration, Options, Refused};

pub fn analyse(pipeline: &Pipeline, _config: &Config) -> Analysis {
    Analysis {
        findings: pipeline.findings.clone(),
        kaniko_jobs: 0,
    }
}

pub fn migrate(_pipeline: &Pipeline, _options: &Options) -> Result<Migration, Refused> {
    Ok(Migration::default())
}
