//! Sends each loaded file to the front-end of its CI system: the one place
//! where the commands choose between GitLab CI, GitHub Actions and
//! Buildkite (see [`crate::system`]).

use crate::analysis::Analysis;
use crate::config::Config;
use crate::gitlab::Pipeline;
use crate::migrate::{Migration, Options, Refused};
use crate::system::System;

/// `check`: the findings of one loaded entry file.
pub fn analyse(pipeline: &mut Pipeline, config: &Config) -> Analysis {
    match pipeline.system {
        System::GitLab => {
            let resolved = crate::gitlab::jobs::resolve(pipeline);
            let in_scripts = crate::scripts::follow(pipeline, &resolved.jobs);
            let mut analysis = crate::analysis::analyse_resolved(pipeline, resolved, config);
            analysis.findings.extend(in_scripts);
            analysis
        }
        System::GitHubActions => crate::github::analyse(pipeline, config),
        System::Buildkite => crate::buildkite::analyse(pipeline, config),
    }
}

/// `diff` and `fix`: the verified migration of one loaded entry file.
pub fn migrate(pipeline: &Pipeline, options: &Options) -> Result<Migration, Refused> {
    match pipeline.system {
        System::GitLab => crate::migrate::migrate(pipeline, options),
        System::GitHubActions => crate::github::migrate(pipeline, options),
        System::Buildkite => crate::buildkite::migrate(pipeline, options),
    }
}

/// The findings `diff` and `fix` start from (which jobs an ignore comment
/// keeps): [`analyse`] without following repository scripts.
pub fn findings(pipeline: &Pipeline, config: &Config) -> Analysis {
    match pipeline.system {
        System::GitLab => crate::analysis::analyse(pipeline, config),
        System::GitHubActions => crate::github::analyse(pipeline, config),
        System::Buildkite => crate::buildkite::analyse(pipeline, config),
    }
}
