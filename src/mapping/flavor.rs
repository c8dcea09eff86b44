//! How a migrated job runs BuildKit. GitLab's and Buildkite's BuildKit
//! guides show several ways; each trades runner privileges against
//! isolation (see `docs/flavours.md`). The flavour decides the image, the
//! program the job calls, where the daemon's configuration goes and which
//! service, if any, the job needs.

use serde::Deserialize;

use super::command::groups::{Group, Local, Opt};

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

/// Turns buildctl's argument groups into `docker buildx build` arguments,
/// each by its kind. `Err` names a group that has no counterpart.
pub(crate) fn buildx_arguments(groups: &[Group]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut context = None;
    let (mut dockerfile_dir, mut dockerfile_name) = (None, None);
    for group in groups {
        match group {
            Group::Frontend => {}
            Group::Passed(word) => out.push(word.clone()),
            Group::ImportCache(word) => out.push(format!("--cache-from {word}")),
            Group::ExportCache(word) => out.push(format!("--cache-to {word}")),
            Group::Secret(word) => out.push(format!("--secret {word}")),
            Group::Output(word) => out.push(format!("--output {word}")),
            Group::MetadataFile(word) => out.push(format!("--metadata-file {word}")),
            Group::Local(local, word) => {
                let directory = unprefixed(word, local.prefix()).ok_or_else(|| refused(group))?;
                match local {
                    Local::Context => context = Some(directory),
                    Local::Dockerfile => dockerfile_dir = Some(directory),
                }
            }
            Group::Opt(opt, word) => {
                let value = unprefixed(word, opt.prefix()).ok_or_else(|| refused(group))?;
                let option = match opt {
                    Opt::BuildArg => "--build-arg",
                    Opt::Label => "--label",
                    Opt::Target => "--target",
                    Opt::Platform => "--platform",
                    Opt::Filename => {
                        dockerfile_name = Some(value);
                        continue;
                    }
                    Opt::Context => {
                        context = Some(value);
                        continue;
                    }
                    Opt::ContextSubdir => return Err(refused(group)),
                };
                out.push(format!("{option} {value}"));
            }
            Group::RegistryTls(_) => return Err(refused(group)),
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

fn refused(group: &Group) -> String {
    format!("`{}` has no buildx counterpart", group.text())
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

    fn text(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn buildctl_groups_become_buildx_options() {
        let groups = [
            Group::Frontend,
            Group::local(Local::Context, "\"$CI_PROJECT_DIR\""),
            Group::local(Local::Dockerfile, "\"$(dirname \"$DF\")\""),
            Group::Opt(Opt::Filename, "filename=\"$(basename \"$DF\")\"".into()),
            Group::opt(Opt::BuildArg, "\"A=${A}\""),
            Group::opt(Opt::Target, "prod"),
            Group::Passed("$EXTRA_ARGS".into()),
            Group::ImportCache("\"type=registry,ref=r/cache\"".into()),
            Group::ExportCache("\"type=registry,ref=r/cache,mode=max\"".into()),
            Group::Output("\"type=image,name=r:1,push=true\"".into()),
        ];
        assert_eq!(
            groups.iter().map(Group::text).collect::<Vec<_>>(),
            text(&[
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
            ])
        );
        assert_eq!(
            buildx_arguments(&groups).unwrap(),
            text(&[
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
        let subdir = Group::Opt(Opt::ContextSubdir, "\"contextsubdir=a\"".into());
        assert_eq!(
            buildx_arguments(&[subdir]).unwrap_err(),
            "`--opt \"contextsubdir=a\"` has no buildx counterpart"
        );
        let tls = Group::RegistryTls("\"host=r,insecure=true\"".into());
        assert!(buildx_arguments(&[tls]).is_err());
        assert!(
            buildx_arguments(&[
                Group::Opt(Opt::Filename, "\"filename=a\"".into()),
                Group::Opt(Opt::Context, "\"context=https://x/y.git\"".into()),
            ])
            .is_err()
        );
    }
}
