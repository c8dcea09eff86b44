//! Where the build context comes from: a directory, a `git://` repository
//! (with `--git` options and credentials), an HTTPS or `tar://` archive.

use super::collected::Collected;
use super::groups::{Group, Opt};
use super::{CiVariables, Fate, FlagNote, Translation, is_true};
use crate::kaniko::invocation::{FlagUse, Invocation};
use crate::mapping::quote::in_double_quotes;

/// Where the build context comes from.
pub(super) enum Context {
    /// A directory in the job, as shell text for `--local context=`.
    Local(String),
    /// A git or HTTPS URL the daemon fetches, as text for double quotes.
    Remote(String),
}

/// `--context`: a directory (plain or `dir://`), a `git://` repository, an
/// HTTPS tarball, or a `tar://` archive unpacked first. Cloud buckets and
/// standard input have no BuildKit counterpart.
pub(super) fn context_source(
    call: &Invocation,
    c: &Collected,
    ci: &CiVariables,
    out: &mut Translation,
) -> Option<Context> {
    let Some(flag) = c.context else {
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span: call.span,
            message: "no --context: Kaniko used /workspace/, which BuildKit images do not have"
                .into(),
        });
        return None;
    };
    let blocked = |out: &mut Translation, message: String| {
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span: flag.span,
            message,
        });
        None
    };
    let Some(text) = in_double_quotes(&flag.raw) else {
        return blocked(out, "--context has an unclosed quote".into());
    };
    let sub_path = c.context_sub_path.and_then(|f| in_double_quotes(&f.raw));
    match text.split_once("://") {
        None | Some(("dir", _)) if crate::kaniko::image_path(text.trim_start_matches("dir://"), true) => blocked(
            out,
            format!(
                "the context `{text}` is a directory of the Kaniko image, which the BuildKit image does not have: \
                 build from a directory under {} or ${{TMPDIR:-/tmp}}",
                ci.project_dir.first().unwrap_or(&"the checkout")
            ),
        ),
        None | Some(("dir", _)) => Some(Context::Local(plain_directory(flag, c, out))),
        Some(("git", rest)) => git_context(rest, sub_path.as_deref(), c, out),
        Some(("https", rest)) if is_azure_blob(rest) => blocked(
            out,
            "an Azure Blob Storage context has no BuildKit counterpart: download and unpack the archive in an \
             earlier step (or job, passed on as an artifact) and build that directory"
                .into(),
        ),
        Some(("https", _)) => {
            if let Some(sub) = &sub_path {
                out.groups.push(Group::Opt(
                    Opt::ContextSubdir,
                    format!("\"contextsubdir={sub}\""),
                ));
            }
            out.notes.push(FlagNote {
                fate: Fate::Note,
                span: flag.span,
                message: "an HTTPS context is fetched by the BuildKit daemon, which reads the Dockerfile from the archive's root".into(),
            });
            Some(Context::Remote(text))
        }
        Some(("tar", "stdin")) => blocked(
            out,
            "a context read from standard input (`tar://stdin`) has no buildctl counterpart: write the archive to a file and use `tar://FILE`".into(),
        ),
        Some(("tar", archive)) => {
            let directory = "${TMPDIR:-/tmp}/kaniko2buildkit-context";
            out.before.push(format!(
                "mkdir -p \"{directory}\" && tar -xzf \"{archive}\" -C \"{directory}\""
            ));
            let directory = match &sub_path {
                Some(sub) => format!("{directory}/{sub}"),
                None => directory.to_string(),
            };
            Some(Context::Local(format!("\"{directory}\"")))
        }
        Some((scheme @ ("gs" | "s3"), _)) => blocked(
            out,
            format!(
                "a bucket context (`{scheme}://`) has no BuildKit counterpart: download the archive in an earlier \
                 step (or job, passed on as an artifact), unpack it, and build that directory"
            ),
        ),
        Some((scheme, _)) => blocked(out, format!("Kaniko does not know `{scheme}://` contexts")),
    }
}

/// The Azure Blob Storage hosts Kaniko recognised in an `https://` context.
fn is_azure_blob(rest: &str) -> bool {
    let host = rest.split('/').next().unwrap_or_default();
    [
        ".blob.core.windows.net",
        ".blob.core.chinacloudapi.cn",
        ".blob.core.cloudapi.de",
        ".blob.core.usgovcloudapi.net",
    ]
    .iter()
    .any(|suffix| host.ends_with(suffix))
}

/// A directory context as written; `--context-sub-path` is joined on only
/// for `dir://`, since Kaniko ignores it for a plain path.
fn plain_directory(flag: &FlagUse, c: &Collected, out: &mut Translation) -> String {
    let directory = flag.raw.replacen("dir://", "", 1);
    match c.context_sub_path {
        Some(sub) if flag.value.starts_with("dir://") => match in_double_quotes(&directory) {
            Some(base) => format!(
                "\"{}/{}\"",
                base.trim_end_matches('/'),
                in_double_quotes(&sub.raw).unwrap_or_default()
            ),
            None => directory,
        },
        Some(sub) => {
            out.notes.push(FlagNote {
                fate: Fate::Dropped,
                span: sub.span,
                message:
                    "--context-sub-path dropped: Kaniko ignores it for a plain directory context"
                        .into(),
            });
            directory
        }
        None => directory,
    }
}

/// `git://HOST/PATH[#REF[#COMMIT]]`: Kaniko cloned it over HTTPS. BuildKit
/// takes an `https://` URL ending in `.git` (else it downloads the page)
/// with the ref, sub-directory and submodule choice as query parameters
/// (BuildKit v0.24 and later).
fn git_context(
    rest: &str,
    sub_path: Option<&str>,
    c: &Collected,
    out: &mut Translation,
) -> Option<Context> {
    let mut parts = rest.split('#');
    let repository = parts.next().unwrap_or_default();
    let (reference, commit) = (parts.next(), parts.next());
    let mut branch = None;
    let mut submodules = false;
    for flag in &c.git {
        if let Some(message) = git_option_problem(&flag.value) {
            out.notes.push(FlagNote {
                fate: Fate::Blocked,
                span: flag.span,
                message,
            });
            continue;
        }
        let (key, value) = flag.value.split_once('=').unwrap_or_default();
        match key {
            "branch" => branch = Some(value.to_string()),
            "recurse-submodules" => submodules = is_true(value),
            "single-branch" | "depth" => out.notes.push(FlagNote {
                fate: Fate::Dropped,
                span: flag.span,
                message: format!("--git {key} dropped: BuildKit fetches only the ref it builds"),
            }),
            "insecure-skip-tls" if is_true(value) => out.notes.push(FlagNote {
                fate: Fate::Blocked,
                span: flag.span,
                message: "--git insecure-skip-tls=true: BuildKit's git source always checks TLS"
                    .into(),
            }),
            "insecure-skip-tls" => {}
            other => out.notes.push(FlagNote {
                fate: Fate::Blocked,
                span: flag.span,
                message: format!("--git {other}: Kaniko does not know this option"),
            }),
        }
    }
    let mut url = format!("https://{repository}");
    if !repository.ends_with(".git") {
        url.push_str(".git");
    }
    let mut query = Vec::new();
    if let Some(reference) = commit.or(reference).or(branch.as_deref()) {
        query.push(format!("ref={reference}"));
    }
    if let Some(sub) = sub_path {
        query.push(format!("subdir={}", sub.trim_matches('/')));
    }
    if !submodules {
        query.push("submodules=false".into());
    }
    url.push('?');
    url.push_str(&query.join("&"));
    let host = repository.split('/').next().unwrap_or_default();
    out.secret_before.push(git_credentials_step(host));
    out.groups.push(Group::Passed(format!("${GIT_SECRET}")));
    Some(Context::Remote(url))
}

/// Why Kaniko would not have read a `--git` value as the job meant. Its
/// setter takes one `key=value` per flag, split at the first `=`: with no
/// `=` Kaniko stopped, a comma-separated list became one branch name
/// (which no repository has), and the boolean keys take Go's `ParseBool`.
fn git_option_problem(value: &str) -> Option<String> {
    let Some((key, rest)) = value.split_once('=') else {
        return Some(format!(
            "Kaniko refuses `--git {value}`: it takes `key=value`"
        ));
    };
    if key == "branch" && rest.contains(',') && rest.contains('=') {
        return Some(format!(
            "Kaniko reads one option per `--git`: `--git {value}` asks for the branch `{rest}`, which the clone \
             cannot find; write each option as a `--git` flag of its own (`--git {}`) and migrate again",
            value.replace(',', " --git ")
        ));
    }
    let boolean = matches!(
        key,
        "single-branch" | "recurse-submodules" | "insecure-skip-tls"
    );
    if boolean && !crate::kaniko::invocation::is_parse_bool(rest) {
        return Some(format!(
            "Kaniko refuses `--git {value}`: `{key}` takes 1, t, T, TRUE, true, True, 0, f, F, FALSE, false or False"
        ));
    }
    None
}

/// The shell variable that holds the `--secret` option for git credentials,
/// empty when the job has none.
const GIT_SECRET: &str = "KANIKO2BUILDKIT_GIT_SECRET";

/// Kaniko cloned with `GIT_TOKEN` as the user name, else `GIT_USERNAME` and
/// `GIT_PASSWORD`, when the job had them. BuildKit takes the same basic
/// credentials as the `GIT_AUTH_HEADER.HOST` secret; a public repository
/// gets no secret at all.
fn git_credentials_step(host: &str) -> String {
    format!(
        "{GIT_SECRET}= && \
         if [ -n \"${{GIT_TOKEN:-}}\" ]; then GIT_AUTH_HEADER=\"basic $(printf '%s:' \"$GIT_TOKEN\" | base64 | tr -d '\\n')\"; \
         elif [ -n \"${{GIT_USERNAME:-}}\" ]; then GIT_AUTH_HEADER=\"basic $(printf '%s:%s' \"$GIT_USERNAME\" \"${{GIT_PASSWORD:-}}\" | base64 | tr -d '\\n')\"; fi && \
         if [ -n \"${{GIT_AUTH_HEADER:-}}\" ]; then export GIT_AUTH_HEADER; {GIT_SECRET}=\"--secret id=GIT_AUTH_HEADER.{host},env=GIT_AUTH_HEADER\"; fi"
    )
}

/// `--git` only matters for a `git://` context.
pub(super) fn git_options(c: &Collected, out: &mut Translation) {
    let is_git = c.context.is_some_and(|f| f.value.starts_with("git://"));
    if is_git {
        return;
    }
    for flag in &c.git {
        out.notes.push(FlagNote {
            fate: Fate::Dropped,
            span: flag.span,
            message: "--git dropped: Kaniko reads it only for a git:// context".into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The credentials step gives BuildKit what Kaniko sent: the token as
    /// the user name, else user and password; nothing without either.
    #[test]
    fn git_credentials_step_builds_the_auth_header() {
        let run = |env: &[(&str, &str)]| {
            let script = format!(
                "{} && printf '%s|%s' \"${GIT_SECRET}\" \"${{GIT_AUTH_HEADER:-}}\"",
                git_credentials_step("gitlab.example.com")
            );
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .env_remove("GIT_TOKEN")
                .env_remove("GIT_USERNAME")
                .env_remove("GIT_PASSWORD")
                .envs(env.iter().copied())
                .output()
                .unwrap();
            String::from_utf8(output.stdout).unwrap()
        };
        let secret = "--secret id=GIT_AUTH_HEADER.gitlab.example.com,env=GIT_AUTH_HEADER";
        // base64("tok:") and base64("me:pw")
        assert_eq!(
            run(&[("GIT_TOKEN", "tok")]),
            format!("{secret}|basic dG9rOg==")
        );
        assert_eq!(
            run(&[("GIT_USERNAME", "me"), ("GIT_PASSWORD", "pw")]),
            format!("{secret}|basic bWU6cHc=")
        );
        assert_eq!(run(&[]), "|");
    }
}
