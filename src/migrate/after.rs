//! The checks after a rewrite: the rewritten pipeline's jobs resolved
//! again, one at a time, and each asked whether the rewrite reached it.
//!
//! Holding every resolved job at once was, at 50 MB, the largest thing on
//! the heap after the two texts, the trees and the decoded values (13 MB),
//! at the peak of `diff` and `fix`.

use std::collections::BTreeSet;

use super::{Options, plan::Planned};
use crate::gitlab::{Pipeline, jobs};
use crate::kaniko;

/// What the checks found, by job name.
#[derive(Debug, Default)]
pub(super) struct Unreached {
    /// Jobs given a builder whose effective variables miss
    /// `BUILDKITD_FLAGS`, and whose command does not set it either (a
    /// `<<` merge replaces a whole `variables:` mapping).
    pub daemon_flags: BTreeSet<String>,
    /// Migrated jobs in which detection still finds Kaniko.
    pub still_kaniko: BTreeSet<String>,
}

/// Checks the migrated jobs, and those given a builder, of `rewritten`.
pub(super) fn check(rewritten: &Pipeline, planned: &Planned, options: &Options) -> Unreached {
    let names: BTreeSet<String> = planned.migrated.union(&planned.builders).cloned().collect();
    let daemon_flags = options.config.flavor.daemon_flags().is_some();
    let mut unreached = Unreached::default();
    jobs::resolve_named(rewritten, &names, |job| {
        let has_builder = planned.builders.contains(&job.name) && !job.name.starts_with('.');
        if daemon_flags && has_builder && !has_daemon_flags(rewritten, &job) {
            unreached.daemon_flags.insert(job.name.clone());
        }
        if planned.migrated.contains(&job.name)
            && kaniko::detect(rewritten, &job, &options.config).uses_kaniko()
        {
            unreached.still_kaniko.insert(job.name);
        }
    });
    unreached
}

/// Whether `BUILDKITD_FLAGS` reaches the job: among its variables, or set
/// on a line of its script.
fn has_daemon_flags(rewritten: &Pipeline, job: &jobs::Job) -> bool {
    let in_variables = job
        .variables
        .iter()
        .any(|(name, _)| name == "BUILDKITD_FLAGS");
    in_variables
        || job.scripts.iter().any(|line| {
            let file = &rewritten.files[line.at.file];
            file.tree
                .scalar(&file.text, file.tree.deref(line.at.node))
                .is_some_and(|s| s.contains("BUILDKITD_FLAGS="))
        })
}
