//! One diagnostic per root cause, for what `diff` and `fix` print.
//!
//! The plan reports, per job, every reason the job stays on Kaniko. A
//! template with one unmappable flag and five jobs that extend it would read
//! as six copies of one problem; a job blocked by its own flag would also
//! say it "shares a definition" with a blocked job; and a flag held in a
//! variable would be reported both as "write it in the call" and as "no
//! such flag". Here the reasons are grouped by the text they point at, the
//! consequences of a reported cause are dropped, and each group gets a help
//! line that says what to do about that cause.
//!
//! The migration's own findings stay per job (audit counts them, JSON fixes
//! list them); only what people read is grouped.

use hashbrown::{HashMap, HashSet};

use crate::finding::Finding;
use crate::gitlab::FileId;
use crate::kaniko::invocation::Program;
use crate::rules::Rule;
use crate::span::Span;

/// The most job names a message lists before "and N more".
const MAX_NAMED_JOBS: usize = 5;

/// What the plan says when a job stays only because another job does.
const SHARED: &str = "it shares a definition with job `";

/// The findings with every `migrate/not-migrated` reason reported once,
/// naming the jobs it keeps, in file order.
pub fn by_root_cause(findings: &[Finding]) -> Vec<Finding> {
    let blocked: Vec<Blocked> = findings.iter().filter_map(Blocked::read).collect();
    // Each job's reasons, and each group's place in `groups`: looked up,
    // not scanned, since a file may keep thousands of jobs.
    let mut reasons: HashMap<&str, Vec<&str>> = HashMap::new();
    for item in &blocked {
        reasons.entry(&item.job).or_default().push(&item.reason);
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<(FileId, &str, Option<Span>), usize> = HashMap::new();
    for item in blocked
        .iter()
        .filter(|b| !is_consequence(b, &reasons[b.job.as_str()]))
    {
        let shared = item.reason.starts_with(SHARED);
        let key = (
            item.finding.file,
            item.reason.as_str(),
            (!shared).then_some(item.finding.span),
        );
        match index.get(&key) {
            Some(&at) => {
                let group = &mut groups[at];
                if group.named.insert(item.job.clone()) {
                    group.jobs.push(item.job.clone());
                }
                if shared && group.placed.insert(item.finding.span) {
                    group.spans.push(item.finding.span);
                }
            }
            None => {
                index.insert(key, groups.len());
                groups.push(Group {
                    file: item.finding.file,
                    span: item.finding.span,
                    spans: vec![item.finding.span],
                    placed: HashSet::from([item.finding.span]),
                    reason: item.reason.clone(),
                    jobs: vec![item.job.clone()],
                    named: HashSet::from([item.job.clone()]),
                    first: item.finding,
                });
            }
        }
    }
    let mut out: Vec<Finding> = findings
        .iter()
        .filter(|f| f.rule != Rule::NotMigrated || Blocked::read(f).is_none())
        .cloned()
        .collect();
    out.extend(groups.iter().map(Group::finding));
    out.sort_by_key(|f| (f.file, f.span.start(), f.rule));
    out
}

/// One job's reason to stay, read back from its finding.
struct Blocked<'f> {
    finding: &'f Finding,
    job: String,
    reason: String,
}

impl<'f> Blocked<'f> {
    /// `job `NAME` is not migrated: REASON`.
    fn read(finding: &'f Finding) -> Option<Blocked<'f>> {
        if finding.rule != Rule::NotMigrated {
            return None;
        }
        let rest = finding.message.strip_prefix("job `")?;
        let (job, reason) = rest.split_once("` is not migrated: ")?;
        Some(Blocked {
            finding,
            job: job.to_string(),
            reason: reason.to_string(),
        })
    }
}

/// A reason that only follows from another reason of the same job: "shares
/// a definition" beside a cause of its own, and "no --X" beside "--X (held
/// in a variable) must be written in the call".
fn is_consequence(item: &Blocked, reasons_of_job: &[&str]) -> bool {
    let others = || reasons_of_job.iter().filter(|other| **other != item.reason);
    if item.reason.starts_with(SHARED) {
        return others().any(|other| !other.starts_with(SHARED));
    }
    match missing_flag(&item.reason) {
        Some(flag) => others().any(|other| other.starts_with(&format!("{flag} "))),
        None => false,
    }
}

/// `--context` of "no --context: ...".
fn missing_flag(reason: &str) -> Option<&str> {
    let rest = reason.strip_prefix("no ")?;
    let end = rest.find([':', ' '])?;
    Some(&rest[..end]).filter(|flag| flag.starts_with("--"))
}

/// Jobs that stay for one reason written at one place.
struct Group<'f> {
    file: crate::gitlab::FileId,
    span: Span,
    /// Every place the reason is reported at (the keys of the jobs that
    /// share a definition), the first one primary.
    spans: Vec<Span>,
    placed: HashSet<Span>,
    reason: String,
    jobs: Vec<String>,
    named: HashSet<String>,
    first: &'f Finding,
}

impl Group<'_> {
    fn finding(&self) -> Finding {
        let message = format!("{} not migrated: {}", job_list(&self.jobs), self.reason);
        let mut finding = Finding::new(Rule::NotMigrated, self.file, self.span, message)
            .label(self.first.label.clone())
            .help(help(&self.reason))
            .jobs(self.jobs.clone());
        finding.severity = self.first.severity;
        for span in &self.spans[1..] {
            finding = finding.with_label(*span, "also kept as it is");
        }
        finding
    }
}

/// "job `a` is" or "jobs `a`, `b` and 4 more are".
fn job_list(jobs: &[String]) -> String {
    let named: Vec<String> = jobs
        .iter()
        .take(MAX_NAMED_JOBS)
        .map(|job| format!("`{job}`"))
        .collect();
    match jobs.len() {
        1 => format!("job {} is", named[0]),
        n if n <= MAX_NAMED_JOBS => {
            let (last, first) = named.split_last().expect("two or more");
            format!("{} jobs {} and {last} are", n, first.join(", "))
        }
        n => format!(
            "{n} jobs {} and {} more are",
            named.join(", "),
            n - MAX_NAMED_JOBS
        ),
    }
}

/// What to do about one reason: the next step for that cause, never a
/// generic "fix it by hand".
fn help(reason: &str) -> String {
    let flag = first_flag(reason);
    let explain = |flag: &str| format!("`kaniko2buildkit explain {flag}`");
    if reason.ends_with("(applied only with --unsafe)") {
        let what = flag.map_or(String::new(), |f| {
            format!("; {} says what changes", explain(f))
        });
        return format!("rerun with --unsafe to drop it (`kaniko2buildkit fix --unsafe`){what}");
    }
    if let Some(other) = reason.strip_prefix(SHARED) {
        let other = other.split('`').next().unwrap_or_default();
        if reason.ends_with("kept on Kaniko on purpose") {
            return format!(
                "give these jobs their own copy of what they share with `{other}`, or lift \
                 `{other}`'s ignore comment, then rerun"
            );
        }
        return format!(
            "deal with job `{other}`'s own diagnostic first; these jobs then migrate with it, \
             or give them their own copy of what they share"
        );
    }
    if let Some(word) = reason
        .strip_prefix('`')
        .and_then(|rest| rest.strip_suffix("` is not a Kaniko flag"))
    {
        return match closest_flag(word) {
            Some(close) => format!(
                "did you mean `--{close}`? Kaniko itself would stop with `unknown flag: {word}`; correct it and rerun"
            ),
            None => {
                format!("Kaniko itself would stop with `unknown flag: {word}`; remove it and rerun")
            }
        };
    }
    if reason.contains("combines with the call's other flags") {
        let flag = flag.unwrap_or("the flag");
        return format!("move {flag} from the variable into the executor call itself, then rerun");
    }
    if let Some(flag) = missing_flag(reason) {
        return format!(
            "add {flag} to the executor call (e.g. `{flag} $CI_PROJECT_DIR`), then rerun"
        );
    }
    if reason.contains("has no BuildKit counterpart") {
        return match flag {
            Some(flag) => format!(
                "make the change the message describes and remove {flag}, then rerun; {} has the details",
                explain(flag)
            ),
            None => "remove the step, then rerun".to_string(),
        };
    }
    if reason.contains("configures Kaniko; BuildKit would ignore it") {
        return "remove the setting (BuildKit reads none of Kaniko's), or carry its effect over as \
                `kaniko2buildkit explain kaniko/job` describes, then rerun"
            .to_string();
    }
    if reason.contains("is not migrated by this version") {
        return "replace the Kaniko path by hand (`kaniko2buildkit explain kaniko/path`), then rerun"
            .to_string();
    }
    if reason.contains("may hold flags that cannot be seen here") {
        return "define the variable in this pipeline's `variables:` so its flags can be mapped, \
                or write them in the call"
            .to_string();
    }
    match flag {
        Some(flag) => format!(
            "change the job by hand as the message says ({} has the BuildKit side), then rerun",
            explain(flag)
        ),
        None => "change the job by hand as the message says, then rerun; the rest of the file is migrated"
            .to_string(),
    }
}

/// The first `--flag` a reason names that is an executor or warmer flag
/// (a `docker run` option such as `--env-file` has no `explain` page).
fn first_flag(reason: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(found) = reason[from..].find("--") {
        let start = from + found;
        let rest = &reason[start..];
        let end = rest[2..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .map_or(rest.len(), |at| at + 2);
        let flag = &rest[..end];
        let known = [Program::Executor, Program::Warmer]
            .iter()
            .any(|program| crate::mapping::table::by_name(program.flags(), &flag[2..]).is_some());
        if flag.len() > 2 && known {
            return Some(flag);
        }
        from = start + end.max(2);
    }
    None
}

/// The executor flag nearest to a misspelt one.
fn closest_flag(written: &str) -> Option<&'static str> {
    let name = written.trim_start_matches('-');
    let name = name.split('=').next().unwrap_or(name);
    crate::suggest::closest(name, Program::Executor.flags().iter().map(|flag| flag.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(job: &str, span: Span, reason: &str) -> Finding {
        Finding::new(
            Rule::NotMigrated,
            0,
            span,
            format!("job `{job}` is not migrated: {reason}"),
        )
        .label("kept as it is")
        .jobs(vec![job.to_string()])
    }

    #[test]
    fn one_finding_per_cause_naming_the_jobs() {
        let flag = Span::new(40, 55);
        let reason = "--cache-ttl dropped: no expiry (applied only with --unsafe)";
        let findings: Vec<Finding> = [".kaniko", "a", "b", "c", "d", "e"]
            .iter()
            .map(|job| blocked(job, flag, reason))
            .collect();
        let grouped = by_root_cause(&findings);
        assert_eq!(grouped.len(), 1);
        assert_eq!(
            grouped[0].message,
            format!("6 jobs `.kaniko`, `a`, `b`, `c`, `d` and 1 more are not migrated: {reason}")
        );
        assert_eq!(grouped[0].jobs.len(), 6);
        assert!(
            grouped[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("rerun with --unsafe")
        );
    }

    #[test]
    fn consequences_of_a_reported_cause_are_dropped() {
        let findings = vec![
            blocked(
                "a",
                Span::new(0, 1),
                "--context combines with the call's other flags into one buildctl option: write it in the call itself",
            ),
            blocked(
                "a",
                Span::new(5, 6),
                "no --context: Kaniko used /workspace/, which BuildKit images do not have",
            ),
            blocked(
                "a",
                Span::new(7, 8),
                "it shares a definition with job `b`, which cannot be migrated",
            ),
            blocked(
                "c",
                Span::new(9, 10),
                "it shares a definition with job `b`, which cannot be migrated",
            ),
            blocked(
                "d",
                Span::new(11, 12),
                "it shares a definition with job `b`, which cannot be migrated",
            ),
        ];
        let grouped = by_root_cause(&findings);
        let messages: Vec<&str> = grouped.iter().map(|f| f.message.as_ref()).collect();
        assert_eq!(grouped.len(), 2, "{messages:#?}");
        assert!(messages[0].starts_with("job `a` is not migrated: --context combines"));
        assert!(messages[1].starts_with("2 jobs `c` and `d` are not migrated: it shares"));
        assert_eq!(grouped[1].labels.len(), 1);
        assert!(
            grouped[0]
                .help
                .as_deref()
                .unwrap()
                .contains("move --context")
        );
    }

    #[test]
    fn help_lines_are_specific() {
        let help_for = |reason: &str| help(reason);
        assert_eq!(
            help_for("`--destinaton` is not a Kaniko flag"),
            "did you mean `--destination`? Kaniko itself would stop with `unknown flag: --destinaton`; correct it and rerun"
        );
        assert!(
            help_for("--single-snapshot has no BuildKit counterpart: squash")
                .contains("explain --single-snapshot")
        );
        assert!(help_for("no --context: Kaniko used /workspace/").starts_with("add --context"));
        for reason in [
            "--cache-ttl dropped (applied only with --unsafe)",
            "`/kaniko/warmer` has no BuildKit counterpart: remove the warming step",
            "the variable `KANIKO_DIR` configures Kaniko; BuildKit would ignore it",
            "`$ARGS` may hold flags that cannot be seen here",
            "something new",
        ] {
            assert!(!help_for(reason).contains("wait for a version"), "{reason}");
        }
    }
}
