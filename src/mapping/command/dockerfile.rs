//! Where buildctl finds the Dockerfile, resolved as Kaniko resolved it, and
//! the `LABEL` keys it sets (a `--label` the Dockerfile also sets kept the
//! Dockerfile's value in Kaniko).

use std::path::Path;

use super::collected::Collected;
use super::groups::{Group, Local, Opt};
use super::{CiVariables, Fate, FlagNote, Translation, Workspace};
use crate::kaniko::invocation::Invocation;
use crate::mapping::quote::{self, in_double_quotes};
use crate::mapping::table;

/// With a remote context the Dockerfile is read from it: only its path
/// inside the context is passed. A Dockerfile in the job's own files would
/// need a second source, which this version does not write.
pub(super) fn remote_dockerfile_line(c: &Collected, out: &mut Translation) {
    let Some(flag) = c.dockerfile else { return };
    let Some(path) = in_double_quotes(&flag.raw) else {
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span: flag.span,
            message: "--dockerfile has an unclosed quote".into(),
        });
        return;
    };
    if path.starts_with('/') || path.starts_with('$') || path.contains("://") {
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span: flag.span,
            message: "a Dockerfile outside a remote context: keep it in the repository, or clone the repository in the job and build it as a directory".into(),
        });
        return;
    }
    let path = path.trim_start_matches("./");
    if path != "Dockerfile" {
        out.groups
            .push(Group::Opt(Opt::Filename, format!("\"filename={path}\"")));
    }
}

/// `--local dockerfile=DIR --opt filename=NAME`, resolved as Kaniko resolves
/// the path: absolute as it is; relative, from the working directory
/// (`$CI_PROJECT_DIR`) when the file is there, else from the context.
pub(super) fn dockerfile_lines(
    c: &Collected,
    context: &str,
    workspace: &Workspace,
    out: &mut Translation,
) {
    let (raw, value, span) = match c.dockerfile {
        Some(flag) => (flag.raw.as_str(), flag.value.as_str(), Some(flag.span)),
        None => ("Dockerfile", "Dockerfile", None),
    };
    if value.starts_with("https://") || value.starts_with("http://") {
        match in_double_quotes(raw) {
            Some(url) => downloaded_dockerfile(&url, out),
            None => out.notes.push(FlagNote {
                fate: Fate::Blocked,
                span: span.unwrap_or_default(),
                message: "--dockerfile has an unclosed quote".into(),
            }),
        }
        return;
    }
    if value == "/dev/stdin" {
        stdin_dockerfile(out);
        return;
    }
    let absolute = workspace.ci.is_absolute(value);
    let lone_expansion = value.starts_with('$') && quote::split_path(raw).is_none();
    let (dir, name) = match quote::split_path(raw) {
        Some((dir, name)) if absolute => (dir, name),
        // The name is only known at run time: split it there, looking in
        // the working directory, then in the context, as Kaniko did.
        None if absolute || lone_expansion => match in_double_quotes(raw) {
            Some(path) => (
                runtime_dockerfile_dir(&path, context, absolute, workspace.ci),
                format!("\"$(basename \"{path}\")\""),
            ),
            None => {
                let message = format!("cannot tell the directory of the Dockerfile `{raw}`");
                out.notes.push(FlagNote {
                    fate: Fate::Blocked,
                    span: span.unwrap_or_default(),
                    message,
                });
                return;
            }
        },
        _ => match relative_dockerfile(raw, value, context, workspace) {
            Ok(resolved) => resolved,
            Err(message) => {
                out.notes.push(FlagNote {
                    fate: Fate::Blocked,
                    span: span.unwrap_or_default(),
                    message,
                });
                return;
            }
        },
    };
    out.groups.push(Group::local(Local::Dockerfile, &dir));
    if name != "Dockerfile" {
        out.groups
            .push(Group::Opt(Opt::Filename, format!("filename={name}")));
    }
}

/// The Dockerfile's directory, chosen when the job runs: the path from the
/// working directory when the file is there, else from the context.
fn runtime_dockerfile_dir(path: &str, context: &str, absolute: bool, ci: &CiVariables) -> String {
    let context = in_double_quotes(context).unwrap_or_default();
    if absolute || ci.is_project_dir(&context) {
        return format!("\"$(dirname \"{path}\")\"");
    }
    let in_context = format!("{}/{path}", context.trim_end_matches('/'));
    format!(
        "\"$(if [ -f \"{path}\" ]; then dirname \"{path}\"; else dirname \"{in_context}\"; fi)\""
    )
}

/// `--dockerfile /dev/stdin` (`echo "FROM x" | /kaniko/executor ...`):
/// buildctl wants a directory, so the text read from standard input is
/// written into one first; in the call's subshell `cat` reads the pipe.
fn stdin_dockerfile(out: &mut Translation) {
    let dir = "${TMPDIR:-/tmp}/kaniko2buildkit-stdin";
    out.before
        .push(format!("mkdir -p \"{dir}\" && cat > \"{dir}/Dockerfile\""));
    out.groups.push(Group::Local(
        Local::Dockerfile,
        format!("\"dockerfile={dir}\""),
    ));
}

/// A Dockerfile given by URL: Kaniko fetched it with a plain GET. The job
/// downloads it with busybox `wget` into a directory of its own first.
fn downloaded_dockerfile(url: &str, out: &mut Translation) {
    let dir = "${TMPDIR:-/tmp}/kaniko2buildkit-dockerfile";
    out.before.push(format!(
        "mkdir -p \"{dir}\" && wget -q -O \"{dir}/Dockerfile\" \"{url}\""
    ));
    out.groups.push(Group::Local(
        Local::Dockerfile,
        format!("\"dockerfile={dir}\""),
    ));
}

fn relative_dockerfile(
    raw: &str,
    value: &str,
    context: &str,
    workspace: &Workspace,
) -> Result<(String, String), String> {
    let (dir, name) = match quote::split_path(raw) {
        Some(split) => split,
        None if quote::is_plain(raw) => (".".to_string(), raw.to_string()),
        None => {
            return Err(format!(
                "cannot tell the directory of the Dockerfile `{raw}`"
            ));
        }
    };
    let Some(context_value) = in_double_quotes(context) else {
        return Err(format!("cannot tell where the Dockerfile `{raw}` is"));
    };
    let context_value = context_value.as_str();
    if workspace.ci.is_project_dir(context_value) {
        return Ok((dir, name));
    }
    // Kaniko looks in the working directory first, then in the context.
    // Where neither can be checked now (a name in a variable, a file an
    // earlier line writes), the job makes the same choice when it runs.
    let on_disk = |path: &str| {
        // The checkout is the project root, which is on disk here.
        let relative = workspace.ci.under_project_dir(path).unwrap_or(path);
        let known = !relative.contains(['$', '`']) && !relative.starts_with('/');
        workspace
            .root
            .filter(|_| known)
            .is_some_and(|root| root.join(relative).is_file())
    };
    if on_disk(value) {
        return Ok((dir, name));
    }
    let Some(path) = in_double_quotes(raw) else {
        return Err(format!("cannot tell where the Dockerfile `{raw}` is"));
    };
    let in_context = format!("{}/{path}", context_value.trim_end_matches('/'));
    if !on_disk(&in_context) {
        return Ok((
            runtime_dockerfile_dir(&path, context, false, workspace.ci),
            name,
        ));
    }
    let joined = if dir == "." {
        context_value.to_string()
    } else {
        let Some(dir) = in_double_quotes(&dir) else {
            return Err(format!("cannot tell where the Dockerfile `{raw}` is"));
        };
        format!("{context_value}/{dir}")
    };
    let joined = joined.trim_end_matches('/').to_string();
    let quoted = if quote::is_plain(&joined) {
        joined
    } else {
        format!("\"{joined}\"")
    };
    Ok((quoted, name))
}

/// The keys of the `LABEL` instructions of the call's Dockerfile, when it
/// can be found and read now: a plain relative path, looked up as Kaniko
/// did (the working directory, then the context), a regular file inside
/// the project root, at most 1 MiB. `None` otherwise.
pub(super) fn dockerfile_labels(call: &Invocation, root: Option<&Path>) -> Option<Vec<String>> {
    let root = root?;
    let value_of = |name: &str| {
        call.flags
            .iter()
            .rev()
            .find(|f| table::canonical(f.spec).name == name)
            .map(|f| f.value.as_str())
    };
    let dockerfile = value_of("dockerfile").unwrap_or("Dockerfile");
    let context = value_of("context").unwrap_or(".");
    let plain =
        |text: &str| !text.contains(['$', '`']) && !text.starts_with('/') && !text.contains("://");
    if !plain(dockerfile) || !plain(context.trim_start_matches("dir://")) {
        return None;
    }
    let candidates = [
        root.join(dockerfile),
        root.join(context.trim_start_matches("dir://"))
            .join(dockerfile),
    ];
    let path = candidates.iter().find(|p| p.is_file())?;
    let root = root.canonicalize().ok()?;
    let (_, text) = crate::gitlab::read_inside(&root, path, 1 << 20).ok()?;
    Some(label_keys(&text))
}

/// The keys set by `LABEL` instructions (`LABEL a=1 "b c"=2`, and the old
/// `LABEL key value` form), continuation lines joined.
fn label_keys(dockerfile: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut keys = Vec::new();
    for line in joined.lines() {
        let line = line.trim_start();
        let Some(rest) = line
            .get(..6)
            .filter(|word| word.eq_ignore_ascii_case("label "))
            .map(|_| &line[6..])
        else {
            continue;
        };
        let words = shlex_words(rest);
        if words.len() >= 2 && !words[0].contains('=') {
            keys.push(words[0].clone());
            continue;
        }
        keys.extend(
            words
                .iter()
                .filter_map(|w| w.split_once('=').map(|(k, _)| k.to_string())),
        );
    }
    keys
}

/// Words split on blanks with `"..."` and `'...'` quotes removed, as a
/// Dockerfile's `LABEL` reads them.
fn shlex_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for ch in text.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(ch);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_are_read_as_docker_reads_them() {
        let dockerfile =
            "FROM x\nLABEL a=1 \"b c\"=2 \\\n  d='x y'\nlabel old value here\nRUN echo LABEL z=1\n";
        assert_eq!(label_keys(dockerfile), ["a", "b c", "d", "old"]);
    }
}
