//! `docker run … <Kaniko image> <executor flags>`: Kaniko started by hand
//! from a shell that has a Docker daemon (a GitHub runner, a GitLab
//! `docker:dind` job). CI-neutral: it reads shell words, so every front-end
//! that finds a `docker run` line reuses it.
//!
//! What it gives: the image word, the executor's arguments (for
//! [`super::invocation::parse`]), the bind mounts (so that a path Kaniko saw
//! inside the container, `/workspace/Dockerfile`, maps back to the host path
//! a build on the host needs), the environment (`-e DOCKER_CONFIG=…`) and
//! the options the reading does not know, which a rewrite must not drop.

use std::ops::Range;

use super::shell::Word;

/// A `-v HOST:CONTAINER[:OPTIONS]` bind mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The host path after quote removal (`$VAR`, `${{ … }}` kept as text).
    pub host: String,
    /// The host path's shell text as written, re-quoted when the colon split
    /// a quoted word, so that it can stand in a new command.
    pub host_raw: String,
    pub container: String,
    pub read_only: bool,
    /// The mount's word (the value after `-v`), in the script.
    pub range: Range<usize>,
}

/// A `-e NAME=value` (or `-e NAME`, which passes the host's value on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    /// `None` for `-e NAME`.
    pub value: Option<String>,
    pub range: Range<usize>,
}

/// One `docker run` command that starts a container.
#[derive(Clone, Debug)]
pub struct DockerRun {
    /// The program, as written: `docker`, `podman`, with `sudo` before it
    /// when the command runs under sudo.
    pub program: String,
    /// Index of the image word in the command's words.
    pub image: usize,
    pub mounts: Vec<Mount>,
    pub env: Vec<EnvVar>,
    /// `--entrypoint VALUE`.
    pub entrypoint: Option<(String, Range<usize>)>,
    /// `-w`/`--workdir`.
    pub workdir: Option<(String, Range<usize>)>,
    /// Options that change what runs, which a rewrite has no counterpart
    /// for (`--env-file`, `--mount`, `--volumes-from`, an option this
    /// reading does not know): the option as written and its range.
    pub unhandled: Vec<(String, Range<usize>)>,
}

/// `docker run` options that take a value (in the next word or after `=`)
/// and only concern how the container is run and end with it: nothing a
/// build on the host needs.
const HARMLESS_VALUED: &[&str] = &[
    "--name",
    "--network",
    "--net",
    "--pull",
    "--platform",
    "--security-opt",
    "--cap-add",
    "--cap-drop",
    "-m",
    "--memory",
    "--memory-swap",
    "--cpus",
    "--cpu-shares",
    "-c",
    "-h",
    "--hostname",
    "--log-driver",
    "--log-opt",
    "--shm-size",
    "--ulimit",
    "--userns",
    "-u",
    "--user",
    "--add-host",
    "--dns",
    "--dns-search",
    "--dns-option",
    "--tmpfs",
    "-l",
    "--label",
    "--stop-signal",
    "--stop-timeout",
    "--ipc",
    "--pid",
    "--uts",
    "--cgroupns",
    "--cgroup-parent",
    "--gpus",
    "--restart",
    "--runtime",
    "--group-add",
    "--sysctl",
    "-a",
    "--attach",
    "--annotation",
    "--blkio-weight",
    "--cpu-period",
    "--cpu-quota",
    "--cpuset-cpus",
    "--cpuset-mems",
    "--domainname",
    "--mac-address",
];

/// `docker run` options that take a value and change what the container
/// sees: read here (mounts, environment, entrypoint, working directory) or
/// kept aside as having no counterpart.
const OTHER_VALUED: &[&str] = &[
    "-v",
    "--volume",
    "-e",
    "--env",
    "--env-file",
    "--entrypoint",
    "-w",
    "--workdir",
    "--mount",
    "-p",
    "--publish",
    "--label-file",
    "--device",
    "--cidfile",
    "--volumes-from",
    "--network-alias",
    "--storage-opt",
    "--expose",
    "--health-cmd",
    "--ip",
    "--ip6",
    "--isolation",
    "--link",
];

/// `docker run` flags (no value) that only concern how the container runs.
const HARMLESS_FLAGS: &[&str] = &[
    "--rm",
    "-i",
    "-t",
    "-d",
    "--interactive",
    "--tty",
    "--init",
    "-q",
    "--quiet",
    "--privileged",
    "--read-only",
    "--detach",
];

fn takes_value(name: &str) -> bool {
    HARMLESS_VALUED.contains(&name) || OTHER_VALUED.contains(&name)
}

fn is_harmless(name: &str) -> bool {
    HARMLESS_VALUED.contains(&name) || HARMLESS_FLAGS.contains(&name)
}

/// Reads `words` as `docker run [OPTIONS] IMAGE [ARG...]` (or `docker
/// container run`). `script` is the text the words' ranges point into.
/// `None` when the command is not a `docker run` with an image.
pub fn read(script: &str, words: &[Word]) -> Option<DockerRun> {
    let sudo = usize::from(words.first().is_some_and(|w| w.value == "sudo"));
    let start = match &words[sudo..] {
        [docker, run, ..] if is_docker(&docker.value) && run.value == "run" => sudo + 2,
        [docker, container, run, ..]
            if is_docker(&docker.value) && container.value == "container" && run.value == "run" =>
        {
            sudo + 3
        }
        _ => return None,
    };
    let program = words[..=sudo]
        .iter()
        .map(|w| w.value.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut found = DockerRun {
        program,
        image: 0,
        mounts: Vec::new(),
        env: Vec::new(),
        entrypoint: None,
        workdir: None,
        unhandled: Vec::new(),
    };
    let mut index = start;
    while index < words.len() {
        let word = &words[index];
        let text = word.value.as_str();
        if !text.starts_with('-') || text == "-" {
            found.image = index;
            return Some(found);
        }
        if text == "--" {
            index += 1;
            continue;
        }
        let (name, inline) = match text.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (text, None),
        };
        // Short options glued together (`-it`, `-v/a:/b`, `-eX=1`).
        let (name, inline) = if !name.starts_with("--") && name.len() > 2 && inline.is_none() {
            let short = &name[..2];
            if takes_value(short) {
                (short, Some(&text[2..]))
            } else if name[1..].chars().all(|c| "itdq".contains(c)) {
                index += 1;
                continue;
            } else {
                (name, None)
            }
        } else {
            (name, inline)
        };
        let valued = takes_value(name);
        let (value, value_range, raw) = match (valued, inline) {
            (false, _) => (None, word.range.clone(), None),
            (true, Some(value)) => {
                let written = &script[word.range.clone()];
                let offset = word.range.start
                    + match written.find('=') {
                        Some(at) if name.starts_with("--") => at + 1,
                        _ => 2.min(written.len()),
                    };
                (
                    Some(value.to_string()),
                    offset..word.range.end,
                    Some(script[offset..word.range.end].to_string()),
                )
            }
            (true, None) => {
                index += 1;
                let next = words.get(index)?;
                (
                    Some(next.value.clone()),
                    next.range.clone(),
                    Some(script[next.range.clone()].to_string()),
                )
            }
        };
        index += 1;
        let whole = word.range.start..value_range.end.max(word.range.end);
        match (name, value) {
            ("-v" | "--volume", Some(value)) => match mount(&value, raw.as_deref(), value_range) {
                Some(mount) => found.mounts.push(mount),
                // A named volume: its content is not on the host.
                None => found.unhandled.push((format!("{name} {value}"), whole)),
            },
            ("-e" | "--env", Some(value)) => {
                let (var, value) = match value.split_once('=') {
                    Some((var, value)) => (var.to_string(), Some(value.to_string())),
                    None => (value.clone(), None),
                };
                found.env.push(EnvVar {
                    name: var,
                    value,
                    range: value_range,
                });
            }
            ("--entrypoint", Some(value)) => found.entrypoint = Some((value, whole)),
            ("-w" | "--workdir", Some(value)) => found.workdir = Some((value, whole)),
            (name, value) if is_harmless(name) => {
                let _ = value;
            }
            (name, value) => {
                let shown = match value {
                    Some(value) => format!("{name} {value}"),
                    None => name.to_string(),
                };
                found.unhandled.push((shown, whole));
            }
        }
    }
    None
}

/// `docker`, `podman`, or either by its path (`/usr/bin/docker`).
fn is_docker(word: &str) -> bool {
    matches!(word.rsplit('/').next(), Some("docker" | "podman"))
}

/// Splits `HOST:CONTAINER[:ro]`. The host part may hold `${{ … }}`,
/// `${…}` or `$(…)` with colons of their own: only a colon outside them
/// splits. `None` for a named volume (no `/`, `.`, `~` or `$` at the start).
fn mount(value: &str, raw: Option<&str>, range: Range<usize>) -> Option<Mount> {
    let parts = split_top_level(value);
    let (host, container, options) = match parts.as_slice() {
        [host, container] => (*host, *container, ""),
        [host, container, options] => (*host, *container, *options),
        _ => return None,
    };
    if !host.starts_with(['/', '.', '~', '$']) || !container.starts_with('/') {
        return None;
    }
    Some(Mount {
        host: host.to_string(),
        host_raw: raw
            .and_then(|raw| host_text(raw, host))
            .unwrap_or_else(|| format!("\"{host}\"")),
        container: container.trim_end_matches('/').to_string(),
        read_only: options.split(',').any(|o| o == "ro"),
        range,
    })
}

/// The host part of a mount's shell text, as written, with its quoting
/// closed where the colon fell inside quotes: `"$DIR:/workspace"` gives
/// `"$DIR"`, `'$A':/b` gives `'$A'`. `None` when the text read back is not
/// `host` (an escape this reading does not follow).
fn host_text(raw: &str, host: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut at = None;
    for (i, &b) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, b) {
            (Some(b'\''), b'\'') => quote = None,
            (Some(b'\''), b':') => {
                at = Some(i);
                break;
            }
            (Some(b'\''), _) => {}
            (_, b'\\') => escaped = true,
            (Some(b'"'), b'"') if depth == 0 => quote = None,
            (None, b'\'' | b'"') if depth == 0 => quote = Some(b),
            (_, b'{' | b'(') if i > 0 && (bytes[i - 1] == b'$' || depth > 0) => depth += 1,
            (_, b'}' | b')') if depth > 0 => depth -= 1,
            (_, b':') if depth == 0 => {
                at = Some(i);
                break;
            }
            _ => {}
        }
    }
    let mut text = raw[..at?].to_string();
    if let Some(open) = quote {
        text.push(char::from(open));
    }
    let words = super::shell::commands(&text);
    let read_back = match words.as_slice() {
        [command] if command.words.len() == 1 && command.assignments.is_empty() => {
            command.words[0].value.as_str()
        }
        _ => return None,
    };
    (read_back == host).then_some(text)
}

/// Splits at colons that are outside `${…}`, `$(…)` and quotes.
fn split_top_level(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') if depth == 0 => quote = Some(b),
            (None, b'{' | b'(') if i > 0 && (bytes[i - 1] == b'$' || depth > 0) => depth += 1,
            (None, b'}' | b')') if depth > 0 => depth -= 1,
            (None, b':') if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The mount among `mounts` that holds `container_path` deepest, and the
/// rest of the path below it (empty, or starting with `/`).
pub fn deepest<'a>(mounts: &'a [Mount], container_path: &str) -> Option<(&'a Mount, String)> {
    let path = container_path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    let mount = mounts
        .iter()
        .filter(|m| path == m.container || path.starts_with(&format!("{}/", m.container)))
        .max_by_key(|m| m.container.len())?;
    Some((mount, path[mount.container.len()..].to_string()))
}

impl DockerRun {
    /// `-e DOCKER_CONFIG=…`, the directory Kaniko read credentials from.
    pub fn docker_config_env(&self) -> Option<&EnvVar> {
        self.env.iter().find(|e| e.name == "DOCKER_CONFIG")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kaniko::shell;

    /// A container path's host path, value and shell text.
    fn host_path(run: &DockerRun, path: &str) -> Option<(String, String)> {
        deepest(&run.mounts, path).map(|(mount, rest)| {
            (
                format!("{}{rest}", mount.host),
                format!("{}{rest}", mount.host_raw),
            )
        })
    }

    fn read_line(script: &str) -> (DockerRun, Vec<Word>) {
        let command = shell::commands(script).remove(0);
        (read(script, &command.words).unwrap(), command.words)
    }

    #[test]
    fn mounts_env_and_image_are_read() {
        let script = r#"docker run --rm -v "${{ github.workspace }}":/workspace -v "${RUNNER_TEMP}/kaniko":/kaniko/.docker -e DOCKER_CONFIG=/kaniko/.docker gcr.io/kaniko-project/executor:latest --dockerfile /workspace/Dockerfile"#;
        let (run, words) = read_line(script);
        assert_eq!(
            words[run.image].value,
            "gcr.io/kaniko-project/executor:latest"
        );
        assert_eq!(run.mounts.len(), 2);
        assert_eq!(run.mounts[0].host, "${{ github.workspace }}");
        assert_eq!(run.mounts[0].host_raw, "\"${{ github.workspace }}\"");
        assert_eq!(
            host_path(&run, "/workspace/Dockerfile").unwrap().1,
            "\"${{ github.workspace }}\"/Dockerfile"
        );
        assert_eq!(host_path(&run, "/kaniko/executor"), None);
        assert_eq!(run.mounts[1].host, "${RUNNER_TEMP}/kaniko");
        assert_eq!(
            run.docker_config_env().unwrap().value.as_deref(),
            Some("/kaniko/.docker")
        );
        assert!(run.unhandled.is_empty());
    }

    /// Regression: a colon inside the quotes (`"$DIR:/workspace"`) split
    /// the host's shell text there, quote left open.
    #[test]
    fn a_quoted_mount_gives_the_hosts_own_text() {
        let cases = [
            (
                r#"docker run -v "$DIR:/workspace" img"#,
                "$DIR",
                r#""$DIR""#,
            ),
            (
                r#"docker run -v "$DIR:/workspace:ro" img"#,
                "$DIR",
                r#""$DIR""#,
            ),
            (r#"docker run -v '$DIR:/workspace' img"#, "$DIR", "'$DIR'"),
            (
                r#"docker run --volume="${A:-/x}:/workspace" img"#,
                "${A:-/x}",
                r#""${A:-/x}""#,
            ),
            (
                r#"docker run -v "$(pwd)":/workspace img"#,
                "$(pwd)",
                r#""$(pwd)""#,
            ),
            (
                "docker run -v $PWD/app:/workspace img",
                "$PWD/app",
                "$PWD/app",
            ),
            (
                r#"docker run -v "$A"/b:/workspace img"#,
                "$A/b",
                r#""$A"/b"#,
            ),
        ];
        for (script, host, written) in cases {
            let (run, _) = read_line(script);
            assert_eq!(run.mounts[0].host, host, "{script}");
            assert_eq!(run.mounts[0].container, "/workspace", "{script}");
            assert_eq!(
                host_path(&run, "/workspace/Dockerfile"),
                Some((
                    format!("{host}/Dockerfile"),
                    format!("{written}/Dockerfile")
                )),
                "{script}"
            );
        }
    }

    #[test]
    fn options_with_values_are_not_taken_for_the_image() {
        let (run, words) = read_line(
            "/usr/local/bin/docker run --cpu-period 100 --attach stdout gcr.io/kaniko-project/executor --no-push",
        );
        assert_eq!(words[run.image].value, "gcr.io/kaniko-project/executor");
        assert_eq!(run.program, "/usr/local/bin/docker");
        let (run, words) = read_line("docker container run -it --entrypoint= img a");
        assert_eq!(words[run.image].value, "img");
        let command = shell::commands("docker run --rm").remove(0);
        assert!(read("docker run --rm", &command.words).is_none());
    }

    #[test]
    fn read_only_mounts_and_substitutions() {
        let (run, words) = read_line(
            "docker run -it -v $(pwd)/helloworld:/workspace:ro gcr.io/kaniko-project/executor:v1.8.0 --no-push",
        );
        assert_eq!(
            words[run.image].value,
            "gcr.io/kaniko-project/executor:v1.8.0"
        );
        assert!(run.mounts[0].read_only);
        assert_eq!(
            host_path(&run, "/workspace").unwrap().1,
            "$(pwd)/helloworld"
        );
    }

    #[test]
    fn options_without_counterpart_are_kept_aside() {
        let (run, _) = read_line(
            "docker run --env-file x.env --entrypoint=/busybox/sh -v cache:/cache -w /workspace img",
        );
        let unhandled: Vec<&str> = run.unhandled.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(unhandled, ["--env-file x.env", "-v cache:/cache"]);
        assert_eq!(run.entrypoint.unwrap().0, "/busybox/sh");
        assert_eq!(run.workdir.unwrap().0, "/workspace");
    }

    #[test]
    fn sudo_and_podman_are_read_and_named() {
        let (run, words) =
            read_line("sudo docker run --rm gcr.io/kaniko-project/executor --no-push");
        assert_eq!(run.program, "sudo docker");
        assert_eq!(words[run.image].value, "gcr.io/kaniko-project/executor");
        let (run, _) = read_line("podman run gcr.io/kaniko-project/executor");
        assert_eq!(run.program, "podman");
    }

    #[test]
    fn other_commands_are_not_docker_run() {
        let command = shell::commands("docker pull gcr.io/kaniko-project/executor").remove(0);
        assert!(read("", &command.words).is_none());
    }
}
