//! Decides, job by job, what changes and where, and turns it into edits and
//! the intended changes that verification checks them against.

use hashbrown::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use super::arguments;
use super::survey::{OtherJobs, Survey};
use super::text::{
    self, get, has_merge_key, indentation, is_flow, line_end, line_start, next_line,
};
use super::{BUILDKITD_FLAGS, Options};
use crate::finding::Finding;
use crate::gitlab::jobs::{self, Job};
use crate::gitlab::value::At;
use crate::gitlab::{FileId, Pipeline};
use crate::kaniko::invocation::Program;
use crate::kaniko::{self, PathUse, Usage};
use crate::mapping::command::{self, Fate, FlagNote, Translation, Workspace};
use crate::mapping::docker_run::{self, Builder};
use crate::mapping::flavor::Service;
use crate::mapping::quote;
use crate::rewrite::Edit;
use crate::rewrite::encode;
use crate::rewrite::verify::{Change, Expected};
use crate::rules::Rule;
use crate::span::Span;
use crate::yaml::scalar::SourceMap;
use crate::yaml::{NodeId, NodeKind, Tree};

/// The registry login Kaniko (1.9 and later) did by itself for
/// `$CI_REGISTRY`, as a step: an entry for `$CI_REGISTRY` in `config.json`
/// when the job has the variables, merged into a file the job wrote itself
/// (for Docker Hub, say) and never replacing an entry it has. Busybox only;
/// the password never stands in a traced word (see [`registry_login`]).
const LOGIN_BODY: &str = concat!(
    r#"[ -z "${CI_REGISTRY_USER:-}" ] || { "#,
    r#"_k2b_c="${DOCKER_CONFIG:-$HOME/.docker}/config.json"; "#,
    r#"_k2b_a="$(printf '%s:%s' "$CI_REGISTRY_USER" "${CI_REGISTRY_PASSWORD:-}" | base64 | tr -d '\n')"; "#,
    r#"_k2b_e="\"$CI_REGISTRY\":{\"auth\":\"$_k2b_a\"}"; "#,
    r#"mkdir -p "${_k2b_c%/*}" && "#,
    r#"if [ ! -s "$_k2b_c" ]; then printf '{"auths":{%s}}\n' "$_k2b_e" > "$_k2b_c"; "#,
    r#"elif grep -qF "\"$CI_REGISTRY\"" "$_k2b_c"; then :; "#,
    r#"elif grep -q '"auths"' "$_k2b_c"; then "#,
    r#"sed -i -e "s|\"auths\"[[:space:]]*:[[:space:]]*{[[:space:]]*}|\"auths\":{$_k2b_e}|;t" "#,
    r#"-e "s|\"auths\"[[:space:]]*:[[:space:]]*{|&$_k2b_e,|" "$_k2b_c"; "#,
    r#"else sed -i -e "1s|^[[:space:]]*{[[:space:]]*}|{\"auths\":{$_k2b_e}}|;t" "#,
    r#"-e "1s|^[[:space:]]*{|&\"auths\":{$_k2b_e},|" "$_k2b_c"; fi; }"#,
);

/// The login as a script line of its own: a subshell with tracing off, so
/// that `set -x` prints neither the password nor its base64, and a failure
/// ends a `set -e` script.
pub fn registry_login() -> String {
    format!("( {{ set +x; }} 2>/dev/null; {LOGIN_BODY} )")
}

const DOCKER_CONFIG_DIR: &str = "\"${DOCKER_CONFIG:-$HOME/.docker}\"";
const DOCKER_CONFIG_FILE: &str = "\"${DOCKER_CONFIG:-$HOME/.docker}/config.json\"";

#[derive(Debug, Default)]
pub struct Planned {
    pub edits: BTreeMap<FileId, Vec<Edit>>,
    pub changes: BTreeMap<FileId, Vec<Change>>,
    pub findings: Vec<Finding>,
    pub migrated: BTreeSet<String>,
    /// The edits that migrate each job, by index into `edits` (shared
    /// edits appear under each).
    pub job_edits: BTreeMap<String, Vec<(FileId, usize)>>,
    /// Script lines the new text did not fit (see [`Constraints`]).
    pub refused_lines: BTreeMap<At, String>,
    /// Migrated jobs that run buildctl, and so need `BUILDKITD_FLAGS`.
    pub builders: BTreeSet<String>,
    /// Migrated jobs whose only Kaniko was `docker run`: they keep their
    /// image and build with `docker buildx build`.
    pub in_place: BTreeSet<String>,
    pub remaining: Vec<String>,
}

/// Where a job's image change goes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ImagePlan {
    /// Rewrite the image where it is defined (the scalar holding its name).
    InPlace(At),
    /// Give the job its own `image:` key; the shared one stays.
    OwnKey,
}

/// A replacement inside one script scalar, in decoded coordinates.
#[derive(Clone, Debug)]
struct LineEdit {
    range: Range<usize>,
    lines: Vec<String>,
    /// For an executor call, its new text in parts; `lines` is then empty.
    call: Option<command::CallText>,
}

impl LineEdit {
    fn text(range: Range<usize>, text: String) -> Self {
        LineEdit {
            range,
            lines: vec![text],
            call: None,
        }
    }
}

/// Everything one Kaniko job needs. What detection found in its script
/// lines is translated into `line_edits` and dropped: only what the later
/// steps ask of it is kept.
struct JobWork<'j> {
    job: &'j Job,
    /// The job's image, when it is a Kaniko image.
    kaniko_image: Option<&'j jobs::Image>,
    /// It calls the executor (not only a Kaniko path or image).
    calls_executor: bool,
    /// Kaniko runs only through `docker run`: the job keeps its image.
    only_in_docker: bool,
    /// The job's key, where job-level findings point.
    key_span: Span,
    /// It writes CA certificates: its builds read them through `SSL_CERT_DIR`.
    uses_certs: bool,
    image: Option<ImagePlan>,
    /// Script scalar → replacements inside it.
    line_edits: Vec<(At, LineEdit)>,
    /// A registry login to add before this call: (script scalar, call range).
    logins: Vec<(At, Range<usize>)>,
    docker_config: Option<At>,
    /// `variables:` values whose flags it maps, by name.
    variable_sites: Vec<(String, At)>,
    blockers: Vec<(FileId, Span, String)>,
    notes: Vec<Finding>,
}

impl JobWork<'_> {
    fn name(&self) -> &str {
        &self.job.name
    }

    /// Its lists without the room they grew: a list that grew by one push
    /// holds four, and a job's notes and line edits (a finding or an edit
    /// is 150 to 200 bytes) held 40 MB of room for 30,000 jobs while the
    /// whole pipeline was planned.
    fn compacted(mut self) -> Self {
        self.notes.shrink_to_fit();
        self.line_edits.shrink_to_fit();
        self.logins.shrink_to_fit();
        self.blockers.shrink_to_fit();
        self
    }
}

/// What an earlier round of planning learned.
#[derive(Debug, Default, Clone)]
pub struct Constraints {
    /// Jobs whose `BUILDKITD_FLAGS` goes on the command, not in `variables:`.
    pub prefix_jobs: BTreeSet<String>,
    /// Script lines whose new text could not be written, with the reason:
    /// the jobs that run them stay as they are.
    pub refused_lines: BTreeMap<At, String>,
    /// Jobs kept on Kaniko on purpose (an ignore comment), with the reason.
    pub kept_jobs: BTreeMap<String, String>,
}

pub fn plan(pipeline: &Pipeline, options: &Options, constraints: &Constraints) -> Planned {
    let prefix_jobs = &constraints.prefix_jobs;
    let Survey {
        kaniko_jobs,
        detected,
        others,
    } = Survey::of(pipeline, options);
    let mut work: Vec<JobWork> = kaniko_jobs
        .iter()
        .zip(detected)
        .map(|(job, (in_kaniko_image, lines))| {
            let image = job.image.as_ref().filter(|_| in_kaniko_image);
            job_work(pipeline, Usage { job, image, lines }, options).compacted()
        })
        .collect();
    choose_images(pipeline, &others, &mut work, options);
    block_foreign_variable_uses(pipeline, &mut work);
    block_shared_docker_config(pipeline, &others, &mut work);
    block_existing_services(options, &mut work);
    block_refused_lines(pipeline, &constraints.refused_lines, &mut work);
    block_kept_jobs(&constraints.kept_jobs, &mut work);
    block_shared_sites(&mut work);
    let mut planned = Planned::default();
    let mut emitter = Emitter {
        pipeline,
        options,
        planned: &mut planned,
        prefix_jobs,
        owners: Vec::new(),
        images: HashMap::new(),
        login_steps: HashMap::new(),
    };
    emitter.emit(&mut work);
    for job in work {
        report(job, &mut planned);
    }
    planned
        .findings
        .sort_by_key(|f| (f.file, f.span.start(), f.rule));
    // One finding per place and message; a definition shared by several
    // jobs names them all, so every job's verdict counts it.
    planned.findings = Finding::merge_repeated(std::mem::take(&mut planned.findings));
    planned
}

/// Translates the job's calls and paths; anything untranslatable blocks it.
fn job_work<'j>(pipeline: &Pipeline, usage: Usage<'j>, options: &Options) -> JobWork<'j> {
    let variables = usage
        .job
        .variables
        .iter()
        .filter_map(|(name, at)| {
            let file = &pipeline.files[at.file];
            file.tree
                .scalar(&file.text, file.tree.deref(at.node))
                .map(|value| (name.clone(), value.to_string()))
        })
        .collect();
    let workspace = &Workspace {
        root: options.root.as_deref(),
        variables,
        flavor: options.config.flavor,
        ci: &crate::gitlab::CI_VARIABLES,
    };
    let mut work = JobWork {
        job: usage.job,
        kaniko_image: usage.image,
        calls_executor: usage.invocations().next().is_some(),
        only_in_docker: usage.only_in_docker(),
        key_span: key_span(pipeline, usage.job.key),
        uses_certs: usage.paths().any(|p| p.path.starts_with("/kaniko/ssl/")),
        image: None,
        line_edits: Vec::new(),
        logins: Vec::new(),
        docker_config: None,
        variable_sites: Vec::new(),
        blockers: Vec::new(),
        notes: Vec::new(),
    };
    let job = usage.job;
    let flavor = options.config.flavor;
    if work.uses_certs && flavor.config_dir().is_none() {
        let message = format!(
            "extra CA certificates are read by the daemon, which is a service in the `{}` flavour: add them to the service by hand",
            flavor.as_str()
        );
        work.blockers.push((job.key.file, work.key_span, message));
    }
    let writes_auth = usage
        .paths()
        .any(|p| p.path.trim_end_matches('/') == "/kaniko/.docker/config.json");
    let helper_in_config = names_credential_helper(pipeline, &usage);
    for line in &usage.lines {
        for call in &line.invocations {
            if call.program == Program::Warmer {
                let message =
                    "`/kaniko/warmer` has no BuildKit counterpart: remove the warming step"
                        .to_string();
                work.blockers.push((line.file, call.span, message));
                continue;
            }
            let translation = command::translate(call, workspace);
            collect_notes(&mut work, line.file, &translation, options);
            let carried = arguments::resolve(pipeline, job, line.file, call, &translation);
            for (file, note) in &carried.notes {
                collect_note(&mut work, *file, note, options);
            }
            work.variable_sites.extend(carried.yaml_sites);
            for (at, range, text) in carried.edits {
                work.line_edits.push((at, LineEdit::text(range, text)));
            }
            if translation.informational {
                work.line_edits.push((
                    line.at,
                    LineEdit {
                        range: call.script_range.clone(),
                        lines: Vec::new(),
                        call: Some(translation.call_text()),
                    },
                ));
                continue;
            }
            work.logins.push((line.at, call.script_range.clone()));
            // A note every migrated job carries: its text is borrowed, not
            // copied into each (30,000 copies in a 50 MB pipeline).
            let login_note = Finding::new(
                Rule::MigrationNote,
                line.file,
                call.program_span,
                LOGIN_NOTE,
            )
            .jobs(vec![work.name().to_string()]);
            work.notes.push(login_note);
            for note in credential_helper_blockers(helper_in_config, &translation, writes_auth) {
                collect_note(
                    &mut work,
                    line.file,
                    &FlagNote {
                        span: call.program_span,
                        ..note
                    },
                    options,
                );
            }
            work.line_edits.push((
                line.at,
                LineEdit {
                    range: call.script_range.clone(),
                    lines: Vec::new(),
                    call: Some(translation.call_text()),
                },
            ));
        }
        for path in &line.paths {
            match path_replacement(path) {
                Some((replacement, directory)) => {
                    // The Kaniko image had the directory; BuildKit's may not.
                    let made = usage
                        .paths()
                        .any(|p| p.in_mkdir && p.path.trim_end_matches('/') == directory.kaniko);
                    if directory.needed && !made {
                        for (at, text) in mkdir_around(path, directory.buildkit) {
                            work.line_edits
                                .push((line.at, LineEdit::text(at..at, text)));
                        }
                    }
                    work.line_edits.push((
                        line.at,
                        LineEdit::text(path.script_range.clone(), replacement),
                    ));
                }
                None => {
                    work.blockers
                        .push((path.file, path.span, unmovable_path_reason(&path.path)))
                }
            }
        }
        for word in &line.busybox {
            work.line_edits.push((
                line.at,
                LineEdit::text(word.script_range.clone(), busybox_replacement(word)),
            ));
        }
    }
    docker_runs(&mut work, &usage, workspace, options);
    for (name, at) in job.variables.iter().filter(|(name, _)| {
        kaniko::is_kaniko_setting(name) && !command::MAPPED_SETTINGS.contains(&name.as_str())
    }) {
        let span = key_span(pipeline, *at);
        if command::DROPPED_SETTINGS.contains(&name.as_str()) {
            let note = FlagNote {
                fate: Fate::Dropped,
                span,
                message: command::dropped_setting_reason(name),
            };
            collect_note(&mut work, at.file, &note, options);
            continue;
        }
        work.blockers.push((
            at.file,
            span,
            format!("the variable `{name}` configures Kaniko; BuildKit would ignore it"),
        ));
    }
    work.docker_config = job
        .variables
        .iter()
        .find(|(name, at)| name == "DOCKER_CONFIG" && kaniko_docker_dir(pipeline, *at))
        .map(|(_, at)| *at);
    if let Some(image) = usage.image {
        for message in image_notes(options, image) {
            let note = FlagNote {
                fate: Fate::Note,
                span: key_span(pipeline, image.at),
                message,
            };
            collect_note(&mut work, image.at.file, &note, options);
        }
    }
    let calls_executor = work.calls_executor;
    let elsewhere = if job.opaque_script {
        // Lines it could not read may call the executor.
        Some("a script too deeply nested to read".to_string())
    } else {
        (!calls_executor && usage.image.is_some())
            .then(|| hidden_build(pipeline, job))
            .flatten()
    };
    if let Some(elsewhere) = elsewhere {
        let message = format!(
            "the job runs {elsewhere}, where a Kaniko build cannot be seen or rewritten: \
             the image change alone would break such a build (`/kaniko/executor: not found`); migrate it by \
             hand, then this job"
        );
        work.blockers.push((job.key.file, work.key_span, message));
        return work;
    }
    if !calls_executor && usage.image.is_some() && !job.hidden {
        work.notes.push(
            Finding::new(Rule::MigrationNote, job.key.file, key_span(pipeline, job.key), format!(
                "job `{}` ran in the Kaniko image without calling the executor; it now runs in the BuildKit image",
                job.name
            ))
            .jobs(vec![job.name.clone()]),
        );
    }
    work
}

/// Each `docker run` of a Kaniko image becomes `docker buildx build` in
/// place (see [`docker_run`]).
fn docker_runs(work: &mut JobWork, usage: &Usage, workspace: &Workspace, options: &Options) {
    let job_docker_config = usage
        .job
        .variables
        .iter()
        .any(|(name, _)| name == "DOCKER_CONFIG");
    for (line, use_) in usage.docker_uses() {
        let planned = docker_run::plan(use_, workspace, Builder::WhenNeeded, job_docker_config);
        for note in &planned.notes {
            collect_note(work, line.file, note, options);
        }
        if let Some(translation) = &planned.translation {
            for note in &translation.notes {
                collect_note(work, line.file, note, options);
            }
            let helpers =
                credential_helper_blockers(false, translation, planned.mounted_credentials);
            for note in helpers {
                let note = FlagNote {
                    span: use_.image_span,
                    ..note
                };
                collect_note(work, line.file, &note, options);
            }
        }
        if let Some(call) = planned.call {
            work.line_edits.push((
                line.at,
                LineEdit {
                    range: use_.script_range.clone(),
                    lines: Vec::new(),
                    call: Some(call),
                },
            ));
        }
    }
}

fn collect_notes(work: &mut JobWork, file: FileId, translation: &Translation, options: &Options) {
    for note in &translation.notes {
        collect_note(work, file, note, options);
    }
}

/// What a migrated job's registry login step is for.
const LOGIN_NOTE: &str = "a login to `$CI_REGISTRY` comes first: Kaniko (1.9 and later) used \
    CI_REGISTRY_USER and CI_REGISTRY_PASSWORD by itself, buildctl only reads config.json; the step \
    adds the entry to the file and never replaces one the job wrote";

/// A blocker, or a finding the migrated job reports, by the note's fate.
fn collect_note(work: &mut JobWork, file: FileId, note: &FlagNote, options: &Options) {
    let job = vec![work.name().to_string()];
    let finding = match note.fate {
        Fate::Blocked => {
            work.blockers.push((file, note.span, note.message.clone()));
            return;
        }
        Fate::Unsafe if !options.unsafe_fixes => {
            work.blockers.push((
                file,
                note.span,
                format!("{} (applied only with --unsafe)", note.message),
            ));
            Finding::new(
                Rule::UnsafeFlag,
                file,
                note.span,
                format!("not applied without --unsafe: {}", note.message),
            )
        }
        Fate::Unsafe => Finding::new(
            Rule::UnsafeFlag,
            file,
            note.span,
            format!("applied with --unsafe: {}", note.message),
        ),
        Fate::Dropped => Finding::new(Rule::DroppedFlag, file, note.span, note.message.clone()),
        Fate::Note => Finding::new(Rule::MigrationNote, file, note.span, note.message.clone()),
    };
    work.notes.push(finding.jobs(job));
}

/// The BuildKit image for a job whose Kaniko image is `kaniko_image`: the
/// one the user named, else the default behind the same mirror or proxy
/// the Kaniko image came through (a runner that can only pull through the
/// GitLab dependency proxy or a Harbor keeps pulling through it).
fn buildkit_image(options: &Options, kaniko_image: &str) -> String {
    let chosen = &options.buildkit_image;
    if chosen != super::DEFAULT_BUILDKIT_IMAGE {
        return chosen.clone();
    }
    match kaniko::image::mirror_prefix(kaniko_image) {
        Some(prefix) => format!("{prefix}/{chosen}"),
        None => chosen.clone(),
    }
}

/// What a job's Kaniko image says about the BuildKit image it gets: the
/// mirror it keeps pulling through, and a digest pin it loses.
fn image_notes(options: &Options, image: &crate::gitlab::jobs::Image) -> Vec<String> {
    let mut notes = Vec::new();
    let explicit = options.buildkit_image != super::DEFAULT_BUILDKIT_IMAGE;
    if let (Some(prefix), false) = (kaniko::image::mirror_prefix(&image.name), explicit) {
        notes.push(format!(
            "the Kaniko image came through `{prefix}`; the BuildKit image is pulled through it too \
             (`{}`): the mirror must carry `moby/buildkit`, or name another image with --buildkit-image",
            buildkit_image(options, &image.name)
        ));
    }
    if image.name.contains("@sha256:") && !options.buildkit_image.contains("@sha256:") {
        notes.push(
            "the Kaniko image was pinned by digest, the BuildKit image only by tag: pin it with \
             --buildkit-image moby/buildkit:v0.32.2-rootless@sha256:…"
                .to_string(),
        );
    }
    notes
}

/// Where a job in a Kaniko image that calls no executor itself may build:
/// a script file of the repository it runs, or a string it `eval`s. Such a
/// job must keep Kaniko's image until that script is migrated.
fn hidden_build(pipeline: &Pipeline, job: &Job) -> Option<String> {
    job.scripts.iter().find_map(|line| {
        let file = &pipeline.files[line.at.file];
        let text = file.tree.scalar(&file.text, line.at.node)?;
        kaniko::shell::commands(&text)
            .iter()
            .find_map(|command| kaniko::shell::runs_elsewhere(&command.words))
    })
}

/// Whether a line of the job that writes a Kaniko path names a credential
/// helper in the config it writes. Each script scalar is looked at once,
/// however many times `!reference` or anchors repeat it.
fn names_credential_helper(pipeline: &Pipeline, usage: &Usage) -> bool {
    let mut seen = BTreeSet::new();
    usage.lines.iter().any(|line| {
        if line.paths.is_empty() || !seen.insert(line.at) {
            return false;
        }
        let file = &pipeline.files[line.at.file];
        let text = file
            .tree
            .scalar(&file.text, line.at.node)
            .unwrap_or_default();
        text.contains("credHelpers") || text.contains("credsStore")
    })
}

/// Registries whose credentials Kaniko found through the helpers bundled
/// in its image (ECR, GCR and Artifact Registry, ACR), which the BuildKit
/// image does not have: a destination there with no `config.json` written
/// by the job, or a written `config.json` that names a helper, keeps the job
/// as it is.
fn credential_helper_blockers(
    helper_in_config: bool,
    translation: &Translation,
    writes_auth: bool,
) -> Vec<FlagNote> {
    let blocked = |message: String| FlagNote {
        fate: Fate::Blocked,
        span: Span::default(),
        message,
    };
    if helper_in_config {
        return vec![blocked(
            "the job's config.json names a credential helper (`credHelpers`/`credsStore`), which the BuildKit \
             image does not have: write the registry's token as an `auths` entry instead (for ECR, \
             `aws ecr get-login-password` in an earlier job, passed on as a masked variable or artifact)"
                .into(),
        )];
    }
    if writes_auth {
        return Vec::new();
    }
    translation
        .destinations
        .iter()
        .filter_map(|destination| crate::kaniko::image::cloud_registry(destination))
        .take(1)
        .map(|cloud| {
            let (registry, how) = (cloud.name, cloud.token);
            // A GitLab job gets an AWS role through OIDC.
            let how = match cloud.name {
                "Amazon ECR" => format!("{how} (an OIDC `id_tokens:` role, in a job with the AWS CLI)"),
                _ => how.to_string(),
            };
            blocked(format!(
                "Kaniko logged in to {registry} through the credential helper bundled in its image, which the \
                 BuildKit image does not have: {how}, and write it into \
                 \"${{DOCKER_CONFIG:-$HOME/.docker}}/config.json\" before the build"
            ))
        })
        .collect()
}

/// `( mkdir -p DIR && COMMAND )` around the command that writes into a
/// directory the Kaniko image had: as one command it stays in its place in a
/// pipeline or an `&&` list, and a failure still ends the script. A builtin
/// that must change the job's own shell (`cd`, `export`, ...) gets the
/// `mkdir -p DIR &&` prefix alone.
pub(crate) fn mkdir_around(path: &PathUse, directory: &str) -> Vec<(usize, String)> {
    if path.in_shell_builtin {
        return vec![(path.command_start, format!("mkdir -p {directory} && "))];
    }
    vec![
        (path.command_start, format!("( mkdir -p {directory} && ")),
        (path.command_end, " )".to_string()),
    ]
}

/// A Kaniko directory, where its files go under BuildKit, and whether a
/// write into it needs the directory created first.
pub(crate) struct Directory {
    pub(crate) kaniko: &'static str,
    pub(crate) buildkit: &'static str,
    pub(crate) needed: bool,
}

/// Extra CA certificates: Kaniko read every file in `SSL_CERT_DIR`
/// (`/kaniko/ssl/certs`). BuildKit's daemon reads a directory of its own
/// named by `SSL_CERT_DIR` on its command, on top of the system roots.
const CERTS_DIR: &str = "\"$HOME/.kaniko2buildkit/certs\"";

/// The new text for a `/kaniko/` path word (or `NAME=/kaniko/...`), and the
/// directory it lives in. `None` for paths this version does not move.
pub(crate) fn path_replacement(path: &PathUse) -> Option<(String, Directory)> {
    let (assignment, raw) = match path.raw.split_once('=') {
        Some((name, value)) if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            (format!("{name}="), value)
        }
        _ => (String::new(), path.raw.as_str()),
    };
    let bare = raw.trim_matches(['"', '\'']);
    let docker = Directory {
        kaniko: "/kaniko/.docker",
        buildkit: DOCKER_CONFIG_DIR,
        needed: false,
    };
    let certs = Directory {
        kaniko: "/kaniko/ssl/certs",
        buildkit: CERTS_DIR,
        needed: false,
    };
    // The Kaniko image set DOCKER_CONFIG; the BuildKit image does not.
    let under_docker_config = bare
        .strip_prefix("$DOCKER_CONFIG/")
        .or_else(|| bare.strip_prefix("${DOCKER_CONFIG}/"));
    if let Some(rest) = under_docker_config {
        if !quote::is_plain(rest) {
            return None;
        }
        let text = format!("\"${{DOCKER_CONFIG:-$HOME/.docker}}/{rest}\"");
        return Some((
            format!("{assignment}{text}"),
            Directory {
                needed: true,
                ..docker
            },
        ));
    }
    let (text, directory) = match bare {
        "/kaniko/.docker/config.json" => (
            DOCKER_CONFIG_FILE.to_string(),
            Directory {
                needed: true,
                ..docker
            },
        ),
        "/kaniko/.docker" | "/kaniko/.docker/" => (DOCKER_CONFIG_DIR.to_string(), docker),
        "/kaniko/ssl/certs" | "/kaniko/ssl/certs/" => (CERTS_DIR.to_string(), certs),
        _ => {
            let name = bare
                .strip_prefix("/kaniko/ssl/certs/")
                .filter(|n| quote::is_plain(n) && !n.contains('/'))?;
            (
                format!("\"$HOME/.kaniko2buildkit/certs/{name}\""),
                Directory {
                    needed: true,
                    ..certs
                },
            )
        }
    };
    Some((format!("{assignment}{text}"), directory))
}

/// Why a path of the Kaniko image keeps its job, and what to do instead.
fn unmovable_path_reason(path: &str) -> String {
    let under = |dir: &str| path == dir || path.starts_with(&format!("{dir}/"));
    let why = if under("/workspace") {
        "the BuildKit image has no /workspace (Kaniko's default context), and its uid 1000 cannot create one: \
         copy into a directory under $CI_PROJECT_DIR or ${TMPDIR:-/tmp} and build that"
    } else if under("/root") {
        "/root was the Kaniko image's HOME; the BuildKit image runs as uid 1000 with HOME=/home/user, and /root \
         is not writable: use $HOME"
    } else if path.starts_with('$') {
        "the path relies on the Kaniko image's DOCKER_CONFIG, and cannot be told here: write it under \
         \"${DOCKER_CONFIG:-$HOME/.docker}\""
    } else {
        "the BuildKit image has no /kaniko, and its uid 1000 cannot create it: use a directory under \
         $CI_PROJECT_DIR or ${TMPDIR:-/tmp}"
    };
    format!("`{path}`: {why}")
}

/// `/busybox/sh` becomes `/bin/sh`; other busybox tools are on `PATH`.
pub(crate) fn busybox_replacement(word: &PathUse) -> String {
    let tool = word.path.trim_start_matches("/busybox/");
    let plain = if tool == "sh" {
        "/bin/sh".to_string()
    } else {
        tool.to_string()
    };
    match word.raw.chars().next() {
        Some(q @ ('"' | '\'')) => format!("{q}{plain}{q}"),
        _ => plain,
    }
}

fn kaniko_docker_dir(pipeline: &Pipeline, at: At) -> bool {
    let file = &pipeline.files[at.file];
    let value = file
        .tree
        .scalar(&file.text, file.tree.deref(at.node))
        .unwrap_or_default();
    matches!(value.trim_end_matches('/'), "/kaniko/.docker")
}

fn key_span(pipeline: &Pipeline, at: At) -> Span {
    pipeline.files[at.file].tree.node(at.node).span
}

/// Picks, for each job, where its image changes: in place when every job
/// that uses the same definition is migrated with it; the job's own key when
/// the definition is a shared default (`default:` or top-level `image:`)
/// that other jobs keep.
fn choose_images(pipeline: &Pipeline, others: &OtherJobs, work: &mut [JobWork], options: &Options) {
    let builders: BTreeSet<String> = work
        .iter()
        .filter(|w| w.blockers.is_empty() && w.calls_executor)
        .map(|w| w.name().to_string())
        .collect();
    let only_builders = image_sites_used_only_by(work, others, &builders);
    for job in work.iter_mut() {
        // `docker run` becomes `docker buildx build`: the image stays.
        if job.only_in_docker {
            continue;
        }
        let calls_executor = job.calls_executor;
        let plan = match &job.job.image {
            // Not a Kaniko image and no build: only its `/kaniko/` paths move.
            Some(_) if job.kaniko_image.is_none() && !calls_executor => continue,
            Some(image) if job.kaniko_image.is_none() => {
                if let Some(message) = custom_image_problem(&image.name, options) {
                    let span = key_span(pipeline, image.at);
                    job.blockers.push((image.at.file, span, message));
                    continue;
                }
                let note = FlagNote {
                    fate: Fate::Note,
                    span: key_span(pipeline, image.at),
                    message: format!(
                        "`{}` is replaced by the BuildKit image: whatever it held besides Kaniko is gone; \
                         name an image of your own built on BuildKit with --buildkit-image",
                        image.name
                    ),
                };
                collect_note(job, image.at.file, &note, options);
                ImagePlan::InPlace(image.at)
            }
            Some(image) => {
                let shared_default = is_default_site(pipeline, image.at);
                if shared_default && !only_builders.get(&image.at).copied().unwrap_or(true) {
                    ImagePlan::OwnKey
                } else {
                    ImagePlan::InPlace(image.at)
                }
            }
            // A template without an image gets it from the jobs that use it.
            None if job.job.hidden => continue,
            None => ImagePlan::OwnKey,
        };
        let key = job.job.key;
        let problem = match &plan {
            ImagePlan::OwnKey if !calls_executor => Some(
                "it runs in a shared Kaniko image without calling the executor: give it an image of its own".to_string(),
            ),
            // A job that calls the executor but cannot migrate keeps the
            // shared image; its own blocker says why.
            ImagePlan::OwnKey if !builders.contains(job.name()) => None,
            ImagePlan::OwnKey => {
                let file = &pipeline.files[key.file];
                job_mapping(&file.tree, key.node)
                    .is_none()
                    .then(|| "its body is an alias or a flow mapping, where no `image:` can be added".to_string())
            }
            ImagePlan::InPlace(at) => image_site_problem(pipeline, *at),
        };
        match problem {
            Some(message) => job.blockers.push((key.file, job.key_span, message)),
            None => job.image = Some(plan),
        }
    }
}

/// A job that calls the executor in an image that is not a known Kaniko
/// image: a custom image built on Kaniko, or a name only known at run time.
/// Replacing it loses what else it held, so only `--unsafe` does.
fn custom_image_problem(name: &str, options: &Options) -> Option<String> {
    if name.contains('$') {
        return Some(format!(
            "the image `{name}` is not known here: set the variable in the file, or list the image in \
             `extra-kaniko-images` in .kaniko2buildkit.toml"
        ));
    }
    (!options.unsafe_fixes).then(|| {
        format!(
            "the image `{name}` is not a known Kaniko image, so it may hold more than Kaniko: rerun with --unsafe \
             to replace it with the BuildKit image (--buildkit-image names one of your own), or list it in \
             `extra-kaniko-images` in .kaniko2buildkit.toml"
        )
    })
}

/// For every image site, whether all the jobs that use it are `builders`
/// (which only Kaniko jobs are; of the other jobs' sites only the shared
/// defaults are known, the only ones asked about); built once so that
/// choosing images stays linear in the number of jobs.
fn image_sites_used_only_by(
    work: &[JobWork],
    others: &OtherJobs,
    builders: &BTreeSet<String>,
) -> BTreeMap<At, bool> {
    let mut sites: BTreeMap<At, bool> = BTreeMap::new();
    for job in work {
        if let Some(image) = &job.job.image {
            *sites.entry(image.at).or_insert(true) &= builders.contains(job.name());
        }
    }
    for &at in &others.default_image_sites {
        sites.insert(at, false);
    }
    sites
}

/// Why the image written at `name` cannot be rewritten in place, if it cannot:
/// only `image: NAME` and `image: {name: NAME}` are edited where they stand.
fn image_site_problem(pipeline: &Pipeline, name: At) -> Option<String> {
    let file = &pipeline.files[name.file];
    let (tree, text) = (&file.tree, file.text.as_str());
    if tree.anchor(name.node).is_some() {
        return Some("its image name is anchored and may be used elsewhere".into());
    }
    let key_is = |node: NodeId, wanted: &str| {
        tree.owner(node)
            .is_some_and(|(_, key)| tree.key(text, key) == Some(wanted))
    };
    let editable = key_is(name.node, "image")
        || key_is(name.node, "name")
            && tree
                .owner(name.node)
                .is_some_and(|(holder, _)| key_is(holder, "image"));
    (!editable).then(|| "its image comes through an alias or an unusual structure".into())
}

/// True when the image is set by `default:` or the top-level `image:`.
fn is_default_site(pipeline: &Pipeline, name: At) -> bool {
    let file = &pipeline.files[name.file];
    let tree = &file.tree;
    let Some(root) = tree.root() else {
        return false;
    };
    let mut node = name.node;
    for _ in 0..3 {
        let Some((mapping, key)) = tree.owner(node) else {
            return false;
        };
        if mapping == root {
            return matches!(tree.key(&file.text, key), Some("image" | "default"));
        }
        node = mapping;
    }
    false
}

/// Site identities, to find jobs that share a definition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Site {
    Line(At, usize),
    Image(At),
    Variable(At),
}

fn sites(job: &JobWork) -> Vec<Site> {
    let mut sites: Vec<Site> = job
        .line_edits
        .iter()
        .map(|(at, edit)| Site::Line(*at, edit.range.start))
        .collect();
    if let Some(ImagePlan::InPlace(at)) = job.image {
        sites.push(Site::Image(at));
    }
    sites.extend(job.docker_config.map(Site::Variable));
    sites
}

/// A `variables:` value whose flags are mapped must not change under a job
/// that passes it to something other than the executor (`docker build
/// $ARGS`): the Kaniko job that would change it stays as it is.
/// `DOCKER_CONFIG: /kaniko/.docker` goes when its jobs migrate; a job that
/// does not run Kaniko but has the same variable (crane, skopeo and docker
/// read it too) keeps it, so the Kaniko jobs that share it stay as they are.
fn block_shared_docker_config(pipeline: &Pipeline, others: &OtherJobs, work: &mut [JobWork]) {
    for job in work.iter_mut() {
        let Some(at) = job.docker_config else {
            continue;
        };
        if let Some(reader) = others.docker_configs.get(&at) {
            let message = format!(
                "`DOCKER_CONFIG: /kaniko/.docker` is also set for job `{reader}`, which does not run Kaniko and \
                 keeps it: give this job `DOCKER_CONFIG` of its own (or move the variable into the Kaniko jobs), then rerun"
            );
            job.blockers
                .push((at.file, key_span(pipeline, at), message));
        }
    }
}

/// The first half of the rule above. The other jobs are resolved again
/// for it, only when a Kaniko job maps flags held in a variable
/// (`$KANIKO_ARGS`): the survey keeps none of their scripts.
fn block_foreign_variable_uses(pipeline: &Pipeline, work: &mut [JobWork]) {
    // By site, then name: a name looked up by a job resolved on the way
    // must not be borrowed from it.
    let mut edited: BTreeMap<At, BTreeSet<&str>> = BTreeMap::new();
    for (name, at) in work.iter().flat_map(|w| &w.variable_sites) {
        edited.entry(*at).or_default().insert(name.as_str());
    }
    if edited.is_empty() {
        return;
    }
    let kaniko_jobs: BTreeSet<&str> = work.iter().map(|w| w.name()).collect();
    // One pass over the other jobs: the first that expands each edited value.
    let mut users: BTreeMap<(&str, At), String> = BTreeMap::new();
    let _ = jobs::resolve_each(pipeline, |other| {
        if kaniko_jobs.contains(other.name.as_str()) {
            return;
        }
        for (name, at) in &other.variables {
            let site = At {
                file: at.file,
                node: pipeline.files[at.file].tree.deref(at.node),
            };
            let Some(&edited_name) = edited.get(&site).and_then(|names| names.get(name.as_str()))
            else {
                continue;
            };
            if !users.contains_key(&(edited_name, site))
                && arguments::uses_variable(pipeline, &other, name)
            {
                users.insert((edited_name, site), other.name.clone());
            }
        }
    });
    let blockers: Vec<Vec<(FileId, Span, String)>> = work
        .iter()
        .map(|job| {
            job.variable_sites
                .iter()
                .filter_map(|(name, site)| {
                    let user = users.get(&(name.as_str(), *site))?;
                    let message = format!(
                        "its flags in `{name}` would change for job `{user}`, which uses the variable without Kaniko"
                    );
                    Some((site.file, key_span(pipeline, *site), message))
                })
                .collect()
        })
        .collect();
    for (job, found) in work.iter_mut().zip(blockers) {
        job.blockers.extend(found);
    }
}

/// A flavour that adds a service cannot merge it into services the job
/// already has (a new `services:` key would replace them).
fn block_existing_services(options: &Options, work: &mut [JobWork]) {
    let flavor = options.config.flavor;
    if flavor.service().is_none() {
        return;
    }
    for job in work.iter_mut().filter(|job| !job.only_in_docker) {
        if let Some(services) = job.job.services {
            let message = format!(
                "it has `services:` already: add the `{}` flavour's service to them by hand",
                flavor.as_str()
            );
            job.blockers.push((services.file, job.key_span, message));
        }
    }
}

/// A job whose script line could not be rewritten stays as it is.
fn block_refused_lines(pipeline: &Pipeline, refused: &BTreeMap<At, String>, work: &mut [JobWork]) {
    for job in work.iter_mut() {
        let lines: BTreeSet<At> = job
            .line_edits
            .iter()
            .map(|(at, _)| *at)
            .chain(job.logins.iter().map(|(at, _)| *at))
            .collect();
        for at in lines {
            if let Some(reason) = refused.get(&at) {
                job.blockers
                    .push((at.file, key_span(pipeline, at), reason.clone()));
            }
        }
    }
}

/// A job kept on Kaniko on purpose is never rewritten; what it shares stays.
fn block_kept_jobs(kept: &BTreeMap<String, String>, work: &mut [JobWork]) {
    for job in work.iter_mut() {
        if let Some(reason) = kept.get(job.name()) {
            let file = job.job.key.file;
            job.blockers.push((file, job.key_span, reason.clone()));
        }
    }
}

/// A definition used by a job that stays Kaniko must stay too: every job
/// that shares it stays, and says why. Repeats until nothing changes.
fn block_shared_sites(work: &mut [JobWork]) {
    loop {
        let blocked: BTreeMap<Site, String> = work
            .iter()
            .filter(|w| !w.blockers.is_empty())
            .flat_map(|w| {
                sites(w)
                    .into_iter()
                    .map(move |site| (site, w.name().to_string()))
            })
            .collect();
        let mut changed = false;
        for job in work.iter_mut().filter(|w| w.blockers.is_empty()) {
            if let Some((_, other)) = sites(job).iter().find_map(|s| blocked.get_key_value(s)) {
                let message =
                    format!("it shares a definition with job `{other}`, which cannot be migrated");
                job.blockers.push((job.job.key.file, job.key_span, message));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Findings for one job: why it stays, or the notes of its migration.
fn report(job: JobWork, planned: &mut Planned) {
    let name = job.name().to_string();
    if job.blockers.is_empty() {
        if job.calls_executor {
            planned.builders.insert(name.clone());
        }
        if job.only_in_docker {
            planned.in_place.insert(name.clone());
        }
        planned.migrated.insert(name);
        planned.findings.extend(job.notes);
        return;
    }
    planned.remaining.push(name.clone());
    for (file, span, reason) in &job.blockers {
        let span = if span.is_empty() && *file == job.job.key.file {
            job.key_span
        } else {
            *span
        };
        planned.findings.push(
            Finding::new(Rule::NotMigrated, *file, span, format!("job `{name}` is not migrated: {reason}"))
                .label("kept as it is")
                .help("fix this by hand, or wait for a version that maps it; the rest of the file is migrated")
                .jobs(vec![name.clone()]),
        );
    }
}

/// Turns the plan of every migratable job into edits and intended changes.
struct Emitter<'a, 'p> {
    pipeline: &'p Pipeline,
    options: &'a Options,
    planned: &'a mut Planned,
    prefix_jobs: &'a BTreeSet<String>,
    /// The jobs the edits being emitted are for.
    owners: Vec<String>,
    /// Image sites rewritten in place (the name, and the job's entrypoint,
    /// which `extends` may bring from elsewhere), with the edits made and
    /// the mapping returned: the jobs that share a site share its edits.
    images: HashMap<(At, Option<At>), ImageEdits>,
    /// The login steps written so far, by the prefix and line ending of
    /// their line: one text shared by every job.
    login_steps: HashMap<String, Option<LoginStep>>,
}

/// The registry login as a list item of its own: its text, the same in
/// every job whose script line starts the same way, and its value.
#[derive(Clone)]
struct LoginStep {
    text: Arc<str>,
    value: Expected,
}

impl LoginStep {
    /// The step written after `prefix` (the line's indentation and `- `)
    /// and ended by `eol`; `None` when the line is no block list item, or
    /// the login cannot be written as a plain scalar.
    fn written_after(prefix: &str, eol: &str) -> Option<LoginStep> {
        let layout = encode::Layout {
            style: crate::yaml::ScalarStyle::Plain,
            indent: String::new(),
            line_end: "\n",
            in_flow: false,
        };
        let login = registry_login();
        let fits = prefix.trim_start_matches(' ') == "- "
            && encode::encode(&layout, std::slice::from_ref(&login), "").is_some();
        fits.then(|| LoginStep {
            text: format!("{prefix}{login}{eol}").into(),
            value: Expected::string(&login),
        })
    }
}

/// The edits that moved one image site, by index, and the mapping whose
/// `variables:` serve its jobs.
struct ImageEdits {
    edits: Vec<(FileId, usize)>,
    variables: Option<At>,
}

impl Emitter<'_, '_> {
    /// Takes the jobs' line edits: they are written into the edits here.
    fn emit(&mut self, work: &mut [JobWork]) {
        let mut ready: Vec<&mut JobWork> =
            work.iter_mut().filter(|w| w.blockers.is_empty()).collect();
        // Environment the daemon needs, set on the command when a variable
        // cannot carry it: BUILDKITD_FLAGS hidden by a `<<` merge, and the
        // certificates directory (a variable cannot expand `$HOME`).
        let mut prefixes: BTreeMap<Site, BTreeSet<String>> = BTreeMap::new();
        for job in &ready {
            let mut wanted = Vec::new();
            if self.prefix_jobs.contains(job.name()) {
                wanted.push(format!("BUILDKITD_FLAGS={BUILDKITD_FLAGS}"));
            }
            if job.uses_certs {
                wanted.push(format!("SSL_CERT_DIR={CERTS_DIR}"));
            }
            for (at, edit) in &job.line_edits {
                prefixes
                    .entry(Site::Line(*at, edit.range.start))
                    .or_default()
                    .extend(wanted.iter().cloned());
            }
        }
        self.script_edits(&mut ready, &prefixes);
        let mut variable_targets: BTreeMap<At, Vec<String>> = BTreeMap::new();
        for job in &ready {
            self.owners = vec![job.name().to_string()];
            let target = self.image_edits(job);
            if let (Some(target), false) = (target, self.prefix_jobs.contains(job.name())) {
                variable_targets
                    .entry(target)
                    .or_default()
                    .push(job.name().to_string());
            }
        }
        let mut removals: BTreeMap<At, Vec<String>> = BTreeMap::new();
        for job in &ready {
            if let Some(at) = job.docker_config {
                removals.entry(at).or_default().push(job.name().to_string());
            }
        }
        let removal_sites: BTreeSet<At> = removals.keys().copied().collect();
        let flavor = self.options.config.flavor;
        let target_sites: BTreeSet<At> = match flavor.daemon_flags() {
            Some(_) => variable_targets.keys().copied().collect(),
            None => BTreeSet::new(),
        };
        for (mapping, jobs) in variable_targets {
            self.owners = jobs;
            if flavor.daemon_flags().is_some() {
                self.daemon_flags(mapping, &removal_sites);
            }
            if let Some(service) = flavor.service() {
                self.add_service(mapping, &service);
            }
        }
        for (at, jobs) in removals {
            self.owners = jobs;
            self.remove_docker_config(at, &target_sites);
        }
    }

    fn push(&mut self, file: FileId, edit: Edit, change: Change) {
        self.record(file, edit);
        // Repeats (a definition shared by several jobs) are dropped when
        // the changes are verified.
        self.planned.changes.entry(file).or_default().push(change);
    }

    /// Adds an edit, and credits it to the jobs being emitted, so that each
    /// job's finding can carry the edits that migrate it.
    fn record(&mut self, file: FileId, edit: Edit) {
        let edits = self.planned.edits.entry(file).or_default();
        let index = edits.len();
        edits.push(edit);
        for job in &self.owners {
            self.planned
                .job_edits
                .entry(job.clone())
                .or_default()
                .push((file, index));
        }
    }

    /// Rewrites every script scalar once, with all its replacements.
    fn script_edits(
        &mut self,
        ready: &mut [&mut JobWork],
        prefixes: &BTreeMap<Site, BTreeSet<String>>,
    ) {
        let mut by_line: BTreeMap<At, Vec<LineEdit>> = BTreeMap::new();
        let mut logins: BTreeSet<(At, usize)> = BTreeSet::new();
        let mut owners: BTreeMap<At, Vec<String>> = BTreeMap::new();
        for job in ready.iter_mut() {
            for (at, mut edit) in std::mem::take(&mut job.line_edits) {
                let names = owners.entry(at).or_default();
                if names.last().map(String::as_str) != Some(job.name()) {
                    names.push(job.name().to_string());
                }
                let wanted = prefixes
                    .get(&Site::Line(at, edit.range.start))
                    .filter(|w| !w.is_empty());
                if let (Some(wanted), Some(call)) = (wanted, edit.call.as_mut()) {
                    let program = call
                        .command
                        .iter()
                        .position(|line| line.starts_with(command::BUILDCTL));
                    if let Some(index) = program {
                        let assignments: Vec<&str> = wanted.iter().map(String::as_str).collect();
                        call.command[index] =
                            format!("{} {}", assignments.join(" "), call.command[index]);
                    }
                }
                let list = by_line.entry(at).or_default();
                if !list.iter().any(|e| e.range == edit.range) {
                    list.push(edit);
                }
            }
            logins.extend(job.logins.iter().map(|(at, range)| (*at, range.start)));
        }
        for (at, mut edits) in by_line {
            edits.sort_by_key(|e| e.range.start);
            let login_here: Vec<usize> = logins
                .range((at, 0)..=(at, usize::MAX))
                .map(|(_, start)| *start)
                .collect();
            self.owners = owners.remove(&at).unwrap_or_default();
            self.rewrite_line(at, &mut edits, &login_here);
        }
    }

    /// Applies the replacements of one scalar: source edits at the mapped
    /// spans, and the scalar's new decoded value as the intended change.
    fn rewrite_line(&mut self, at: At, edits: &mut [LineEdit], logins: &[usize]) {
        let file = &self.pipeline.files[at.file];
        let (tree, source) = (&file.tree, file.text.as_str());
        let node = tree.node(at.node);
        if !matches!(node.kind(), NodeKind::Scalar { .. }) {
            return;
        }
        let decoded = tree.scalar(source, at.node).unwrap_or_default().to_string();
        let (Some(map), Some(layout)) = (
            SourceMap::of_node(source, node, &decoded),
            text::layout(source, tree, at.node),
        ) else {
            self.refuse_line(at, "the script line could not be mapped to its source");
            return;
        };
        let item = tree
            .item_of(at.node)
            .filter(|(seq, _)| !is_flow(tree, *seq));
        let mut new_value = String::new();
        let mut cursor = 0;
        for edit in edits.iter_mut() {
            if edit.range.start < cursor {
                self.refuse_line(at, "two changes overlap in this script line");
                return;
            }
            let login_inline = logins.contains(&edit.range.start) && item.is_none();
            if let Some(call) = &mut edit.call {
                if login_inline {
                    call.secret.insert(0, LOGIN_BODY.to_string());
                }
                edit.lines = call.lines();
            }
            let line_indent = line_indent(&decoded, edit.range.start);
            let Some(encoded) = encode::encode(&layout, &edit.lines, &line_indent) else {
                self.refuse_line(at, "the new command does not fit this scalar's style");
                return;
            };
            let span = map.span_of(edit.range.start, edit.range.end);
            new_value.push_str(&decoded[cursor..edit.range.start]);
            new_value.push_str(&encoded.decoded);
            cursor = edit.range.end;
            self.record(at.file, Edit::replace(span, encoded.source));
        }
        new_value.push_str(&decoded[cursor..]);
        let change = Change::Set {
            node: at.node,
            value: Expected::string(&new_value),
        };
        self.planned
            .changes
            .entry(at.file)
            .or_default()
            .push(change);
        if let (Some((sequence, index)), false) = (item, logins.is_empty()) {
            self.login_item(at, sequence, index);
        }
    }

    /// A registry login as a new list item before the script line.
    fn login_item(&mut self, at: At, sequence: NodeId, index: usize) {
        let file = &self.pipeline.files[at.file];
        let start = file.tree.node(at.node).span.start();
        let line = line_start(&file.text, start);
        let prefix = &file.text[line..start];
        let eol = text::line_ending(&file.text);
        let step = self
            .login_steps
            .entry(format!("{prefix}{eol}"))
            .or_insert_with(|| LoginStep::written_after(prefix, eol))
            .clone();
        let Some(LoginStep { text, value }) = step else {
            self.refuse_line(at, "no place for the registry login step");
            return;
        };
        let change = Change::InsertItem {
            sequence,
            index,
            value,
        };
        self.push(at.file, Edit::insert(line, text), change);
    }

    /// Records a script line that cannot hold its new text; planning runs
    /// again with the jobs that use it left alone.
    fn refuse_line(&mut self, at: At, reason: &str) {
        self.planned.refused_lines.insert(at, reason.to_string());
    }

    /// Moves the job's image to BuildKit; returns the mapping whose
    /// `variables:` should carry `BUILDKITD_FLAGS`.
    /// An image site shared by many jobs (an anchor merged into each) is
    /// rewritten once; the later jobs are credited with its edits.
    fn image_edits(&mut self, job: &JobWork) -> Option<At> {
        let name = match job.image.clone()? {
            ImagePlan::InPlace(name) => name,
            ImagePlan::OwnKey => return self.own_image_key(job),
        };
        let entrypoint = job.job.image.as_ref().and_then(|i| i.entrypoint);
        let credited = self
            .planned
            .job_edits
            .entry(job.name().to_string())
            .or_default();
        if let Some(done) = self.images.get(&(name, entrypoint)) {
            credited.extend_from_slice(&done.edits);
            return done.variables;
        }
        let before = credited.len();
        let variables = self.image_in_place(job, name);
        let edits = self.planned.job_edits[job.name()][before..].to_vec();
        self.images
            .insert((name, entrypoint), ImageEdits { edits, variables });
        variables
    }

    fn image_in_place(&mut self, job: &JobWork, name: At) -> Option<At> {
        let file = &self.pipeline.files[name.file];
        let (tree, source) = (&file.tree, file.text.as_str());
        let written = tree.scalar(source, name.node).unwrap_or_default();
        let image = &buildkit_image(self.options, &written);
        let (holder, key) = tree.owner(name.node)?;
        let key_name = tree.key(source, key)?;
        let name_span = tree.node(name.node).span;
        if key_name == "image" {
            let text = format!("{{ name: {image}, entrypoint: [\"\"] }}");
            let value = image_value(image);
            self.push(
                name.file,
                Edit::replace(name_span, text),
                Change::Set {
                    node: name.node,
                    value,
                },
            );
            return Some(variables_owner(
                tree,
                source,
                At {
                    file: name.file,
                    node: holder,
                },
            ));
        }
        self.push(
            name.file,
            Edit::replace(name_span, image.clone()),
            Change::Set {
                node: name.node,
                value: Expected::string(image),
            },
        );
        let empty_entrypoint = Expected::Seq(vec![Expected::string("")]);
        match job.job.image.as_ref().and_then(|i| i.entrypoint) {
            Some(at) if !is_empty_entrypoint(self.pipeline, at) => {
                let span = self.pipeline.files[at.file].tree.node(at.node).span;
                self.push(
                    at.file,
                    Edit::replace(span, "[\"\"]"),
                    Change::Set {
                        node: at.node,
                        value: empty_entrypoint,
                    },
                );
            }
            Some(_) => {}
            None => {
                let edit =
                    insert_entry_after(source, tree, holder, name.node, "entrypoint: [\"\"]");
                self.push(
                    name.file,
                    edit,
                    Change::Insert {
                        mapping: holder,
                        key: "entrypoint".into(),
                        value: empty_entrypoint,
                    },
                );
            }
        }
        let (owner, _) = tree.owner(holder)?;
        Some(variables_owner(
            tree,
            source,
            At {
                file: name.file,
                node: owner,
            },
        ))
    }

    /// `image:` written into the job's own mapping, before its first key.
    fn own_image_key(&mut self, job: &JobWork) -> Option<At> {
        let key = job.job.key;
        let file = &self.pipeline.files[key.file];
        let (tree, source) = (&file.tree, file.text.as_str());
        let mapping = job_mapping(tree, key.node)?;
        let (first_key, _) = tree.pairs(mapping).next()?;
        let start = tree.node(first_key).span.start();
        let indent = indentation(source, start);
        let eol = text::line_ending(source);
        let kaniko_image = job
            .kaniko_image
            .map(|i| i.name.as_str())
            .unwrap_or_default();
        let image = &buildkit_image(self.options, kaniko_image);
        let text = format!(
            "image:{eol}{indent}  name: {image}{eol}{indent}  entrypoint: [\"\"]{eol}{indent}"
        );
        let change = Change::Insert {
            mapping,
            key: "image".into(),
            value: image_value(image),
        };
        self.push(key.file, Edit::insert(start, text), change);
        Some(At {
            file: key.file,
            node: mapping,
        })
    }

    /// Adds `BUILDKITD_FLAGS` to the `variables:` of `mapping`.
    fn daemon_flags(&mut self, mapping: At, removals: &BTreeSet<At>) {
        let file = &self.pipeline.files[mapping.file];
        let (tree, source) = (&file.tree, file.text.as_str());
        let entry = format!("BUILDKITD_FLAGS: {BUILDKITD_FLAGS}");
        let value = Expected::string(BUILDKITD_FLAGS);
        match get(tree, source, mapping.node, "variables") {
            Some((_, variables)) => {
                let variables = tree.deref(variables);
                if get(tree, source, variables, "BUILDKITD_FLAGS").is_some()
                    || !tree.is_mapping(variables)
                {
                    return;
                }
                let replaced = tree.pairs(variables).find(|&(_, v)| {
                    removals.contains(&At {
                        file: mapping.file,
                        node: v,
                    })
                });
                let change = Change::Insert {
                    mapping: variables,
                    key: "BUILDKITD_FLAGS".into(),
                    value,
                };
                if replaced.is_some() {
                    let removal = Change::Remove {
                        mapping: variables,
                        key: "DOCKER_CONFIG".into(),
                    };
                    self.planned
                        .changes
                        .entry(mapping.file)
                        .or_default()
                        .push(removal);
                }
                let edit = match replaced {
                    // DOCKER_CONFIG leaves where BUILDKITD_FLAGS arrives: one edit.
                    Some((key, old)) => Edit::replace(
                        Span::new(tree.node(key).span.start(), tree.node(old).span.end()),
                        entry,
                    ),
                    None if is_flow(tree, variables) => flow_insert(tree, variables, &entry),
                    None => {
                        let Some((last_key, _)) = tree.pairs(variables).last() else {
                            return;
                        };
                        insert_entry_after(source, tree, variables, last_key, &entry)
                    }
                };
                self.push(mapping.file, edit, change);
            }
            // A new `variables:` would hide the ones a `<<` merge brings:
            // those jobs get the flag on their command instead.
            None if has_merge_key(tree, source, mapping.node) => {}
            None => {
                let Some((last_key, last_value)) = tree.pairs(mapping.node).last() else {
                    return;
                };
                let indent = indentation(source, tree.node(last_key).span.start());
                let eol = text::line_ending(source);
                let at = line_end(
                    source,
                    tree.node(last_value)
                        .span
                        .end()
                        .max(tree.node(last_key).span.end()),
                );
                let edit =
                    Edit::insert(at, format!("{eol}{indent}variables:{eol}{indent}  {entry}"));
                let change = Change::Insert {
                    mapping: mapping.node,
                    key: "variables".into(),
                    value: Expected::Map(vec![("BUILDKITD_FLAGS".into(), value)]),
                };
                self.push(mapping.file, edit, change);
            }
        }
    }

    /// Adds the flavour's service to the mapping that holds the job's
    /// image, as a one-line flow entry.
    fn add_service(&mut self, mapping: At, service: &Service) {
        let file = &self.pipeline.files[mapping.file];
        let (tree, source) = (&file.tree, file.text.as_str());
        if get(tree, source, mapping.node, "services").is_some() {
            return;
        }
        let entry = format!("services: [{}]", service.flow_text());
        let edit = if is_flow(tree, mapping.node) {
            flow_insert(tree, mapping.node, &entry)
        } else {
            let Some((last_key, _)) = tree.pairs(mapping.node).last() else {
                return;
            };
            insert_entry_after(source, tree, mapping.node, last_key, &entry)
        };
        let mut fields = vec![
            ("name".to_string(), Expected::string(service.name)),
            ("alias".to_string(), Expected::string(service.alias)),
        ];
        if !service.command.is_empty() {
            let words = service.command.iter().map(|w| Expected::string(w));
            fields.push(("command".into(), Expected::Seq(words.collect())));
        }
        if !service.variables.is_empty() {
            let pairs = service
                .variables
                .iter()
                .map(|(k, v)| (k.to_string(), Expected::string(v)));
            fields.push(("variables".into(), Expected::Map(pairs.collect())));
        }
        let change = Change::Insert {
            mapping: mapping.node,
            key: "services".into(),
            value: Expected::Seq(vec![Expected::Map(fields)]),
        };
        self.push(mapping.file, edit, change);
    }

    /// Removes `DOCKER_CONFIG: /kaniko/.docker`, unless `BUILDKITD_FLAGS`
    /// took its place already.
    fn remove_docker_config(&mut self, value: At, variable_targets: &BTreeSet<At>) {
        let file = &self.pipeline.files[value.file];
        let (tree, source) = (&file.tree, file.text.as_str());
        let Some((variables, key)) = tree.owner(value.node) else {
            return;
        };
        let takes_flags = variable_targets.iter().any(|t| {
            t.file == value.file
                && get(tree, source, t.node, "variables")
                    .is_some_and(|(_, v)| tree.deref(v) == variables)
        });
        if takes_flags && get(tree, source, variables, "BUILDKITD_FLAGS").is_none() {
            return;
        }
        // The last entry takes its `variables:` key with it: an empty one
        // would read as null.
        let (mapping, key, name) = match tree.pairs(variables).count() {
            1 => match tree.owner(variables) {
                Some((owner, owner_key)) => (owner, owner_key, "variables"),
                None => return,
            },
            _ => (variables, key, "DOCKER_CONFIG"),
        };
        let key_start = tree.node(key).span.start();
        if is_flow(tree, mapping) || !text::starts_line(source, key_start) {
            return;
        }
        let span = Span::new(
            line_start(source, key_start),
            next_line(source, tree.node(value.node).span.end()),
        );
        let change = Change::Remove {
            mapping,
            key: name.into(),
        };
        self.push(value.file, Edit::replace(span, ""), change);
    }
}

fn image_value(image: &str) -> Expected {
    Expected::Map(vec![
        ("name".into(), Expected::string(image)),
        (
            "entrypoint".into(),
            Expected::Seq(vec![Expected::string("")]),
        ),
    ])
}

fn is_empty_entrypoint(pipeline: &Pipeline, at: At) -> bool {
    let file = &pipeline.files[at.file];
    let node = file.tree.deref(at.node);
    let mut items = file.tree.items(node);
    match (items.next(), items.next()) {
        (Some(only), None) => file.tree.scalar(&file.text, only).as_deref() == Some(""),
        _ => false,
    }
}

/// The mapping whose `variables:` serve jobs that take `holder`'s image: the
/// holder itself, or the global `variables:` for `default:`.
fn variables_owner(tree: &Tree, text: &str, holder: At) -> At {
    let Some(root) = tree.root() else {
        return holder;
    };
    match tree.owner(holder.node) {
        Some((mapping, key)) if mapping == root && tree.key(text, key) == Some("default") => At {
            file: holder.file,
            node: root,
        },
        _ => holder,
    }
}

/// The job's own block mapping (not an alias, not flow style).
fn job_mapping(tree: &Tree, key: NodeId) -> Option<NodeId> {
    let root = tree.root()?;
    let (_, value) = tree.pairs(root).find(|&(k, _)| k == key)?;
    let is_alias = matches!(tree.node(value).kind(), NodeKind::Alias { .. });
    (!is_alias && tree.is_mapping(value) && !is_flow(tree, value)).then_some(value)
}

/// A new `key: value` line after the entry whose key is `after`, at that
/// entry's indentation (after any comment on its last line).
fn insert_entry_after(
    text: &str,
    tree: &Tree,
    mapping: NodeId,
    after: NodeId,
    entry: &str,
) -> Edit {
    if is_flow(tree, mapping) {
        return flow_insert(tree, mapping, entry);
    }
    let value_end = tree
        .pairs(mapping)
        .find(|&(k, _)| k == after)
        .map_or(tree.node(after).span.end(), |(k, v)| {
            tree.node(v).span.end().max(tree.node(k).span.end())
        });
    let indent = indentation(text, tree.node(after).span.start());
    let eol = text::line_ending(text);
    Edit::insert(line_end(text, value_end), format!("{eol}{indent}{entry}"))
}

/// `, key: value` before the closing brace of a flow mapping.
fn flow_insert(tree: &Tree, mapping: NodeId, entry: &str) -> Edit {
    let close = tree.node(mapping).span.end() - 1;
    let separator = if tree.pairs(mapping).next().is_some() {
        ", "
    } else {
        ""
    };
    Edit::insert(close, format!("{separator}{entry}"))
}

/// The indentation, inside the decoded script, of the line holding `at`.
fn line_indent(decoded: &str, at: usize) -> String {
    let start = decoded[..at].rfind('\n').map_or(0, |p| p + 1);
    decoded[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}
