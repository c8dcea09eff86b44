//! `diff` and `fix` for GitHub workflows: plan → edits → apply → verify
//! → detect again.
//!
//! - A known Kaniko action becomes docker/build-push-action in place (same
//!   `name`, `id`, `if`, `env`), after one docker/setup-buildx-action per
//!   job and a docker/login-action where the Kaniko action logged in by
//!   itself ([`super::build_push`]).
//! - `docker run … <Kaniko image> …` becomes `docker buildx build` in the
//!   same script ([`super::docker_build`]).
//! - A job that runs in the Kaniko image (`container:`) runs in the
//!   BuildKit image with an explicit flavour ([`super::container_job`]),
//!   else it is left alone with the reason, like a job that calls the
//!   executor from the runner.
//!
//! A step that cannot be mapped keeps its Kaniko text and gets a
//! `migrate/not-migrated` finding at the place that decides it.

use std::collections::{BTreeMap, BTreeSet};

use super::actions::{self, Known};
use super::build_push::{self, Login, Refusal};
use super::detect::{self, Detection, Found, Kind};
use super::pins::{self, Style, Target};
use super::workflow::{self, Job, Step};
use crate::finding::Finding;
use crate::gitlab::{FileId, Pipeline};
use crate::migrate::text::{indentation, line_end, line_ending, line_start};
use crate::migrate::{JobEdits, Migration, Options, Refused, Rewrite};
use crate::rewrite::verify::{Change, Expected};
use crate::rewrite::{self, Applied, Edit};
use crate::rules::Rule;
use crate::span::Span;
use crate::yaml::scalar::SourceMap;
use crate::yaml::{NodeId, ScalarStyle, Tree};

/// The id of the builder step the migration adds: `use: false` keeps the
/// job's default builder (a later `docker build` still loads its image
/// into Docker), and build-push-action names this one.
const BUILDER_ID: &str = "kaniko2buildkit-buildx";

/// Which buildx builder the migrated steps of a job use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Builder {
    /// None yet: the first migrated step adds docker/setup-buildx-action.
    None,
    /// The job's own docker/setup-buildx-action, before its Kaniko steps.
    Theirs,
    /// The one the migration added.
    Ours,
}

/// A step's `with:` entries, a list input as several values.
type With = Vec<(&'static str, Vec<String>)>;

/// The outputs build-push-action sets: a later step may keep reading these.
const BUILD_PUSH_OUTPUTS: [&str; 3] = ["digest", "imageid", "metadata"];

/// Edits and intended changes of the whole file.
#[derive(Default)]
struct Plan {
    edits: Vec<Edit>,
    changes: Vec<Change>,
    findings: Vec<Finding>,
    migrated: BTreeSet<String>,
    remaining: BTreeSet<String>,
    /// Each migrated job's edits, by index into `edits`.
    job_edits: BTreeMap<String, Vec<(FileId, usize)>>,
    /// Kaniko steps left in each job, for the check after the rewrite.
    left: BTreeMap<String, usize>,
}

impl Plan {
    /// Takes a step's (or a container job's) edits, changes and notes, the
    /// notes naming `job`; returns the edits' indices, for the job's own list.
    fn absorb(&mut self, job: &Job, step_plan: StepPlan) -> Vec<(FileId, usize)> {
        let edits = (self.edits.len()..self.edits.len() + step_plan.edits.len())
            .map(|index| (0, index))
            .collect();
        self.edits.extend(step_plan.edits);
        self.changes.extend(step_plan.changes);
        let named = step_plan.findings.into_iter();
        self.findings
            .extend(named.map(|f| f.jobs(vec![job.id.clone()])));
        edits
    }

    /// `job` stays on Kaniko with `steps` of its Kaniko steps.
    fn leave(&mut self, job: &Job, steps: usize) {
        self.remaining.insert(job.id.clone());
        self.left.insert(job.id.clone(), steps);
    }

    /// `job` is migrated by the edits `edits` (indices into `edits`).
    fn migrated(&mut self, job: &Job, edits: Vec<(FileId, usize)>) {
        self.migrated.insert(job.id.clone());
        self.job_edits.insert(job.id.clone(), edits);
    }
}

pub fn migrate(pipeline: &Pipeline, options: &Options) -> Result<Migration, Refused> {
    let Some(source) = pipeline.files.first() else {
        return Ok(Migration::default());
    };
    let document = workflow::read(&source.tree, &source.text);
    let detection = detect::detect(pipeline, &document, &options.config);
    let style = Style::of(&source.text);
    let mut plan = Plan::default();
    for (index, job) in document.jobs.iter().enumerate() {
        plan_job(pipeline, &detection, index, job, style, options, &mut plan);
    }
    if plan.edits.is_empty() {
        return Ok(finish(plan, Vec::new(), Vec::new()));
    }
    let (text, _, applied) =
        rewrite::apply_verified(&source.text, &source.tree, &plan.edits, &plan.changes)
            .map_err(|message| Refused { file: 0, message })?;
    recheck(pipeline, &text, options, &plan)?;
    Ok(finish(plan, vec![Rewrite { file: 0, text }], applied))
}

fn finish(mut plan: Plan, rewrites: Vec<Rewrite>, applied: Vec<Applied>) -> Migration {
    plan.findings.sort_by_key(|f| (f.span.start(), f.rule));
    let migrated: Vec<String> = plan
        .migrated
        .iter()
        .filter(|job| !plan.remaining.contains(*job))
        .cloned()
        .collect();
    Migration {
        rewrites,
        findings: plan.findings,
        migrated_jobs: migrated,
        remaining_jobs: plan.remaining.into_iter().collect(),
        job_edits: JobEdits::indexed(BTreeMap::from([(0, applied)]), plan.job_edits),
        ..Migration::default()
    }
}

/// The rewritten file, read again: every migrated job must have no more
/// Kaniko steps than the ones left alone on purpose.
fn recheck(pipeline: &Pipeline, text: &str, options: &Options, plan: &Plan) -> Result<(), Refused> {
    let reread = pipeline
        .with_texts(&BTreeMap::from([(0, text.to_string())]))
        .map_err(|message| Refused {
            file: 0,
            message: format!("the rewrite does not parse: {message}"),
        })?;
    let source = &reread.files[0];
    let document = workflow::read(&source.tree, &source.text);
    let detection = detect::detect(&reread, &document, &options.config);
    for (index, job) in document.jobs.iter().enumerate() {
        let still = detection
            .in_job(index)
            .filter(|f| !matches!(f.kind, Kind::UnknownAction { .. }))
            .count();
        let expected = plan.left.get(&job.id).copied().unwrap_or(0);
        if still > expected {
            return Err(Refused {
                file: 0,
                message: format!("job `{}` would still use Kaniko after the rewrite", job.id),
            });
        }
    }
    Ok(())
}

/// `migrate/not-migrated` for a step (or, without one, the whole job), in
/// the words the GitLab front-end uses, so that `diff`, `fix` and `audit`
/// group the reasons alike; the label names the step.
fn not_migrated(job: &Job, step: Option<&Step>, refusal: &Refusal) -> Finding {
    let label = match step {
        Some(step) => format!("{} kept as it is", step.label()),
        None => "kept as it is".to_string(),
    };
    Finding::new(
        Rule::NotMigrated,
        0,
        refusal.span,
        format!("job `{}` is not migrated: {}", job.id, refusal.message),
    )
    .label(label)
    .help(
        "change the step by hand as the message says, then rerun; the rest of the file is migrated",
    )
    .jobs(vec![job.id.clone()])
}

#[allow(clippy::too_many_arguments)]
fn plan_job(
    pipeline: &Pipeline,
    detection: &Detection,
    index: usize,
    job: &Job,
    style: Style,
    options: &Options,
    plan: &mut Plan,
) {
    let source = &pipeline.files[0];
    let span = |node| source.tree.node(node).span;
    let steps: Vec<&Found> = detection
        .in_job(index)
        .filter(|f| !matches!(f.kind, Kind::UnknownAction { .. }))
        .collect();
    let in_container = detection.kaniko_containers.contains(&index);
    if steps.is_empty() && !in_container {
        return;
    }
    if options.kept_jobs.contains_key(&job.id) {
        plan.leave(job, steps.len());
        return;
    }
    if in_container {
        match super::container_job::plan(pipeline, job, &steps, options) {
            Ok(step_plan) => {
                let edits = plan.absorb(job, step_plan);
                plan.migrated(job, edits);
            }
            Err(refusal) => {
                plan.findings.push(not_migrated(job, None, &refusal));
                plan.leave(job, steps.len());
            }
        }
        return;
    }
    if steps
        .iter()
        .any(|f| matches!(f.kind, Kind::Executor { .. }))
    {
        plan.findings.push(not_migrated(
            job,
            None,
            &Refusal {
                span: span(job.key),
                message: "the job calls the executor installed on the runner: move it to \
                          docker/build-push-action by hand"
                    .into(),
            },
        ));
        plan.leave(job, steps.len());
        return;
    }
    let first = steps.first().map_or(0, |f| f.step);
    let mut buildx_added = if has_setup_buildx(job, first) {
        Builder::Theirs
    } else {
        Builder::None
    };
    let mut logins: Vec<Login> = Vec::new();
    let mut left = 0;
    let mut edits = Vec::new();
    for found in steps {
        let step = &job.steps[found.step];
        let planned = match &found.kind {
            Kind::Action { known, action } => plan_action(
                pipeline,
                job,
                step,
                *known,
                action,
                style,
                options,
                &mut buildx_added,
                &mut logins,
            ),
            Kind::DockerRun { calls } => super::docker_build::plan(pipeline, step, calls, options),
            Kind::UnknownAction { .. } | Kind::Executor { .. } => continue,
        };
        match planned {
            Ok(step_plan) => edits.extend(plan.absorb(job, step_plan)),
            Err(refusal) => {
                left += 1;
                plan.findings.push(not_migrated(job, Some(step), &refusal));
            }
        }
    }
    if left > 0 {
        plan.leave(job, left);
    }
    if !edits.is_empty() {
        plan.migrated(job, edits);
    }
}

/// Whether the job already sets up buildx before step `before`.
fn has_setup_buildx(job: &Job, before: usize) -> bool {
    job.steps[..before].iter().any(|step| {
        step.uses
            .as_ref()
            .is_some_and(|(_, uses)| uses.value.trim().starts_with("docker/setup-buildx-action@"))
    })
}

/// A step's edits, changes and notes.
pub struct StepPlan {
    pub edits: Vec<Edit>,
    pub changes: Vec<Change>,
    pub findings: Vec<Finding>,
}

#[allow(clippy::too_many_arguments)]
fn plan_action(
    pipeline: &Pipeline,
    job: &Job,
    step: &Step,
    known: Known,
    action: &actions::ActionRef,
    style: Style,
    options: &Options,
    buildx_added: &mut Builder,
    logins: &mut Vec<Login>,
) -> Result<StepPlan, Refusal> {
    let source = &pipeline.files[0];
    let (text, tree) = (source.text.as_str(), &source.tree);
    let (uses_key, uses) = step.uses.as_ref().expect("an action step has `uses:`");
    let uses_span = tree.node(uses.node).span;
    let image_readers = outputs_kept(text, job, step, known, action, tree)?;
    let planned = build_push::plan(pipeline, job, step, known, action, options)?;
    let (mut edits, mut changes_of_readers) = match (&step.id, image_readers.is_empty()) {
        (Some(id), false) => {
            let first_tag = planned
                .inputs
                .entries
                .iter()
                .find(|(key, _)| *key == "tags")
                .and_then(|(_, values)| values.first())
                .ok_or_else(|| Refusal {
                    span: tree.node(id.node).span,
                    message:
                        "a later step reads the `image` output and the build has no image name"
                            .into(),
                })?;
            image_output_edits(
                text,
                tree,
                &id.value,
                &image_readers,
                first_tag,
                tree.node(id.node).span,
            )?
        }
        _ => (Vec::new(), Vec::new()),
    };
    let step_span = tree.node(step.node).span;
    let line = line_start(text, step_span.start());
    let dash = &text[line..step_span.start()];
    if dash.trim_start() != "- " || crate::migrate::text::is_flow(tree, step.node) {
        return Err(Refusal {
            span: uses_span,
            message: "the step is not a block mapping in a block list: no place for the new steps"
                .into(),
        });
    }
    let eol = line_ending(text);
    let indent = " ".repeat(dash.chars().count());
    let mut changes = Vec::new();
    let mut findings = planned.findings;
    if !changes_of_readers.is_empty()
        && let Some(id) = &step.id
    {
        findings.push(
            Finding::new(
                Rule::MigrationNote,
                0,
                tree.node(id.node).span,
                format!(
                    "`steps.{}.outputs.image` is now written out: build-push-action has no `image` output, and \
                     aevea set it to the first image it pushed",
                    id.value
                ),
            )
            .label("image output"),
        );
    }
    let steps_node = job.steps_node.expect("a job with steps has `steps:`");
    // New steps go before this one, in the order they run; the verifier
    // inserts items at one index in reverse.
    let mut new_steps: Vec<(Target, Option<&str>, With)> = Vec::new();
    if *buildx_added == Builder::None {
        new_steps.push((
            pins::SETUP_BUILDX,
            Some(BUILDER_ID),
            vec![("use", vec!["false".to_string()])],
        ));
        *buildx_added = Builder::Ours;
        findings.push(
            Finding::new(
                Rule::MigrationNote,
                0,
                uses_span,
                "docker/setup-buildx-action comes first: build-push-action needs a BuildKit builder (a \
                 docker-container builder, which the registry cache needs); `use: false` leaves the job's \
                 default builder to its other steps",
            )
            .label("builder"),
        );
    }
    if let Some(login) = planned.login
        && !logins.contains(&login)
    {
        let mut with = Vec::new();
        if let Some(registry) = &login.registry {
            with.push(("registry", vec![registry.clone()]));
        }
        with.push(("username", vec![login.username.clone()]));
        with.push(("password", vec![login.password.clone()]));
        new_steps.push((pins::LOGIN, None, with));
        logins.push(login);
    }
    let mut inserted = String::new();
    for (target, id, with) in &new_steps {
        let (uses_text, comment) = style.uses(*target);
        let comment = comment.map(|c| format!(" {c}")).unwrap_or_default();
        inserted.push_str(&format!("{dash}uses: {uses_text}{comment}{eol}"));
        let mut expected = vec![("uses".to_string(), Expected::string(&uses_text))];
        if let Some(id) = id {
            inserted.push_str(&format!("{indent}id: {id}{eol}"));
            expected.push(("id".to_string(), Expected::string(id)));
        }
        if !with.is_empty() {
            inserted.push_str(&format!("{indent}with:{eol}"));
            inserted.push_str(&mapping_text(with, &format!("{indent}  "), eol));
            expected.push(("with".to_string(), mapping_expected(with)));
        }
        changes.push((target, Expected::Map(expected)));
    }
    if !inserted.is_empty() {
        edits.push(Edit::insert(line, inserted));
    }
    let changes: Vec<Change> = changes
        .into_iter()
        .rev()
        .map(|(_, value)| Change::InsertItem {
            sequence: steps_node,
            index: step.index,
            value,
        })
        .collect();
    let mut changes = changes;
    // `uses:` and its comment.
    let (uses_text, comment) = style.uses(pins::BUILD_PUSH);
    let line_stop = line_end(text, uses_span.end());
    let rest = &text[uses_span.end()..line_stop];
    let old_comment = rest.trim_start().starts_with('#');
    let replaced = if old_comment {
        Span::new(uses_span.start(), line_stop)
    } else {
        uses_span
    };
    let comment = match (comment, old_comment) {
        (Some(c), _) => format!(" {c}"),
        (None, true) => String::new(),
        (None, false) => String::new(),
    };
    edits.push(Edit::replace(replaced, format!("{uses_text}{comment}")));
    changes.push(Change::Set {
        node: uses.node,
        value: Expected::string(&uses_text),
    });
    // `with:`.
    let key_indent = indentation(text, tree.node(*uses_key).span.start());
    let key_indent = if line_start(text, tree.node(*uses_key).span.start()) == line {
        indent.clone()
    } else {
        key_indent
    };
    let mut entries = planned.inputs.entries;
    if *buildx_added == Builder::Ours {
        entries.push((
            "builder",
            vec![format!("${{{{ steps.{BUILDER_ID}.outputs.name }}}}")],
        ));
    }
    let body = mapping_text(&entries, &format!("{key_indent}  "), eol);
    match step.with {
        Some(with) => {
            let with_key = tree
                .owner(with)
                .map(|(_, key)| key)
                .expect("`with:` has a key");
            let key_end = tree.node(with_key).span.end();
            let colon = key_end + text[key_end..].find(':').unwrap_or(0) + 1;
            let with_span = tree.node(with).span;
            let end = if with_span.is_empty() {
                colon
            } else {
                with_span.end()
            };
            edits.push(Edit::replace(
                Span::new(colon, end),
                format!("{eol}{}", body.trim_end_matches(['\r', '\n'])),
            ));
            changes.push(Change::Set {
                node: with,
                value: mapping_expected(&entries),
            });
        }
        None => {
            edits.push(Edit::insert(
                line_stop,
                format!(
                    "{eol}{key_indent}with:{eol}{}",
                    body.trim_end_matches(['\r', '\n'])
                ),
            ));
            changes.push(Change::Insert {
                mapping: step.node,
                key: "with".into(),
                value: mapping_expected(&entries),
            });
        }
    }
    changes.append(&mut changes_of_readers);
    Ok(StepPlan {
        edits,
        changes,
        findings,
    })
}

/// Later steps that read this step's outputs must find them on
/// build-push-action: `digest` (and `imageid`, `metadata`) are there.
/// aevea's `image` (v0.11.0 and later) was the first image it pushed, which
/// the migration knows: each `${{ steps.ID.outputs.image }}` of the job is
/// returned to be replaced by it. Anything else keeps the step.
fn outputs_kept(
    text: &str,
    job: &Job,
    step: &Step,
    known: Known,
    action: &actions::ActionRef,
    tree: &Tree,
) -> Result<Vec<NodeId>, Refusal> {
    let Some(id) = &step.id else {
        return Ok(Vec::new());
    };
    let version = match known {
        Known::Aevea => actions::aevea_version(&action.reference).ok().flatten(),
        Known::Int128 => None,
    };
    let refuse = |message: String| Refusal {
        span: tree.node(id.node).span,
        message,
    };
    let needle = format!("steps.{}.outputs.", id.value);
    let job_span = tree.node(job.node).span;
    let mut readers = Vec::new();
    for (at, _) in text.match_indices(&needle) {
        let name: String = text[at + needle.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let outputs = known.outputs(version);
        if BUILD_PUSH_OUTPUTS.contains(&name.as_str()) && outputs.contains(&name.as_str()) {
            continue;
        }
        let unknown = || {
            refuse(format!(
                "a later step reads `steps.{}.outputs.{name}`, which build-push-action does not set",
                id.value
            ))
        };
        if name != "image" || !outputs.contains(&"image") {
            return Err(unknown());
        }
        let node = tree
            .node_ids()
            .find(|&node| {
                let span = tree.node(node).span;
                tree.scalar(text, node).is_some() && span.start() <= at && at < span.end()
            })
            .filter(|&node| {
                let span = tree.node(node).span;
                job_span.start() <= span.start() && span.end() <= job_span.end()
            })
            .ok_or_else(unknown)?;
        if !readers.contains(&node) {
            readers.push(node);
        }
    }
    Ok(readers)
}

/// `${{ steps.ID.outputs.image }}` in each scalar of `readers` replaced by
/// `image`, the reference aevea wrote to that output. An expression that
/// does more than read the output keeps the step.
fn image_output_edits(
    text: &str,
    tree: &Tree,
    id: &str,
    readers: &[NodeId],
    image: &str,
    at: Span,
) -> Result<(Vec<Edit>, Vec<Change>), Refusal> {
    let pattern = regex::Regex::new(&format!(
        r"\$\{{\{{\s*steps\.{}\.outputs\.image\s*\}}\}}",
        regex::escape(id)
    ))
    .expect("the output pattern is valid");
    let refuse = |message: &str| Refusal {
        span: at,
        message: message.to_string(),
    };
    let mut edits = Vec::new();
    let mut changes = Vec::new();
    for &node in readers {
        let decoded = tree.scalar(text, node).unwrap_or_default();
        let decoded: &str = &decoded;
        let whole: Vec<std::ops::Range<usize>> =
            pattern.find_iter(decoded).map(|m| m.range()).collect();
        if whole.len()
            != decoded
                .matches(&format!("steps.{id}.outputs.image"))
                .count()
        {
            return Err(refuse(
                "a later step reads the `image` output inside a larger expression, which the migration cannot rewrite",
            ));
        }
        let scalar = tree.node(node);
        let map = SourceMap::of_node(text, scalar, decoded)
            .ok_or_else(|| refuse("a scalar that reads the `image` output could not be mapped"))?;
        let style = match scalar.kind() {
            crate::yaml::NodeKind::Scalar { style, .. } => style,
            _ => return Err(refuse("the `image` output is read by a collection")),
        };
        let written = match style {
            ScalarStyle::DoubleQuoted => image.replace('\\', "\\\\").replace('"', "\\\""),
            ScalarStyle::SingleQuoted => image.replace('\'', "''"),
            ScalarStyle::Plain if image.contains(": ") || image.contains(" #") => {
                return Err(refuse(
                    "the image name cannot stand in the plain scalar that reads the output",
                ));
            }
            _ => image.to_string(),
        };
        let mut value = String::new();
        let mut cursor = 0;
        for range in whole {
            value.push_str(&decoded[cursor..range.start]);
            value.push_str(image);
            cursor = range.end;
            edits.push(Edit::replace(
                map.span_of(range.start, range.end),
                written.clone(),
            ));
        }
        value.push_str(&decoded[cursor..]);
        changes.push(Change::Set {
            node,
            value: Expected::string(&value),
        });
    }
    Ok((edits, changes))
}

/// `key: value` lines at `indent`; a list of several values as a `|` block.
fn mapping_text(entries: &[(&'static str, Vec<String>)], indent: &str, eol: &str) -> String {
    let mut out = String::new();
    for (key, values) in entries {
        match values.as_slice() {
            [one] => out.push_str(&format!("{indent}{key}: {}{eol}", scalar_text(one))),
            many => {
                out.push_str(&format!("{indent}{key}: |{eol}"));
                for value in many {
                    out.push_str(&format!("{indent}  {value}{eol}"));
                }
            }
        }
    }
    out
}

fn mapping_expected(entries: &[(&'static str, Vec<String>)]) -> Expected {
    Expected::Map(
        entries
            .iter()
            .map(|(key, values)| {
                let value = match values.as_slice() {
                    [one] => one.clone(),
                    many => many.iter().map(|v| format!("{v}\n")).collect(),
                };
                (key.to_string(), Expected::string(&value))
            })
            .collect(),
    )
}

/// A value as a YAML scalar: plain where YAML reads it back unchanged,
/// else double-quoted.
pub fn scalar_text(value: &str) -> String {
    let plain = !value.is_empty()
        && !value.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`', ' ',
        ])
        && !value.ends_with([' ', ':'])
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.contains(['\n', '\r', '\t'])
        && matches!(
            yaml_rust2::Yaml::from_str(value),
            yaml_rust2::Yaml::String(_)
        );
    if plain {
        return value.to_string();
    }
    crate::rewrite::encode::double_quoted(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_plain_when_they_read_back() {
        assert_eq!(scalar_text("${{ github.sha }}"), "${{ github.sha }}");
        assert_eq!(
            scalar_text("type=registry,ref=r:c"),
            "type=registry,ref=r:c"
        );
        assert_eq!(scalar_text("a: b"), "\"a: b\"");
        assert_eq!(scalar_text("*x"), "\"*x\"");
    }
}
