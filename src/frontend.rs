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
            // One pass: each job is resolved, analysed, its scripts noted,
            // and dropped; the scripts are read after the last one.
            let mut runners = crate::scripts::Runners::default();
            let mut analysis = {
                let mut analyser = crate::analysis::Analyser::new(pipeline, config);
                let resolving = crate::gitlab::jobs::resolve_each(pipeline, |job| {
                    runners.record(pipeline, &job);
                    analyser.add(&job);
                });
                analyser.finish(resolving)
            };
            analysis.findings.extend(runners.follow(pipeline));
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
