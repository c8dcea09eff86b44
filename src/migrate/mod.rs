//! Plans the migration of a pipeline's Kaniko jobs and turns the plan into
//! verified edits: map → edits → apply → verify.
//!
//! Edits land at definition sites: an executor call in a template, an anchor
//! or an included file is rewritten once for every job that runs it. A site
//! is only rewritten when every job that uses it can be migrated; a job that
//! cannot (an unmapped flag, a Kaniko-only path, an image it shares with a job
//! that stays) keeps its Kaniko text and gets a diagnostic that says why.

mod after;
mod arguments;
mod plan;
mod survey;
// The Kaniko-path rewrites, shared with the GitHub container jobs.
pub(crate) use plan::{busybox_replacement, mkdir_around, path_replacement};
pub mod text;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::Config;
use crate::finding::{Applicability, Finding, Fix};
use crate::gitlab::{FileId, Pipeline, SourceFile};
use crate::rewrite::verify::Change;
use crate::rewrite::{self, Applied, Edit};

/// The BuildKit image jobs move to: the newest release, pinned.
pub const DEFAULT_BUILDKIT_IMAGE: &str = "moby/buildkit:v0.32.2-rootless";

/// Rootless BuildKit in an unprivileged container cannot create its own
/// process sandbox; this is the flag GitLab's BuildKit page uses.
pub const BUILDKITD_FLAGS: &str = "--oci-worker-no-process-sandbox";

#[derive(Clone, Debug)]
pub struct Options {
    /// Also apply fixes that change behaviour (dropping `--cache-ttl`).
    pub unsafe_fixes: bool,
    pub buildkit_image: String,
    /// The project root on disk, to find a relative Dockerfile.
    pub root: Option<PathBuf>,
    /// The project's settings: extra Kaniko image patterns.
    pub config: Config,
    /// Jobs kept on Kaniko on purpose (an ignore comment), with the reason:
    /// they are never rewritten, nor is anything they share.
    pub kept_jobs: BTreeMap<String, String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            unsafe_fixes: false,
            buildkit_image: DEFAULT_BUILDKIT_IMAGE.to_string(),
            root: None,
            config: Config::default(),
            kept_jobs: BTreeMap::new(),
        }
    }
}

/// One file's new text.
#[derive(Debug)]
pub struct Rewrite {
    pub file: FileId,
    pub text: String,
}

/// What migrating a pipeline produced.
#[derive(Debug, Default)]
pub struct Migration {
    /// Files whose text changed, in file order.
    pub rewrites: Vec<Rewrite>,
    /// Notes, dropped flags and the reasons jobs were left alone.
    pub findings: Vec<Finding>,
    pub migrated_jobs: Vec<String>,
    /// Jobs that still use Kaniko afterwards.
    pub remaining_jobs: Vec<String>,
    /// The edits that migrate each job, on the original text.
    pub job_edits: JobEdits,
    /// Migrated jobs that kept their image: Kaniko ran through `docker run`
    /// and became `docker buildx build` on the job's own daemon, so the
    /// flavour's runner requirements do not concern them.
    pub in_place_jobs: Vec<String>,
}

/// The edits that migrate each job, as applied: each is held once, in file
/// order of planning, and each job names its edits by index (a definition
/// shared by many jobs is one edit, and a copy of every edit per job took
/// 1 KB per Kaniko job of a large pipeline). An edit's text is read from
/// its file's rewritten text ([`Migration::text_of`]).
#[derive(Debug, Default)]
pub struct JobEdits {
    edits: BTreeMap<FileId, Vec<Applied>>,
    by_job: BTreeMap<String, Vec<(FileId, usize)>>,
}

impl JobEdits {
    /// The applied edits, and each job's by index into them.
    pub(crate) fn indexed(
        edits: BTreeMap<FileId, Vec<Applied>>,
        by_job: BTreeMap<String, Vec<(FileId, usize)>>,
    ) -> JobEdits {
        JobEdits { edits, by_job }
    }

    /// The edits that migrate `job`, in the order they were planned.
    pub fn of(&self, job: &str) -> impl Iterator<Item = (FileId, Applied)> {
        self.by_job
            .get(job)
            .into_iter()
            .flatten()
            .map(|&(file, index)| (file, self.edits[&file][index]))
    }
}

impl Migration {
    /// The text of `file` after the migration: its rewrite, or the text
    /// `pipeline` holds when the migration left it as it was.
    pub fn text_of<'a>(&'a self, pipeline: &'a Pipeline, file: FileId) -> &'a str {
        self.rewrites
            .iter()
            .find(|rewrite| rewrite.file == file)
            .map_or(&pipeline.files[file].text, |rewrite| &rewrite.text)
    }
}

/// A rewrite that failed its own checks: nothing may be written.
#[derive(Debug)]
pub struct Refused {
    pub file: FileId,
    pub message: String,
}

/// Plans, applies and verifies the migration of one pipeline.
pub fn migrate(pipeline: &Pipeline, options: &Options) -> Result<Migration, Refused> {
    let mut constraints = plan::Constraints {
        kept_jobs: options.kept_jobs.clone(),
        ..Default::default()
    };
    let mut planned = plan_settled(pipeline, options, &mut constraints)?;
    let (mut rewritten, mut applied) = apply_all(
        pipeline,
        std::mem::take(&mut planned.edits),
        std::mem::take(&mut planned.changes),
    )?;
    // Jobs whose BUILDKITD_FLAGS variable would not reach them (a `<<` merge
    // replaces a whole `variables:` mapping) get it on the command instead.
    let mut unreached = after::check(&rewritten, &planned, options);
    if !unreached.daemon_flags.is_empty() {
        constraints.prefix_jobs = std::mem::take(&mut unreached.daemon_flags);
        planned = plan_settled(pipeline, options, &mut constraints)?;
        (rewritten, applied) = apply_all(
            pipeline,
            std::mem::take(&mut planned.edits),
            std::mem::take(&mut planned.changes),
        )?;
        unreached = after::check(&rewritten, &planned, options);
        if let Some(job) = unreached.daemon_flags.iter().next() {
            return Err(Refused {
                file: 0,
                message: format!("job `{job}` would lose BUILDKITD_FLAGS after the rewrite"),
            });
        }
    }
    if let Some(job) = unreached.still_kaniko.iter().next() {
        return Err(Refused {
            file: 0,
            message: format!("job `{job}` would still use Kaniko after the rewrite"),
        });
    }
    let rewrites = applied
        .keys()
        .filter_map(|&file| {
            let text = std::mem::take(&mut rewritten.files[file].text);
            (text != pipeline.files[file].text).then_some(Rewrite { file, text })
        })
        .collect();
    Ok(Migration {
        rewrites,
        findings: planned.findings,
        migrated_jobs: planned.migrated.into_iter().collect(),
        remaining_jobs: planned.remaining,
        job_edits: JobEdits::indexed(applied, planned.job_edits),
        in_place_jobs: planned.in_place.into_iter().collect(),
    })
}

/// Plans until no script line refuses its new text: each round leaves the
/// jobs of the refused lines alone, which can only shrink the next plan.
fn plan_settled(
    pipeline: &Pipeline,
    options: &Options,
    constraints: &mut plan::Constraints,
) -> Result<plan::Planned, Refused> {
    for _ in 0..8 {
        let planned = plan::plan(pipeline, options, constraints);
        let fresh: Vec<_> = planned
            .refused_lines
            .iter()
            .filter(|(at, _)| !constraints.refused_lines.contains_key(at))
            .map(|(at, reason)| (*at, reason.clone()))
            .collect();
        if fresh.is_empty() {
            return Ok(planned);
        }
        constraints.refused_lines.extend(fresh);
    }
    Err(Refused {
        file: 0,
        message: "planning did not settle; please report this with the file".into(),
    })
}

/// Applies every file's edits, reads the results again (only where they
/// changed, when the file allows it: [`rewrite::window`]), and verifies
/// each rewritten file against the intended changes with both parsers.
/// Returns the rewritten pipeline and where each edit landed: the edits
/// themselves are dropped as soon as their file is rewritten, before it is
/// read again, since the rewritten text holds their text; the intended
/// changes (a decoded copy of every new script) once the file is verified,
/// before the jobs are resolved again.
fn apply_all(
    pipeline: &Pipeline,
    edits: BTreeMap<FileId, Vec<Edit>>,
    mut changes: BTreeMap<FileId, Vec<Change>>,
) -> Result<(Pipeline, BTreeMap<FileId, Vec<Applied>>), Refused> {
    let mut trees = BTreeMap::new();
    let mut placed = BTreeMap::new();
    for (file, file_edits) in edits {
        let source: &SourceFile = &pipeline.files[file];
        let refused = |message: String| Refused { file, message };
        let (text, applied) = rewrite::apply_placed(&source.text, &file_edits)
            .map_err(|overlap| refused(overlap.to_string()))?;
        drop(file_edits);
        let intended = changes.remove(&file).unwrap_or_default();
        let new_tree =
            rewrite::reread_verified(&source.text, &source.tree, &applied, &text, &intended)
                .map_err(refused)?;
        drop(intended);
        trees.insert(file, (text, new_tree));
        placed.insert(file, applied);
    }
    // The verified trees serve the checks that resolve the jobs again.
    Ok((pipeline.with_rewrites(trees), placed))
}

/// The fix `fix` would make for each Kaniko job of a pipeline: safe when the
/// plain migration covers it, unsafe when only `--unsafe` does, else
/// unavailable with the reasons.
pub fn proposed_fixes(pipeline: &Pipeline, options: &Options) -> BTreeMap<String, Fix> {
    let safe = crate::frontend::migrate(
        pipeline,
        &Options {
            unsafe_fixes: false,
            ..options.clone()
        },
    );
    let unsafe_too = crate::frontend::migrate(
        pipeline,
        &Options {
            unsafe_fixes: true,
            ..options.clone()
        },
    );
    let mut fixes = BTreeMap::new();
    let (Ok(safe), Ok(unsafe_too)) = (safe, unsafe_too) else {
        return fixes;
    };
    for (migration, applicability) in [
        (&unsafe_too, Applicability::Unsafe),
        (&safe, Applicability::Safe),
    ] {
        for job in &migration.migrated_jobs {
            let mut edits: Vec<(FileId, crate::span::Span, String)> = migration
                .job_edits
                .of(job)
                .map(|(file, applied)| {
                    let text = applied.text(migration.text_of(pipeline, file));
                    (file, applied.span, text.to_string())
                })
                .collect();
            edits.sort_by_key(|(file, span, _)| (*file, span.start(), span.end()));
            edits.dedup();
            let message = match applicability {
                Applicability::Safe => "migrate the job to BuildKit with `kaniko2buildkit fix`",
                _ => {
                    "migrate the job to BuildKit with `kaniko2buildkit fix --unsafe` (it changes behaviour)"
                }
            };
            fixes.insert(
                job.clone(),
                Fix {
                    applicability,
                    message: message.to_string(),
                    edits,
                },
            );
        }
    }
    let by_job = Finding::by_job(&safe.findings);
    for job in &safe.remaining_jobs {
        if fixes.contains_key(job) {
            continue;
        }
        let reasons: Vec<&str> = by_job
            .get(job.as_str())
            .into_iter()
            .flatten()
            .filter(|f| f.rule == crate::rules::Rule::NotMigrated)
            .map(|f| f.message.as_ref())
            .collect();
        let message = if reasons.is_empty() {
            "no automatic migration".to_string()
        } else {
            reasons.join("; ")
        };
        fixes.insert(
            job.clone(),
            Fix {
                applicability: Applicability::Unavailable,
                message,
                edits: Vec::new(),
            },
        );
    }
    fixes
}
