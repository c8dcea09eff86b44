//! The Buildkite front-end: Kaniko in pipeline steps (the k8s, kubernetes
//! and docker plugins, and plain `command`/`commands`), found with exact
//! spans and migrated to BuildKit with the plugin kept in use
//! (`docs/buildkite.md`).

pub mod detect;
mod edit;
pub mod interpolate;
mod migrate;
pub mod model;
pub mod script;

use crate::analysis::Analysis;
use crate::config::Config;
use crate::finding::Finding;
use crate::gitlab::Pipeline;
use crate::gitlab::value::At;
use crate::mapping::command::CiVariables;
use crate::rules::Rule;

pub use migrate::migrate;

/// What Buildkite's variables mean to the shared translation: a step starts
/// in the checkout.
pub static CI_VARIABLES: CiVariables = CiVariables {
    project_dir: &[
        "$BUILDKITE_BUILD_CHECKOUT_PATH",
        "${BUILDKITE_BUILD_CHECKOUT_PATH}",
    ],
    absolute: &[
        "$BUILDKITE_BUILD_CHECKOUT_PATH",
        "${BUILDKITE_BUILD_CHECKOUT_PATH}",
        "$HOME",
        "${HOME}",
    ],
    untagged_image: &[],
};

/// `check`: one `kaniko/job` finding per step that builds with Kaniko, one
/// per executor call with its flags, one per Kaniko-only path, and an info
/// for each Kaniko image named anywhere else in a step.
pub fn analyse(pipeline: &Pipeline, config: &Config) -> Analysis {
    let mut findings = pipeline.findings.clone();
    let mut kaniko_jobs = 0;
    if let Some(file) = pipeline.files.first() {
        let (tree, text) = (&file.tree, file.text.as_str());
        let document = model::read(tree, text);
        let env: Vec<(String, At)> = document
            .env
            .iter()
            .map(|(name, node)| {
                (
                    name.clone(),
                    At {
                        file: 0,
                        node: *node,
                    },
                )
            })
            .collect();
        let usages = detect::detect(tree, text, &document, config);
        for (span, written) in detect::outside_steps(tree, text, &document, config, &usages) {
            findings.push(
                Finding::new(
                    Rule::KanikoImageReference,
                    0,
                    span,
                    format!("`{written}` is a Kaniko image, named outside the pipeline's steps"),
                )
                .label("Kaniko image")
                .help("a step may still run it through a variable or an anchor; move it to moby/buildkit:rootless too"),
            );
        }
        for usage in usages {
            let name = usage.step.name.clone();
            let jobs = vec![name.clone()];
            for (span, written) in &usage.references {
                findings.push(
                    Finding::new(
                        Rule::KanikoImageReference,
                        0,
                        *span,
                        format!("`{written}` is a Kaniko image, named in step `{name}` where nothing runs it"),
                    )
                    .label("Kaniko image")
                    .help("something may still build with Kaniko from here (a script, a plugin's option); move it to moby/buildkit:rootless too")
                    .jobs(jobs.clone()),
                );
            }
            if !usage.uses_kaniko() {
                continue;
            }
            kaniko_jobs += 1;
            findings.push(step_finding(tree, text, &usage));
            let mut variables = env.clone();
            variables.extend(usage.step.env.iter().map(|(name, node)| {
                (
                    name.clone(),
                    At {
                        file: 0,
                        node: *node,
                    },
                )
            }));
            for call in &usage.calls {
                let mut finding = crate::analysis::call_finding(
                    0,
                    &crate::analysis::CallShape::of(&call.invocation),
                    jobs.clone(),
                );
                if call.form == detect::Form::DockerRun {
                    finding.message =
                        format!("`docker run` of a Kaniko image: {}", finding.message).into();
                    finding.label = "Kaniko image".into();
                }
                findings.push(unmarked(finding));
                findings.extend(call.invocation.problems.iter().filter_map(|problem| {
                    crate::analysis::problem_finding(
                        0,
                        call.invocation.program,
                        problem,
                        &jobs,
                        &variables,
                    )
                    .map(unmarked)
                }));
            }
            for (span, path) in &usage.paths {
                let help = if path.starts_with("/kaniko/.docker") {
                    "BuildKit reads registry credentials from ${DOCKER_CONFIG:-$HOME/.docker}/config.json (HOME=/home/user in the rootless image)"
                } else {
                    "this path does not exist in BuildKit images"
                };
                findings.push(
                    Finding::new(
                        Rule::KanikoPath,
                        0,
                        *span,
                        format!("`{path}` exists only in Kaniko images"),
                    )
                    .label("Kaniko-only path")
                    .help(help)
                    .jobs(jobs.clone()),
                );
            }
        }
    }
    findings.sort_by_key(|f| (f.file, f.span.start(), f.rule));
    // A definition shared through an anchor is one finding naming every
    // step that uses it.
    let findings = Finding::merge_repeated(findings);
    Analysis {
        findings,
        kaniko_jobs,
    }
}

/// `kaniko/job` at the step's label, with its Kaniko images labelled.
fn step_finding(tree: &crate::yaml::Tree, text: &str, usage: &detect::StepUse) -> Finding {
    let step = usage.step;
    let mut reasons = Vec::new();
    let mut finding = Finding::new(Rule::KanikoJob, 0, step.name_span, "")
        .label("step")
        .jobs(vec![step.name.clone()]);
    for &image in &usage.images {
        let written = tree.scalar(text, image).unwrap_or_default();
        reasons.push(format!("image `{}`", written.trim()));
        finding = finding.with_label(tree.node(image).span, "Kaniko image");
    }
    if usage
        .calls
        .iter()
        .any(|c| c.form != detect::Form::DockerRun)
    {
        reasons.push("calls `/kaniko/executor`".to_string());
    }
    if usage
        .calls
        .iter()
        .any(|c| c.form == detect::Form::DockerRun)
    {
        reasons.push("runs a Kaniko image with `docker run`".to_string());
    }
    if let Some((_, path)) = usage.paths.first() {
        reasons.push(format!("uses `{path}`"));
    }
    reasons.dedup();
    finding.message = format!("step `{}` uses Kaniko: {}", step.name, reasons.join(", ")).into();
    finding.help = Some(
        "Kaniko was archived in June 2025; move this step to BuildKit rootless \
         (moby/buildkit:rootless, buildctl-daemonless.sh), keeping its plugin: `kaniko2buildkit fix`"
            .into(),
    );
    finding
}

/// Messages name upload-time variables as the user wrote them.
fn unmarked(mut finding: Finding) -> Finding {
    finding.message = interpolate::unmark(&finding.message).into();
    finding.help = finding.help.map(|h| interpolate::unmark(&h).into());
    finding
}
