//! How a migrated job runs BuildKit. GitLab's and Buildkite's BuildKit
//! guides show several ways; each trades runner privileges against
//! isolation (see `docs/flavours.md`). The flavour decides the image, the
//! program the job calls, where the daemon's configuration goes and which
//! service, if any, the job needs.

use serde::Deserialize;

/// The BuildKit release the images are pinned to.
const VERSION: &str = "v0.32.2";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    /// `moby/buildkit:*-rootless` and `buildctl-daemonless.sh`, with the
    /// process sandbox off (`--oci-worker-no-process-sandbox`) so that it
    /// runs on runners that mask `/proc`.
    #[default]
    Rootless,
    /// The same, with the process sandbox on: for runners that let the job
    /// unmask `/proc` (Docker `systempaths=unconfined`).
    RootlessSandboxed,
    /// `moby/buildkit:*` run as root: for runners that allow privileged
    /// containers.
    Privileged,
    /// A `buildkitd` service next to the job, reached with `buildctl --addr`.
    Daemon,
    /// A `docker:dind` service and `docker buildx build`.
    Buildx,
}

/// A `services:` entry a flavour needs.
pub struct Service {
    pub name: &'static str,
    pub alias: &'static str,
    /// The service's arguments, when it needs any.
    pub command: &'static [&'static str],
    /// Variables for the service alone.
    pub variables: &'static [(&'static str, &'static str)],
}

impl Service {
    /// The entry as one YAML flow mapping.
    pub fn flow_text(&self) -> String {
        let mut text = format!("{{ name: {}, alias: {}", self.name, self.alias);
        if !self.command.is_empty() {
            let words: Vec<String> = self.command.iter().map(|w| format!("\"{w}\"")).collect();
            text.push_str(&format!(", command: [{}]", words.join(", ")));
        }
        if !self.variables.is_empty() {
            let pairs: Vec<String> = self
                .variables
                .iter()
                .map(|(k, v)| format!("{k}: \"{v}\""))
                .collect();
            text.push_str(&format!(", variables: {{ {} }}", pairs.join(", ")));
        }
        text.push_str(" }");
        text
    }
}

impl Flavor {
    pub const ALL: [Flavor; 5] = [
        Flavor::Rootless,
        Flavor::RootlessSandboxed,
        Flavor::Privileged,
        Flavor::Daemon,
        Flavor::Buildx,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Rootless => "rootless",
            Flavor::RootlessSandboxed => "rootless-sandboxed",
            Flavor::Privileged => "privileged",
            Flavor::Daemon => "daemon",
            Flavor::Buildx => "buildx",
        }
    }

    /// The image the job itself runs in.
    pub fn default_image(self) -> String {
        match self {
            Flavor::Rootless | Flavor::RootlessSandboxed => {
                format!("moby/buildkit:{VERSION}-rootless")
            }
            Flavor::Privileged | Flavor::Daemon => format!("moby/buildkit:{VERSION}"),
            Flavor::Buildx => "docker:27".to_string(),
        }
    }

    /// `BUILDKITD_FLAGS` the job's daemon needs.
    pub fn daemon_flags(self) -> Option<&'static str> {
        (self == Flavor::Rootless).then_some("--oci-worker-no-process-sandbox")
    }

    /// Where the daemon the job starts reads `buildkitd.toml`; `None` when
    /// the daemon runs as a service the job cannot configure.
    pub fn config_dir(self) -> Option<&'static str> {
        match self {
            Flavor::Rootless | Flavor::RootlessSandboxed => Some("$HOME/.config/buildkit"),
            Flavor::Privileged => Some("/etc/buildkit"),
            Flavor::Daemon | Flavor::Buildx => None,
        }
    }

    /// The service the job talks to, if the daemon is not its own.
    pub fn service(self) -> Option<Service> {
        match self {
            Flavor::Daemon => Some(Service {
                name: "moby/buildkit:v0.32.2",
                alias: "buildkitd",
                command: &["--addr", "tcp://0.0.0.0:1234"],
                variables: &[],
            }),
            Flavor::Buildx => Some(Service {
                name: "docker:27-dind",
                alias: "docker",
                command: &[],
                // TLS off: the service is only reachable from this job.
                variables: &[("DOCKER_TLS_CERTDIR", "")],
            }),
            _ => None,
        }
    }

    /// What stands in for `/kaniko/executor version` (or `--help`): the
    /// client's own version, which needs no daemon.
    pub fn version_command(self) -> &'static str {
        match self {
            Flavor::Buildx => "docker buildx version",
            _ => "buildctl --version",
        }
    }

    /// The command that builds, up to the build's own arguments; steps that
    /// must come first end with `&&`.
    pub fn build_command(self, global: &[String]) -> Vec<String> {
        let global: String = global.iter().map(|g| format!(" {g}")).collect();
        match self {
            Flavor::Rootless | Flavor::RootlessSandboxed | Flavor::Privileged => {
                vec![format!("buildctl-daemonless.sh{global} build")]
            }
            Flavor::Daemon => vec![format!(
                "buildctl --addr tcp://buildkitd:1234{global} build"
            )],
            Flavor::Buildx => vec![
                format!("docker -H {DOCKER_HOST} buildx create --use >/dev/null &&"),
                format!("docker -H {DOCKER_HOST} buildx{global} build"),
            ],
        }
    }

    /// What the runner must allow, said once per run.
    pub fn runner_note(self) -> &'static str {
        match self {
            Flavor::Rootless => {
                "rootless BuildKit needs the runner to allow user namespaces: Docker executor \
                 `security_opt = [\"seccomp:unconfined\", \"apparmor:unconfined\"]`, Kubernetes \
                 `seccompProfile` and `appArmorProfile` set to `Unconfined`; Kaniko needed neither"
            }
            Flavor::RootlessSandboxed => {
                "sandboxed rootless BuildKit needs the runner to allow user namespaces and an unmasked \
                 /proc: Docker executor `security_opt = [\"seccomp:unconfined\", \"apparmor:unconfined\", \
                 \"systempaths=unconfined\"]`, Kubernetes `procMount: Unmasked` as well as unconfined profiles"
            }
            Flavor::Privileged | Flavor::Daemon | Flavor::Buildx => {
                "this flavour runs BuildKit as root: the runner must allow privileged containers \
                 (`privileged = true`); Kaniko needed no privileges"
            }
        }
    }
}

/// The dind service's Docker API, without TLS on the job's private network.
const DOCKER_HOST: &str = "tcp://docker:2375";

/// Turns buildctl's argument groups into `docker buildx build` arguments.
/// The groups are the ones [`super::command`] writes, one option and its
/// value per group (or a variable passed on), so each has a counterpart;
/// `Err` names one that has none.
pub fn buildx_arguments(groups: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut context = None;
    let (mut dockerfile_dir, mut dockerfile_name) = (None, None);
    for group in groups {
        let Some((option, value)) = group.split_once(' ') else {
            out.push(group.clone());
            continue;
        };
        let renamed = match option {
            "--frontend" => continue,
            "--import-cache" => Some("--cache-from"),
            "--export-cache" => Some("--cache-to"),
            "--secret" | "--output" | "--metadata-file" => Some(option),
            _ => None,
        };
        if let Some(renamed) = renamed {
            out.push(format!("{renamed} {value}"));
            continue;
        }
        let found = match option {
            "--local" => {
                if let Some(directory) = unprefixed(value, "context=") {
                    context = Some(directory);
                } else if let Some(directory) = unprefixed(value, "dockerfile=") {
                    dockerfile_dir = Some(directory);
                } else {
                    return Err(format!("`{group}` has no buildx counterpart"));
                }
                true
            }
            "--opt" => opt_argument(value, &mut out, &mut context, &mut dockerfile_name),
            _ => false,
        };
        if !found {
            return Err(format!("`{group}` has no buildx counterpart"));
        }
    }
    match (dockerfile_dir, dockerfile_name) {
        (Some(dir), Some(name)) => out.push(format!("--file {dir}/{name}")),
        (Some(dir), None) => out.push(format!("--file {dir}/Dockerfile")),
        (None, Some(_)) => {
            return Err("a Dockerfile inside a remote context has no buildx counterpart".into());
        }
        (None, None) => {}
    }
    let context = context.ok_or("the build has no context")?;
    out.push(context);
    Ok(out)
}

/// One `--opt` of the Dockerfile frontend as a buildx option. Returns
/// whether it has one.
fn opt_argument(
    value: &str,
    out: &mut Vec<String>,
    context: &mut Option<String>,
    dockerfile_name: &mut Option<String>,
) -> bool {
    const RENAMED: [(&str, &str); 4] = [
        ("build-arg:", "--build-arg"),
        ("label:", "--label"),
        ("target=", "--target"),
        ("platform=", "--platform"),
    ];
    for (prefix, option) in RENAMED {
        if let Some(rest) = unprefixed(value, prefix) {
            out.push(format!("{option} {rest}"));
            return true;
        }
    }
    if let Some(name) = unprefixed(value, "filename=") {
        *dockerfile_name = Some(name);
        return true;
    }
    if let Some(url) = unprefixed(value, "context=") {
        *context = Some(url);
        return true;
    }
    false
}

/// A shell word without `prefix` at the start of its text, keeping the
/// quote it opens with: `"context=$DIR"` → `"$DIR"`.
fn unprefixed(word: &str, prefix: &str) -> Option<String> {
    if let Some(rest) = word.strip_prefix(prefix) {
        return Some(rest.to_string());
    }
    let quote = word.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = word[1..].strip_prefix(prefix)?;
    Some(format!("{quote}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn buildctl_groups_become_buildx_options() {
        let converted = buildx_arguments(&groups(&[
            "--frontend dockerfile.v0",
            "--local \"context=$CI_PROJECT_DIR\"",
            "--local \"dockerfile=$(dirname \"$DF\")\"",
            "--opt filename=\"$(basename \"$DF\")\"",
            "--opt \"build-arg:A=${A}\"",
            "--opt target=prod",
            "$EXTRA_ARGS",
            "--import-cache \"type=registry,ref=r/cache\"",
            "--export-cache \"type=registry,ref=r/cache,mode=max\"",
            "--output \"type=image,name=r:1,push=true\"",
        ]))
        .unwrap();
        assert_eq!(
            converted,
            groups(&[
                "--build-arg \"A=${A}\"",
                "--target prod",
                "$EXTRA_ARGS",
                "--cache-from \"type=registry,ref=r/cache\"",
                "--cache-to \"type=registry,ref=r/cache,mode=max\"",
                "--output \"type=image,name=r:1,push=true\"",
                "--file \"$(dirname \"$DF\")\"/\"$(basename \"$DF\")\"",
                "\"$CI_PROJECT_DIR\"",
            ])
        );
    }

    #[test]
    fn groups_without_a_counterpart_are_refused() {
        assert!(buildx_arguments(&groups(&["--opt \"contextsubdir=a\""])).is_err());
        assert!(
            buildx_arguments(&groups(&[
                "--opt \"filename=a\"",
                "--opt \"context=https://x/y.git\""
            ]))
            .is_err()
        );
    }
}
