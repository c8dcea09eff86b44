//! Runs a migrated job the way the rootless BuildKit image would: busybox
//! `sh` with `set -e` (as gitlab-runner writes job scripts), only busybox's
//! applets on `PATH`, uid 1000 with its own `HOME` (when the tests run as
//! root), no `/kaniko` and no `/workspace`, and recording fakes of
//! `buildctl-daemonless.sh` and `buildctl` that keep what each build saw:
//! its arguments, the `config.json` and `buildkitd.toml` present when it
//! started, and whether the directories it was given exist.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use kaniko2buildkit::gitlab::{Input, Pipeline};
use kaniko2buildkit::mapping::flavor::Flavor;
use kaniko2buildkit::migrate::{self, Options};

/// The GitLab variables every job sees, with a password that must never
/// reach the log.
pub const PASSWORD: &str = "glcbt-SECRET-job-token";
pub const REGISTRY: &str = "registry.gitlab.example.com";

/// Busybox, or `None` outside CI when it is not installed (under `CI=true`
/// a missing busybox fails the test: `.ci/run` installs it).
pub fn busybox() -> Option<PathBuf> {
    for candidate in ["/usr/bin/busybox", "/bin/busybox", "/usr/local/bin/busybox"] {
        if Path::new(candidate).is_file() {
            return Some(PathBuf::from(candidate));
        }
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "busybox is missing: the run-time suite needs it (.ci/run installs busybox-static)"
    );
    eprintln!("skipped: busybox is not installed");
    None
}

/// What one run left behind.
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    /// The shell's trace and error output.
    pub stderr: String,
    /// The migrated file.
    pub migrated: String,
    pub builds: Vec<Build>,
    pub scratch: tempfile::TempDir,
}

/// One call of a fake build command.
#[derive(Debug)]
pub struct Build {
    /// The fake that was called (`buildctl-daemonless.sh`, `docker`, ...).
    pub program: String,
    pub args: Vec<String>,
    /// `config.json` as the build found it.
    pub config: Option<String>,
    pub buildkitd_toml: Option<String>,
    /// Directories or files it was given that did not exist.
    pub missing: Vec<String>,
    /// The environment it ran with.
    pub env: BTreeMap<String, String>,
}

impl Run {
    pub fn project(&self) -> PathBuf {
        self.scratch.path().join("project")
    }

    pub fn home(&self) -> PathBuf {
        self.scratch.path().join("home")
    }

    pub fn only_build(&self) -> &Build {
        assert_eq!(self.builds.len(), 1, "{}\n{}", self.migrated, self.stderr);
        &self.builds[0]
    }

    pub fn read(&self, relative: &str) -> Option<String> {
        std::fs::read_to_string(self.project().join(relative)).ok()
    }
}

impl Build {
    /// The values of `option` (`--opt`, `--output`, ...) in order, for both
    /// `--opt X` and `--opt=X`.
    pub fn values(&self, option: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut args = self.args.iter();
        while let Some(arg) = args.next() {
            if arg == option {
                out.extend(args.next().cloned());
            } else if let Some(value) = arg.strip_prefix(&format!("{option}=")) {
                out.push(value.to_string());
            }
        }
        out
    }

    /// The `auth` of `registry` in the config.json the build saw, decoded.
    pub fn credentials(&self, registry: &str) -> Option<String> {
        let config: serde_json::Value = serde_json::from_str(self.config.as_deref()?).ok()?;
        let auth = config["auths"][registry]["auth"].as_str()?;
        Some(decode_base64(auth))
    }
}

/// Options for [`run_job`].
#[derive(Default)]
pub struct Setup<'a> {
    /// Extra job variables.
    pub env: Vec<(&'a str, &'a str)>,
    /// Files of the project (relative path, content).
    pub files: Vec<(&'a str, &'a str)>,
    /// Files of the project that are not text.
    pub binary_files: Vec<(&'a str, Vec<u8>)>,
    /// The fake build fails with status 7.
    pub fail_build: bool,
    pub flavor: Option<Flavor>,
    pub unsafe_fixes: bool,
    /// Run the job with this shell (`/bin/bash`) instead of busybox `sh`,
    /// with the same busybox applets on `PATH`.
    pub shell: Option<&'a str>,
}

/// Like [`run_job`], but `None` when the migration leaves `job` on Kaniko
/// (or busybox is missing).
pub fn run_if_migrated(yaml: &str, job: &str, setup: &Setup) -> Option<Run> {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(scratch.path().join(".git")).unwrap();
    std::fs::write(scratch.path().join(".gitlab-ci.yml"), yaml).unwrap();
    let migrated = migrate_file(scratch.path(), setup);
    let document: serde_yaml::Value = serde_yaml::from_str(&migrated).unwrap();
    let image = serde_yaml::to_string(&document[job]["image"]).unwrap();
    if image.contains("kaniko") {
        return None;
    }
    run_job(yaml, job, setup)
}

/// Migrates `yaml` (a project's `.gitlab-ci.yml`), asserts that `job` was
/// migrated, and runs its `before_script` and `script`.
pub fn run_job(yaml: &str, job: &str, setup: &Setup) -> Option<Run> {
    let busybox = busybox()?;
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("project");
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join(".gitlab-ci.yml"), yaml).unwrap();
    let files = setup.files.iter().map(|(p, c)| (*p, c.as_bytes()));
    let binary = setup.binary_files.iter().map(|(p, c)| (*p, c.as_slice()));
    for (path, content) in files.chain(binary) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let migrated = migrate_file(&root, setup);
    let script = job_script(&migrated, job);
    Some(execute(&busybox, scratch, &script, migrated, setup))
}

/// Runs `script` (already migrated, any front-end) in the same layout as
/// [`run_job`], with `setup`'s files in the project; `migrated` is kept in
/// the [`Run`] for messages.
#[allow(dead_code)] // Used by `runtime_other.rs` only.
pub fn run_script(script: &str, migrated: &str, setup: &Setup) -> Option<Run> {
    let busybox = busybox()?;
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("project");
    std::fs::create_dir_all(root.join(".git")).unwrap();
    for (path, content) in &setup.files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    Some(execute(
        &busybox,
        scratch,
        script,
        migrated.to_string(),
        setup,
    ))
}

/// `yaml` migrated as a project's `.gitlab-ci.yml`, and the messages of the
/// migration's findings.
pub fn migrate_with_findings(yaml: &str) -> (String, Vec<String>) {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().canonicalize().unwrap();
    std::fs::write(root.join(".gitlab-ci.yml"), yaml).unwrap();
    let pipeline = Pipeline::load(&root, Input::Path(root.join(".gitlab-ci.yml")));
    let options = Options {
        root: Some(root.clone()),
        ..Options::default()
    };
    let migration = migrate::migrate(&pipeline, &options).expect("the rewrite verifies");
    let text = migration
        .rewrites
        .first()
        .map_or_else(|| yaml.to_string(), |r| r.text.clone());
    let messages = migration
        .findings
        .iter()
        .map(|f| f.message.to_string())
        .collect();
    (text, messages)
}

/// The migrated text of the project's `.gitlab-ci.yml`.
fn migrate_file(root: &Path, setup: &Setup) -> String {
    let root = root.canonicalize().unwrap();
    let pipeline = Pipeline::load(&root, Input::Path(root.join(".gitlab-ci.yml")));
    assert!(pipeline.errors.is_empty(), "{:?}", pipeline.errors);
    let mut options = Options {
        unsafe_fixes: setup.unsafe_fixes,
        root: Some(root.clone()),
        ..Options::default()
    };
    if let Some(flavor) = setup.flavor {
        options.config.flavor = flavor;
    }
    let migration = migrate::migrate(&pipeline, &options).expect("the rewrite verifies");
    match migration.rewrites.first() {
        Some(rewrite) => rewrite.text.clone(),
        None => std::fs::read_to_string(root.join(".gitlab-ci.yml")).unwrap(),
    }
}

/// The job's `before_script` and `script` as gitlab-runner runs them: one
/// line a script item, after `set -e`. A `default:` before_script applies
/// when the job has none.
pub fn job_script(migrated: &str, job: &str) -> String {
    let document: serde_yaml::Value = serde_yaml::from_str(migrated).unwrap();
    let definition = &document[job];
    assert!(
        !definition.is_null(),
        "no job `{job}` in the migrated file:\n{migrated}"
    );
    let image = serde_yaml::to_string(&definition["image"]).unwrap();
    assert!(
        !image.contains("kaniko"),
        "job `{job}` was not migrated:\n{migrated}"
    );
    let mut lines = vec!["set -e".to_string()];
    // The runner puts global and job variables in the environment, the
    // job's over the global ones; `$VAR` in them expands.
    for scope in [&document["variables"], &definition["variables"]] {
        let Some(variables) = scope.as_mapping() else {
            continue;
        };
        for (name, value) in variables {
            let (Some(name), Some(value)) = (name.as_str(), value.as_str()) else {
                continue;
            };
            let value = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('`', "\\`");
            lines.push(format!("export {name}=\"{value}\""));
        }
    }
    let before = match &definition["before_script"] {
        serde_yaml::Value::Null => &document["default"]["before_script"],
        own => own,
    };
    flatten(before, &mut lines);
    flatten(&definition["script"], &mut lines);
    lines.join("\n") + "\n"
}

fn flatten(value: &serde_yaml::Value, out: &mut Vec<String>) {
    match value {
        serde_yaml::Value::String(line) => out.push(line.clone()),
        serde_yaml::Value::Sequence(items) => items.iter().for_each(|item| flatten(item, out)),
        _ => {}
    }
}

/// The fake of `buildctl-daemonless.sh` and `buildctl`: records, checks the
/// directories it is given, writes the metadata file, and fails on demand.
const FAKE_BUILD: &str = r#"
record="$K2B_TEST_RECORD"
n=$(ls "$record" | grep -c '\.args$' || true)
n=$((n + 1))
out="$record/$n"
printf '%s\n' "$K2B_PROGRAM" > "$out.program"
: > "$out.args"
for a in "$@"; do printf '%s\0' "$a" >> "$out.args"; done
env > "$out.env"
cat "${DOCKER_CONFIG:-$HOME/.docker}/config.json" > "$out.config" 2>/dev/null || rm -f "$out.config"
cat "$HOME/.config/buildkit/buildkitd.toml" > "$out.toml" 2>/dev/null || rm -f "$out.toml"
: > "$out.missing"
prev=""
dockerfile_dir=""
for a in "$@"; do
  case "$prev" in
    --local) case "$a" in
        dockerfile=*) dockerfile_dir="${a#dockerfile=}" ;;
      esac
      [ -d "${a#*=}" ] || printf '%s\n' "$a" >> "$out.missing" ;;
    --metadata-file)
      printf '{\n  "containerimage.config.digest": "sha256:0000",\n  "containerimage.digest": "sha256:%s",\n  "image.name": "x"\n}\n' "${FAKE_DIGEST:-feedface}" > "$a" ;;
  esac
  case "$a" in --opt) ;; esac
  prev="$a"
done
filename=Dockerfile
prev=""
for a in "$@"; do
  case "$prev" in --opt) case "$a" in filename=*) filename="${a#filename=}" ;; esac ;; esac
  prev="$a"
done
if [ -n "$dockerfile_dir" ] && [ ! -f "$dockerfile_dir/$filename" ]; then
  printf 'dockerfile %s\n' "$dockerfile_dir/$filename" >> "$out.missing"
fi
[ -z "${FAKE_BUILD_FAIL:-}" ] || exit 7
exit 0
"#;

fn execute(
    busybox: &Path,
    scratch: tempfile::TempDir,
    script: &str,
    migrated: String,
    setup: &Setup,
) -> Run {
    let base = scratch.path();
    let bin = base.join("bin");
    let record = base.join("record");
    for dir in ["home", "tmp", "record", "bin"] {
        std::fs::create_dir_all(base.join(dir)).unwrap();
    }
    install_applets(busybox, &bin);
    for program in ["buildctl-daemonless.sh", "buildctl", "docker"] {
        let fake = format!(
            "#!{} sh\nK2B_PROGRAM={program}\n{FAKE_BUILD}",
            busybox.display()
        );
        let path = bin.join(program);
        std::fs::write(&path, fake).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(base.join("job.sh"), script).unwrap();
    let as_user = is_root();
    if as_user {
        chown_tree(base, 1000);
    }
    let project = base.join("project");
    let shell: Vec<&std::ffi::OsStr> = match setup.shell {
        Some(shell) => vec![shell.as_ref()],
        None => vec![busybox.as_os_str(), "sh".as_ref()],
    };
    let mut command = if as_user {
        // util-linux's, by path: the job's PATH holds busybox's, which has
        // no `--reuid`.
        let mut c = Command::new(SETPRIV);
        c.args(["--reuid=1000", "--regid=1000", "--clear-groups"])
            .args(&shell);
        c
    } else {
        let mut c = Command::new(shell[0]);
        c.args(&shell[1..]);
        c
    };
    command
        .arg(base.join("job.sh"))
        .current_dir(&project)
        .env_clear()
        .env("HOME", base.join("home"))
        .env("PATH", &bin)
        .env("TMPDIR", base.join("tmp"))
        .env("K2B_TEST_RECORD", &record)
        .env("CI", "true")
        .env("GITLAB_CI", "true")
        .env("CI_PROJECT_DIR", &project)
        .env("CI_REGISTRY", REGISTRY)
        .env("CI_REGISTRY_USER", "gitlab-ci-token")
        .env("CI_REGISTRY_PASSWORD", PASSWORD)
        .env("CI_REGISTRY_IMAGE", format!("{REGISTRY}/group/app"))
        .env("CI_COMMIT_SHA", "abc123")
        .env("CI_PROJECT_PATH", "group/app");
    if setup.fail_build {
        command.env("FAKE_BUILD_FAIL", "1");
    }
    command.envs(setup.env.iter().copied());
    let output = command.output().unwrap();
    assert!(!Path::new("/kaniko").exists(), "a script created /kaniko");
    assert!(
        !Path::new("/workspace").exists(),
        "a script created /workspace"
    );
    let builds = read_builds(&record);
    Run {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        migrated,
        builds,
        scratch,
    }
}

/// Every busybox applet as a link in `bin`: the image's `PATH` has nothing
/// else.
fn install_applets(busybox: &Path, bin: &Path) {
    let list = Command::new(busybox).arg("--list").output().unwrap();
    for applet in String::from_utf8(list.stdout).unwrap().lines() {
        let _ = std::os::unix::fs::symlink(busybox, bin.join(applet));
    }
}

const SETPRIV: &str = "/usr/bin/setpriv";

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output();
    output.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn chown_tree(path: &Path, id: u32) {
    std::os::unix::fs::lchown(path, Some(id), Some(id)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), id);
        }
    }
}

fn read_builds(record: &Path) -> Vec<Build> {
    let mut builds = Vec::new();
    for n in 1.. {
        let file = |ext: &str| std::fs::read_to_string(record.join(format!("{n}.{ext}"))).ok();
        let Some(args) = file("args") else { break };
        builds.push(Build {
            program: file("program").unwrap_or_default().trim().to_string(),
            args: args
                .split('\0')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
            config: file("config"),
            buildkitd_toml: file("toml"),
            missing: file("missing")
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect(),
            env: file("env")
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
    }
    builds
}

/// Standard base64, which is all a Docker `auth` holds.
pub fn decode_base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.bytes().filter(|b| *b != b'=') {
        let value = ALPHABET.iter().position(|c| *c == byte).unwrap() as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Standard base64 of `text`, to look for it in a log.
pub fn encode_base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
