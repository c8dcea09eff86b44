//! What each job really runs: `extends`, `!reference`, `default:`, the
//! legacy top-level keywords, `inherit:` and variables, resolved as GitLab
//! resolves them, with every script line and image kept at its definition site.

use hashbrown::HashMap;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::rc::Rc;

use super::Pipeline;
use super::names::{Definition, Names};
use super::value::{At, Converter, Value};
use crate::finding::Finding;
use crate::rules::{Rule, Severity};

/// Top-level keys that are not jobs.
const RESERVED: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "types",
    "spec",
];

/// The job keys this tool reads; everything else is left unresolved.
const JOB_KEYS: &[&str] = &[
    "extends",
    "image",
    "services",
    "script",
    "before_script",
    "after_script",
    "variables",
    "inherit",
];

/// Keys a job takes from `default:` unless it sets them or opts out.
const DEFAULT_KEYS: &[&str] = &["image", "services", "before_script", "after_script"];

/// The global keywords each job reads: `default:`, `variables:`, and the
/// legacy top-level forms of the [`DEFAULT_KEYS`].
const GLOBAL_KEYS: [&str; 6] = [
    "default",
    "variables",
    "image",
    "services",
    "before_script",
    "after_script",
];

/// How deep `extends` chains are followed. GitLab stops at 11 levels; this
/// only keeps hostile input from exhausting the stack.
const MAX_EXTENDS_DEPTH: usize = 64;

/// GitLab's nesting limit for `!reference`.
const MAX_REFERENCE_DEPTH: usize = 10;
/// Values one expansion may produce: references of references multiply
/// (six levels of ten references each are a million script lines).
const MAX_EXPANDED: usize = 200_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    BeforeScript,
    Script,
    AfterScript,
}

impl Section {
    pub fn key(self) -> &'static str {
        match self {
            Section::BeforeScript => "before_script",
            Section::Script => "script",
            Section::AfterScript => "after_script",
        }
    }
}

/// One script line (a scalar) and the section it runs in.
#[derive(Clone, Debug)]
pub struct ScriptLine {
    pub section: Section,
    pub at: At,
}

/// The image a job runs in.
#[derive(Clone, Debug)]
pub struct Image {
    /// The name with the pipeline's variables expanded where they are known.
    pub name: String,
    /// The scalar that holds the name.
    pub at: At,
    /// The `entrypoint:` value, when the image is a mapping that has one.
    pub entrypoint: Option<At>,
}

#[derive(Debug)]
pub struct Job {
    pub name: String,
    /// A `.name` template: never run by itself.
    pub hidden: bool,
    /// The job's key in the last file that defines it.
    pub key: At,
    pub image: Option<Image>,
    pub scripts: Vec<ScriptLine>,
    /// A script section was too deeply nested to read in full: `scripts`
    /// misses lines, which may call the executor where no rewrite sees them.
    pub opaque_script: bool,
    /// Effective variables, job over global: name and value scalar.
    pub variables: Vec<(String, At)>,
    /// The effective `services:` value, from the job, a template or `default:`.
    pub services: Option<At>,
}

/// Resolves the jobs named in `names` that the pipeline defines, in name
/// order, handing each to `each` as soon as it is resolved: the checks
/// after a rewrite look at the migrated jobs only, one at a time.
pub fn resolve_named(pipeline: &Pipeline, names: &BTreeSet<String>, mut each: impl FnMut(Job)) {
    let definitions = Names::new(pipeline);
    let mut resolver = Resolver::new(pipeline, &definitions);
    for name in names.iter().map(String::as_str) {
        if RESERVED.contains(&name) || !resolver.defines_mapping(name) {
            continue;
        }
        if let Some(job) = resolver.job(name) {
            each(job);
        }
    }
}

/// Resolves every job, in name order, handing each to `each` as soon as it
/// is resolved, and returns what went wrong resolving them. `check` analyses
/// a job and drops it: holding every resolved job of a 200,000-job file
/// took more memory than its text and tree together.
pub fn resolve_each(pipeline: &Pipeline, mut each: impl FnMut(Job)) -> Vec<Finding> {
    let definitions = Names::in_name_order(pipeline);
    let names = definitions.indices();
    let mut resolver = Resolver::new(pipeline, &definitions);
    resolver.resolve_all(names, &mut each);
    sorted_findings(resolver.findings)
}

/// Job definitions from which [`resolve_in_parts`] resolves on two threads:
/// below it, a second thread costs more than the half of the work it takes.
const JOBS_FOR_TWO_THREADS: usize = 256;

/// Resolves every job as [`resolve_each`] does, but a large pipeline's jobs
/// in two runs of names, the first on this thread and the second on
/// another, each with its own resolver (and its own templates resolved) and
/// its own state from `start` (the names are sorted once, and shared). The
/// states come back in the runs' order: joined in that order, they hold
/// what one run in name order would have.
///
/// Resolving and detecting every job is a third of planning a migration,
/// and a core stays idle meanwhile; each job's resolution reads only the
/// pipeline, so the runs share nothing.
pub fn resolve_in_parts<S: Send>(
    pipeline: &Pipeline,
    start: impl Fn() -> S + Sync,
    each: impl Fn(&mut S, Job) + Sync,
) -> (Vec<S>, Vec<Finding>) {
    let two = |jobs: usize| jobs >= JOBS_FOR_TWO_THREADS && crate::parallel::default_threads() > 1;
    resolve_split(
        pipeline,
        |jobs| if two(jobs) { jobs / 2 } else { jobs },
        start,
        each,
    )
}

/// [`resolve_in_parts`], with the second run starting at the name that
/// `split` gives for the number of names.
fn resolve_split<S: Send>(
    pipeline: &Pipeline,
    split: impl Fn(usize) -> usize,
    start: impl Fn() -> S + Sync,
    each: impl Fn(&mut S, Job) + Sync,
) -> (Vec<S>, Vec<Finding>) {
    let definitions = &Names::in_name_order(pipeline);
    let names = definitions.indices();
    let mut resolver = Resolver::new(pipeline, definitions);
    let middle = split(names.len()) as u32;
    let (first, second) = (0..middle, middle..names.end);
    let mut state = start();
    let run = |resolver: &mut Resolver, names: std::ops::Range<u32>, state: &mut S| {
        resolver.resolve_all(names, &mut |job| each(state, job));
    };
    let (mut states, mut findings) = std::thread::scope(|scope| {
        let helper = (!second.is_empty()).then(|| {
            crate::parallel::spawn_scoped(scope, || {
                let mut resolver = Resolver::new(pipeline, definitions);
                let mut state = start();
                run(&mut resolver, second, &mut state);
                (state, resolver.findings)
            })
        });
        run(&mut resolver, first, &mut state);
        let mut states = vec![state];
        let mut findings = std::mem::take(&mut resolver.findings);
        if let Some(helper) = helper {
            let (state, more) = helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            states.push(state);
            findings.extend(more);
        }
        (states, findings)
    });
    states.shrink_to_fit();
    findings = sorted_findings(findings);
    (states, findings)
}

/// A resolution's findings in order, each place and rule once: two jobs
/// that extend one broken template meet the same problem.
fn sorted_findings(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by_key(|f| (f.file, f.span, f.rule));
    findings.dedup_by_key(|f| (f.file, f.span, f.rule));
    findings
}

/// A global keyword's value, shared by every job, and whether it holds a
/// `!reference`; `None` when the pipeline does not set it.
type Global = Option<(Rc<Value>, bool)>;

struct Resolver<'p, 'n> {
    pipeline: &'p Pipeline,
    converter: Converter<'p>,
    /// Top-level keys in merge order (included files first), by name:
    /// borrowed, since both runs of [`resolve_split`] read the one sorted
    /// table (sorting it twice cost 3% of `diff` at 5 MB).
    definitions: &'n Names<'p>,
    /// The [`GLOBAL_KEYS`] every job reads, by position, converted on first
    /// use, and whether they hold a `!reference` (only then does each job
    /// expand its own copy). A job asks for them six times: hashing the
    /// names cost more than resolving a small job.
    globals: [Option<Global>; GLOBAL_KEYS.len()],
    /// Templates with `extends` applied, by name. Jobs are not kept.
    extended: HashMap<&'p str, Value>,
    /// The names whose `extends` are being resolved, innermost last: a
    /// name met again is a cycle. At most [`MAX_EXTENDS_DEPTH`] deep.
    resolving: Vec<&'p str>,
    /// How many `extends` levels are being resolved right now.
    extends_depth: usize,
    /// Expanded `!reference`s by path and depth, with their sizes.
    references: HashMap<(Vec<String>, usize), (Value, usize)>,
    /// Values the current expansion may still produce.
    expansion_budget: usize,
    findings: Vec<Finding>,
}

impl<'p, 'n> Resolver<'p, 'n> {
    /// Resolves the jobs among `names` (indices of `definitions`, in
    /// name order), handing each to `each`.
    fn resolve_all(&mut self, names: std::ops::Range<u32>, each: &mut impl FnMut(Job)) {
        for index in names {
            let name = self.definitions.name_at(index);
            if RESERVED.contains(&name) || !self.defines_mapping(name) {
                continue;
            }
            if let Some(job) = self.job(name) {
                each(job);
            }
        }
    }

    fn new(pipeline: &'p Pipeline, definitions: &'n Names<'p>) -> Self {
        Resolver {
            pipeline,
            converter: Converter::new(pipeline),
            definitions,
            globals: Default::default(),
            extended: HashMap::new(),
            resolving: Vec::new(),
            extends_depth: 0,
            references: HashMap::new(),
            expansion_budget: MAX_EXPANDED,
            findings: Vec::new(),
        }
    }

    fn defines_mapping(&self, name: &str) -> bool {
        let Some(definitions) = self.definitions.get(name) else {
            return false;
        };
        definitions.iter().any(|d| {
            let value = d.value();
            let tree = &self.pipeline.files[value.file].tree;
            tree.is_mapping(tree.deref(value.node))
        })
    }

    /// A top-level key's own value, merged over every file that defines it.
    fn own(&mut self, name: &str, keep: Option<&dyn Fn(&str) -> bool>) -> Option<Value> {
        let definitions = self.definitions.get(name)?;
        let ats: Vec<At> = definitions.iter().map(Definition::value).collect();
        ats.into_iter()
            .map(|at| self.converter.convert(at, keep))
            .reduce(Value::merge)
    }

    /// A global keyword's own value, converted on first use: `default:`
    /// keeps only the keys jobs inherit from it.
    fn global(&mut self, name: &'static str) -> Global {
        let slot = GLOBAL_KEYS.iter().position(|&key| key == name);
        if let Some(value) = slot.and_then(|slot| self.globals[slot].as_ref()) {
            return value.clone();
        }
        let value = if name == "default" {
            self.own(name, Some(&|key: &str| DEFAULT_KEYS.contains(&key)))
        } else {
            self.own(name, None)
        };
        let value = value.map(|value| {
            let references = holds_reference(&value);
            (Rc::new(value), references)
        });
        if let Some(slot) = slot {
            self.globals[slot] = Some(value.clone());
        }
        value
    }

    /// A global keyword's value with its `!reference`s expanded for `job`.
    /// Without any, expanding would copy it unchanged: every job shares it.
    fn global_expanded(&mut self, name: &'static str, job: &str) -> Option<Rc<Value>> {
        let (value, references) = self.global(name)?;
        if !references {
            return Some(value);
        }
        Some(Rc::new(self.expand(Value::clone(&value), job, 0)))
    }

    /// A job or template with `extends` applied (not yet `!reference`).
    fn extended(&mut self, name: &str) -> Option<Value> {
        if let Some(value) = self.extended.get(name) {
            return Some(value.clone());
        }
        let key = self.definitions.name(name)?;
        if self.resolving.contains(&key) {
            return None;
        }
        self.resolving.push(key);
        let value = self.extend(name);
        self.resolving.pop();
        // Only templates are usually extended again: keeping every job's
        // resolved value would hold the whole pipeline twice. A job that
        // is extended later is simply resolved again.
        if let Some(value) = value.as_ref().filter(|_| name.starts_with('.')) {
            self.extended.insert(key, value.clone());
        }
        value
    }

    /// [`Self::extended`] for a name not resolved yet.
    fn extend(&mut self, name: &str) -> Option<Value> {
        let keep = |key: &str| JOB_KEYS.contains(&key);
        let own = self.own(name, Some(&keep))?;
        let mut result: Option<Value> = None;
        for (parent, at) in extends_targets(self.pipeline, &own) {
            self.extends_depth += 1;
            let value = self.parent(name, &parent, at);
            self.extends_depth -= 1;
            let Some(value) = value else {
                continue;
            };
            result = Some(match result {
                Some(base) => Value::merge(base, value),
                None => value,
            });
        }
        let own = without_key(own, "extends");
        Some(match result {
            Some(base) => Value::merge(base, own),
            None => own,
        })
    }

    /// Resolves one `extends` target of `child`, reporting a missing one or a cycle.
    fn parent(&mut self, child: &str, parent: &str, at: At) -> Option<Value> {
        if self.extends_depth > MAX_EXTENDS_DEPTH {
            let finding = Finding::new(
                Rule::YamlDepth,
                at.file,
                self.span(at),
                format!("the `extends` chain through `{child}` is more than {MAX_EXTENDS_DEPTH} levels deep"),
            )
            .label("not followed further")
            .help("GitLab allows 11 levels of `extends`")
            .jobs(vec![child.to_string()]);
            self.findings.push(finding);
            return None;
        }
        if !self.definitions.contains(parent) {
            let finding = Finding::new(
                Rule::ExtendsNotFound,
                at.file,
                self.span(at),
                format!("job `{child}` extends `{parent}`, which is not defined"),
            )
            .label("no such job or template")
            .jobs(vec![child.to_string()]);
            self.findings
                .push(self.soften(finding, "it may come from an include that is not followed"));
            return None;
        }
        if self.resolving.contains(&parent) {
            let finding = Finding::new(
                Rule::ExtendsCycle,
                at.file,
                self.span(at),
                format!("job `{child}` extends `{parent}`, which extends `{child}` again"),
            )
            .label("cycle")
            .help("GitLab rejects cyclic `extends`; remove one link")
            .jobs(vec![child.to_string()]);
            self.findings.push(finding);
            return None;
        }
        self.extended(parent)
    }

    /// Makes a finding informational when unfollowed includes may explain it.
    fn soften(&self, finding: Finding, reason: &str) -> Finding {
        if self.pipeline.has_unfollowed_includes {
            finding.severity(Severity::Info).help(reason.to_string())
        } else {
            finding
        }
    }

    fn span(&self, at: At) -> crate::span::Span {
        self.pipeline.files[at.file].tree.node(at.node).span
    }

    /// Replaces every `!reference` inside `value`, up to GitLab's depth,
    /// producing at most [`MAX_EXPANDED`] values.
    /// Only values that references bring in count: the value itself is
    /// already bounded by its conversion.
    fn expand(&mut self, value: Value, job: &str, depth: usize) -> Value {
        let saved = std::mem::replace(&mut self.expansion_budget, MAX_EXPANDED);
        let value = self.expand_within(value, job, depth);
        self.expansion_budget = saved;
        value
    }

    /// A reference's target expanded with a budget of its own, and the number
    /// of values it holds. A target that would exceed the bound is
    /// [`Value::TooComplex`] as a whole, reported once rather than item by item.
    fn expand_counted(&mut self, value: Value, job: &str, depth: usize) -> (Value, usize) {
        let at = value.at();
        let saved = std::mem::replace(&mut self.expansion_budget, MAX_EXPANDED);
        let value = self.expand_within(value, job, depth);
        let remaining = std::mem::replace(&mut self.expansion_budget, saved);
        if remaining == 0 {
            (Value::TooComplex(at), 1)
        } else {
            (value, MAX_EXPANDED - remaining)
        }
    }

    fn expand_within(&mut self, value: Value, job: &str, depth: usize) -> Value {
        if depth > 0 {
            if self.expansion_budget == 0 {
                return Value::TooComplex(value.at());
            }
            self.expansion_budget -= 1;
        }
        match value {
            Value::Reference(at, path) if depth < MAX_REFERENCE_DEPTH => {
                let (target, size) = self.reference(at, path, job, depth);
                if size > self.expansion_budget {
                    self.expansion_budget = 0;
                    let finding = Finding::new(
                        Rule::YamlDepth,
                        at.file,
                        self.span(at),
                        format!("`!reference` expands to more than {MAX_EXPANDED} values"),
                    )
                    .label("not expanded")
                    .help("references of references multiply; GitLab would build the same list")
                    .jobs(vec![job.to_string()]);
                    self.findings.push(finding);
                    return Value::TooComplex(at);
                }
                self.expansion_budget -= size;
                target
            }
            Value::Reference(at, _) => {
                let finding = Finding::new(
                    Rule::YamlDepth,
                    at.file,
                    self.span(at),
                    "`!reference` nested more than 10 levels",
                )
                .label("too deep")
                .jobs(vec![job.to_string()]);
                self.findings.push(finding);
                Value::Sequence(at, Vec::new())
            }
            Value::Sequence(at, items) => Value::Sequence(
                at,
                items
                    .into_iter()
                    .map(|item| self.expand_within(item, job, depth))
                    .collect(),
            ),
            Value::Mapping(at, entries) => Value::Mapping(
                at,
                entries
                    .into_iter()
                    .map(|(key, value)| (key, self.expand_within(value, job, depth)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// The expanded value a `!reference` at `depth` stands for, and how many
    /// values it holds. Each (path, depth) is expanded once per pipeline:
    /// ten references to a list of ten references cost twenty expansions,
    /// not a hundred.
    fn reference(&mut self, at: At, path: Vec<String>, job: &str, depth: usize) -> (Value, usize) {
        let key = (path, depth);
        if let Some((value, size)) = self.references.get(&key) {
            return (value.clone(), *size);
        }
        let expanded = match self.lookup(&key.0) {
            Some(target) => self.expand_counted(target, job, depth + 1),
            None => {
                let finding = Finding::new(
                    Rule::ReferenceNotFound,
                    at.file,
                    self.span(at),
                    format!("`!reference [{}]` names nothing", key.0.join(", ")),
                )
                .label("not defined")
                .jobs(vec![job.to_string()]);
                self.findings
                    .push(self.soften(finding, "it may come from an include that is not followed"));
                (Value::Sequence(at, Vec::new()), 0)
            }
        };
        self.references.insert(key, expanded.clone());
        expanded
    }

    /// The value at `[name, key, ...]`: a job's (with `extends`) or another
    /// top-level key's.
    fn lookup(&mut self, path: &[String]) -> Option<Value> {
        let (name, keys) = path.split_first()?;
        let mut value = if self.defines_mapping_key(name) && !RESERVED.contains(&name.as_str()) {
            self.extended_full(name)?
        } else {
            self.own(name, None)?
        };
        for key in keys {
            value = value.get(key)?.clone();
        }
        Some(value)
    }

    fn defines_mapping_key(&self, name: &str) -> bool {
        self.definitions.contains(name) && self.defines_mapping(name)
    }

    /// Like [`Self::extended`], but over every key: a `!reference` may name
    /// keys this tool does not otherwise read.
    fn extended_full(&mut self, name: &str) -> Option<Value> {
        let own = self.own(name, None)?;
        let mut base: Option<Value> = None;
        for (parent, _) in extends_targets(self.pipeline, &own) {
            if parent == name || !self.definitions.contains(parent.as_str()) {
                continue;
            }
            if let Some(value) = self.extended(&parent) {
                base = Some(match base {
                    Some(b) => Value::merge(b, value),
                    None => value,
                });
            }
        }
        let own = without_key(own, "extends");
        Some(match base {
            Some(base) => Value::merge(base, own),
            None => own,
        })
    }

    fn job(&mut self, name: &str) -> Option<Job> {
        let extended = self.extended(name)?;
        let hidden = name.starts_with('.');
        // Without a `!reference`, expanding would rebuild it unchanged.
        let mut value = if holds_reference(&extended) {
            self.expand(extended, name, 0)
        } else {
            extended
        };
        if !hidden {
            value = self.apply_defaults(value, name);
        }
        let key = self.definitions.get(name)?.last().key();
        let variables = self.variables(&value, name);
        let image = value
            .get("image")
            .and_then(|image| self.image(image, &variables));
        let mut scripts = Vec::new();
        let mut opaque_script = false;
        for section in [Section::BeforeScript, Section::Script, Section::AfterScript] {
            if let Some(lines) = value.get(section.key()) {
                opaque_script |= !self.flatten_script(lines, section, name, &mut scripts);
            }
        }
        let services = value.get("services").map(Value::at);
        Some(Job {
            name: name.to_string(),
            hidden,
            key,
            image,
            scripts,
            opaque_script,
            variables,
            services,
        })
    }

    /// Fills `image`, `before_script` and `after_script` from `default:` or
    /// the legacy top-level keywords, honouring `inherit: default:`.
    fn apply_defaults(&mut self, mut job: Value, name: &str) -> Value {
        let inherit = job.get("inherit").and_then(|i| i.get("default")).cloned();
        let default = self.global_expanded("default", name);
        for key in DEFAULT_KEYS {
            if job.get(key).is_some() || !self.inherits(inherit.as_ref(), key) {
                continue;
            }
            let from_default = default.as_ref().and_then(|d| d.get(key)).cloned();
            let inherited = match from_default {
                Some(value) => Some(value),
                None => self.global_expanded(key, name).map(Rc::unwrap_or_clone),
            };
            if let (Some(value), Value::Mapping(_, entries)) = (inherited, &mut job) {
                entries.push((key.to_string(), value));
            }
        }
        job
    }

    /// `inherit: default:` is `true`, `false`, or a list of keys to inherit.
    fn inherits(&self, inherit: Option<&Value>, key: &str) -> bool {
        match inherit {
            None => true,
            Some(Value::Scalar(at)) => self.scalar(*at).as_deref() != Some("false"),
            Some(Value::Sequence(_, items)) => items
                .iter()
                .any(|item| matches!(item, Value::Scalar(at) if self.scalar(*at).as_deref() == Some(key))),
            Some(_) => true,
        }
    }

    fn scalar(&self, at: At) -> Option<Cow<'p, str>> {
        let source = &self.pipeline.files[at.file];
        source.tree.scalar(&source.text, source.tree.deref(at.node))
    }

    /// Job variables over global ones, honouring `inherit: variables:`.
    fn variables(&mut self, job: &Value, name: &str) -> Vec<(String, At)> {
        let inherit = job.get("inherit").and_then(|i| i.get("variables")).cloned();
        let global = self.global_expanded("variables", name);
        let mut variables: Vec<(String, At)> = Vec::new();
        let global_entries = global.as_deref().map(Value::entries).unwrap_or_default();
        for (key, value) in global_entries {
            if let Some(at) = variable_value(value)
                && self.inherits(inherit.as_ref(), key)
            {
                variables.push((key.clone(), at));
            }
        }
        for (key, value) in job.get("variables").map(Value::entries).unwrap_or_default() {
            if let Some(at) = variable_value(value) {
                variables.retain(|(k, _)| k != key);
                variables.push((key.clone(), at));
            }
        }
        variables
    }

    fn image(&self, image: &Value, variables: &[(String, At)]) -> Option<Image> {
        let at = match image {
            Value::Mapping(..) => image.get("name")?.at(),
            Value::Scalar(at) => *at,
            _ => return None,
        };
        let written = self.scalar(at)?;
        if written.is_empty() || written == "~" || written == "null" {
            return None;
        }
        let name = expand_variables(&written, &|var| {
            variables
                .iter()
                .rev()
                .find(|(k, _)| k == var)
                .and_then(|(_, at)| self.scalar(*at))
        });
        let entrypoint = image.get("entrypoint").map(Value::at);
        Some(Image {
            name,
            at,
            entrypoint,
        })
    }

    /// Script items in run order; nested lists (from anchors and
    /// `!reference`) are flattened as GitLab flattens them. False when a
    /// part was too deeply nested to read.
    fn flatten_script(
        &mut self,
        value: &Value,
        section: Section,
        job: &str,
        out: &mut Vec<ScriptLine>,
    ) -> bool {
        match value {
            Value::Scalar(at) => {
                let source = &self.pipeline.files[at.file];
                if !source
                    .tree
                    .is_null(&source.text, source.tree.deref(at.node))
                {
                    out.push(ScriptLine { section, at: *at });
                }
                true
            }
            Value::Sequence(_, items) => {
                let mut read = true;
                for item in items {
                    read &= self.flatten_script(item, section, job, out);
                }
                read
            }
            Value::TooComplex(at) => {
                let finding = Finding::new(
                    Rule::YamlDepth,
                    at.file,
                    self.span(*at),
                    format!(
                        "the {} of job `{job}` is too deeply nested to analyse",
                        section.key()
                    ),
                )
                .label("aliases or nesting too deep")
                .jobs(vec![job.to_string()]);
                self.findings.push(finding);
                false
            }
            Value::Mapping(..) | Value::Reference(..) => true,
        }
    }
}

/// The names in `extends:` (a string or a list) and where each is written.
fn extends_targets(pipeline: &Pipeline, job: &Value) -> Vec<(String, At)> {
    let scalar = |at: At| {
        let source = &pipeline.files[at.file];
        source
            .tree
            .scalar(&source.text, source.tree.deref(at.node))
            .map(Cow::into_owned)
    };
    match job.get("extends") {
        Some(Value::Scalar(at)) => scalar(*at).map(|name| (name, *at)).into_iter().collect(),
        Some(Value::Sequence(_, items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::Scalar(at) => scalar(*at).map(|name| (name, *at)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a `!reference` appears anywhere in `value`.
fn holds_reference(value: &Value) -> bool {
    match value {
        Value::Reference(..) => true,
        Value::Sequence(_, items) => items.iter().any(holds_reference),
        Value::Mapping(_, entries) => entries.iter().any(|(_, v)| holds_reference(v)),
        Value::Scalar(_) | Value::TooComplex(_) => false,
    }
}

fn without_key(value: Value, key: &str) -> Value {
    match value {
        Value::Mapping(at, entries) => {
            Value::Mapping(at, entries.into_iter().filter(|(k, _)| k != key).collect())
        }
        other => other,
    }
}

/// A variable's value scalar: `NAME: value` or `NAME: {value: ..., description: ...}`.
fn variable_value(value: &Value) -> Option<At> {
    match value {
        Value::Scalar(at) => Some(*at),
        Value::Mapping(..) => match value.get("value") {
            Some(Value::Scalar(at)) => Some(*at),
            _ => None,
        },
        _ => None,
    }
}

/// Expands `$NAME` and `${NAME}` where `lookup` knows the name, repeatedly
/// (a variable may name another), leaving unknown ones as written.
pub fn expand_variables<'v>(text: &str, lookup: &dyn Fn(&str) -> Option<Cow<'v, str>>) -> String {
    let mut current = text.to_string();
    // Most image names name no variable: nothing to look up.
    if !current.contains('$') {
        return current;
    }
    for _ in 0..10 {
        let next = expand_once(&current, lookup);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

fn expand_once<'v>(text: &str, lookup: &dyn Fn(&str) -> Option<Cow<'v, str>>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, consumed) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(close) => (&inner[..close], close + 2),
                None => ("", 0),
            },
            None => {
                let len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..len], len)
            }
        };
        match lookup(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[dollar..dollar + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_expand_in_both_forms_and_chain() {
        let vars = [("A", "x/$B"), ("B", "kaniko")];
        let lookup = |name: &str| {
            let value = vars.iter().find(|(k, _)| *k == name);
            value.map(|(_, v)| Cow::Borrowed(*v))
        };
        assert_eq!(
            expand_variables("${A}:1 $A $C", &lookup),
            "x/kaniko:1 x/kaniko $C"
        );
    }

    #[test]
    fn two_runs_resolve_what_one_run_does() {
        let mut text = String::from(".base:\n  image: alpine\n  script: [make]\n");
        for i in 0..300 {
            let extends = match i % 3 {
                0 => ".base",
                1 => ".missing",
                _ => ".base-2",
            };
            text += &format!("job-{i}:\n  extends: {extends}\n  variables: {{N: \"{i}\"}}\n");
        }
        text += ".base-2:\n  extends: .base\n  image: busybox\n";
        let pipeline = Pipeline::load(
            std::path::Path::new("."),
            crate::gitlab::Input::Stdin {
                text,
                name: ".gitlab-ci.yml".into(),
            },
        );
        let summary = |job: Job| format!("{} {:?} {:?}", job.name, job.image, job.variables);
        let mut one = Vec::new();
        let one_findings = resolve_each(&pipeline, |job| one.push(summary(job)));
        for split in [0, 1, 150, 302] {
            let (parts, findings) = resolve_split(
                &pipeline,
                |n| split.min(n),
                Vec::new,
                |seen, job| {
                    seen.push(summary(job));
                },
            );
            assert_eq!(parts.concat(), one, "split at {split}");
            let messages = |f: &[Finding]| f.iter().map(|f| f.message.clone()).collect::<Vec<_>>();
            assert_eq!(
                messages(&findings),
                messages(&one_findings),
                "split at {split}"
            );
            assert!(!one_findings.is_empty());
        }
    }
}
