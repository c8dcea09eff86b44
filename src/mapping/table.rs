//! The one table of Kaniko flags. Detection, parsing, `explain` and the docs
//! read it; nothing else lists flag names.
//!
//! Facts come from `shared/reference/kaniko-buildkit-flags.md` (Kaniko
//! v1.24.0 `cmd/executor/cmd/root.go` plus the osscontainertools and
//! Chainguard forks); a test checks every flag named there is here.

/// How a flag takes its value on the command line (cobra/pflag rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// `--flag`, `--flag=true`, `--flag=false`; never a separate value word.
    Bool,
    /// `--flag value` or `--flag=value`; the last occurrence wins.
    Single,
    /// `--flag value`, repeatable, each occurrence appended.
    Repeated,
}

/// What happens to the flag when a job moves to BuildKit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A one-to-one BuildKit option.
    Direct,
    /// Restructured into other options or an extra shell step.
    Rewrite,
    /// Needs a `buildkitd.toml` entry.
    Config,
    /// Safe to drop: BuildKit needs nothing in its place.
    NoOp,
    /// No BuildKit equivalent: the tool must report it.
    Unmappable,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Direct => "direct",
            Class::Rewrite => "rewrite",
            Class::Config => "config",
            Class::NoOp => "no-op",
            Class::Unmappable => "unmappable",
        }
    }
}

/// Which Kaniko builds accept the flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Upstream,
    /// Only the osscontainertools (ex-martizih) and/or Chainguard forks.
    Fork,
}

#[derive(Debug)]
pub struct FlagSpec {
    pub name: &'static str,
    pub short: Option<char>,
    /// For deprecated spellings: the flag this one stands for.
    pub alias_of: Option<&'static str>,
    pub kind: ValueKind,
    pub class: Class,
    pub origin: Origin,
    /// What BuildKit does instead, in one line.
    pub buildkit: &'static str,
}

macro_rules! flag {
    ($name:literal, $short:expr, $kind:ident, $class:ident, $origin:ident, $buildkit:literal) => {
        FlagSpec {
            name: $name,
            short: $short,
            alias_of: None,
            kind: ValueKind::$kind,
            class: Class::$class,
            origin: Origin::$origin,
            buildkit: $buildkit,
        }
    };
    ($name:literal alias $of:literal, $kind:ident, $class:ident, $buildkit:literal) => {
        FlagSpec {
            name: $name,
            short: None,
            alias_of: Some($of),
            kind: ValueKind::$kind,
            class: Class::$class,
            origin: Origin::Upstream,
            buildkit: $buildkit,
        }
    };
}

/// Every flag of `/kaniko/executor`: the 60 upstream names, then the 8 that
/// exist only in the forks.
pub static EXECUTOR_FLAGS: &[FlagSpec] = &[
    flag!(
        "dockerfile",
        Some('f'),
        Single,
        Rewrite,
        Upstream,
        "--local dockerfile=DIR --opt filename=NAME"
    ),
    flag!(
        "context",
        Some('c'),
        Single,
        Rewrite,
        Upstream,
        "--local context=DIR, or --opt context=URL for git and https contexts"
    ),
    flag!(
        "context-sub-path",
        None,
        Single,
        Rewrite,
        Upstream,
        "appended to the context directory or git URL"
    ),
    flag!(
        "bucket",
        Some('b'),
        Single,
        Unmappable,
        Upstream,
        "none: download the context in an earlier job"
    ),
    flag!(
        "destination",
        Some('d'),
        Repeated,
        Rewrite,
        Upstream,
        "--output type=image,\"name=A,B\",push=true"
    ),
    flag!(
        "snapshot-mode",
        None,
        Single,
        NoOp,
        Upstream,
        "none: BuildKit diffs snapshots itself"
    ),
    flag!(
        "custom-platform",
        None,
        Single,
        Direct,
        Upstream,
        "--opt platform=OS/ARCH"
    ),
    flag!(
        "build-arg",
        None,
        Repeated,
        Direct,
        Upstream,
        "--opt build-arg:KEY=VALUE"
    ),
    flag!(
        "insecure",
        None,
        Bool,
        Rewrite,
        Upstream,
        "registry.insecure=true in the image output"
    ),
    flag!(
        "skip-tls-verify",
        None,
        Bool,
        Config,
        Upstream,
        "buildkitd.toml: insecure = true per registry"
    ),
    flag!(
        "insecure-pull",
        None,
        Bool,
        Config,
        Upstream,
        "buildkitd.toml: http = true per pulled registry"
    ),
    flag!(
        "skip-tls-verify-pull",
        None,
        Bool,
        Config,
        Upstream,
        "buildkitd.toml: insecure = true per pulled registry"
    ),
    flag!(
        "push-retry",
        None,
        Single,
        NoOp,
        Upstream,
        "none: BuildKit retries pushes itself"
    ),
    flag!(
        "push-ignore-immutable-tag-errors",
        None,
        Bool,
        Unmappable,
        Upstream,
        "none"
    ),
    flag!(
        "image-fs-extract-retry",
        None,
        Single,
        NoOp,
        Upstream,
        "none: BuildKit never extracts into the job"
    ),
    flag!(
        "image-download-retry",
        None,
        Single,
        NoOp,
        Upstream,
        "none: BuildKit retries pulls itself"
    ),
    flag!("kaniko-dir", None, Single, NoOp, Upstream, "none"),
    flag!(
        "tar-path",
        None,
        Single,
        Rewrite,
        Upstream,
        "--output type=docker,dest=PATH"
    ),
    flag!(
        "single-snapshot",
        None,
        Bool,
        Unmappable,
        Upstream,
        "none: BuildKit cannot squash layers"
    ),
    flag!(
        "reproducible",
        None,
        Bool,
        Rewrite,
        Upstream,
        "SOURCE_DATE_EPOCH and rewrite-timestamp=true"
    ),
    flag!(
        "target",
        None,
        Single,
        Direct,
        Upstream,
        "--opt target=STAGE"
    ),
    flag!(
        "no-push",
        None,
        Bool,
        Rewrite,
        Upstream,
        "push=false in the image output"
    ),
    flag!(
        "no-push-cache",
        None,
        Bool,
        Rewrite,
        Upstream,
        "no --export-cache"
    ),
    flag!(
        "cache-repo",
        None,
        Single,
        Rewrite,
        Upstream,
        "--import-cache/--export-cache type=registry,ref=REPO"
    ),
    flag!(
        "cache-dir",
        None,
        Single,
        NoOp,
        Upstream,
        "none: the warmer's base-image cache has no use"
    ),
    flag!(
        "digest-file",
        None,
        Single,
        Rewrite,
        Upstream,
        "--metadata-file plus a step that writes the digest"
    ),
    flag!(
        "image-name-with-digest-file",
        None,
        Single,
        Rewrite,
        Upstream,
        "--metadata-file plus a step that writes REPO@DIGEST"
    ),
    flag!(
        "image-name-tag-with-digest-file",
        None,
        Single,
        Rewrite,
        Upstream,
        "--metadata-file plus a step that writes REPO:TAG@DIGEST"
    ),
    flag!(
        "oci-layout-path",
        None,
        Single,
        Rewrite,
        Upstream,
        "--output type=oci,dest=DIR,tar=false"
    ),
    flag!(
        "compression",
        None,
        Single,
        Direct,
        Upstream,
        "compression=gzip|zstd in the image output"
    ),
    flag!(
        "compression-level",
        None,
        Single,
        Direct,
        Upstream,
        "compression-level=N in the image output"
    ),
    flag!(
        "cache",
        None,
        Bool,
        Rewrite,
        Upstream,
        "--import-cache/--export-cache type=registry"
    ),
    flag!("compressed-caching", None, Bool, NoOp, Upstream, "none"),
    flag!(
        "cleanup",
        None,
        Bool,
        NoOp,
        Upstream,
        "none: BuildKit leaves the job filesystem alone"
    ),
    flag!(
        "cache-ttl",
        None,
        Single,
        NoOp,
        Upstream,
        "none: expire the cache with a registry cleanup policy"
    ),
    flag!(
        "insecure-registry",
        None,
        Repeated,
        Config,
        Upstream,
        "buildkitd.toml: http = true for HOST"
    ),
    flag!(
        "skip-tls-verify-registry",
        None,
        Repeated,
        Config,
        Upstream,
        "buildkitd.toml: insecure = true for HOST"
    ),
    flag!(
        "registry-certificate",
        None,
        Repeated,
        Config,
        Upstream,
        "buildkitd.toml: ca = [PATH] for HOST"
    ),
    flag!(
        "registry-client-cert",
        None,
        Repeated,
        Config,
        Upstream,
        "buildkitd.toml: keypair for HOST"
    ),
    flag!(
        "registry-map",
        None,
        Repeated,
        Config,
        Upstream,
        "buildkitd.toml: mirrors for the original registry"
    ),
    flag!(
        "registry-mirror",
        None,
        Repeated,
        Config,
        Upstream,
        "buildkitd.toml: mirrors for docker.io"
    ),
    flag!(
        "skip-default-registry-fallback",
        None,
        Bool,
        Unmappable,
        Upstream,
        "none: BuildKit always falls back to the origin"
    ),
    flag!("ignore-var-run", None, Bool, NoOp, Upstream, "none"),
    flag!(
        "label",
        None,
        Repeated,
        Direct,
        Upstream,
        "--opt label:KEY=VALUE"
    ),
    flag!(
        "skip-unused-stages",
        None,
        Bool,
        NoOp,
        Upstream,
        "none: BuildKit builds only the stages it needs"
    ),
    flag!("use-new-run", None, Bool, NoOp, Upstream, "none"),
    flag!(
        "git",
        None,
        Repeated,
        Rewrite,
        Upstream,
        "folded into the git context URL"
    ),
    flag!(
        "cache-copy-layers",
        None,
        Bool,
        NoOp,
        Upstream,
        "none: BuildKit caches every step"
    ),
    flag!(
        "cache-run-layers",
        None,
        Bool,
        NoOp,
        Upstream,
        "none: BuildKit caches every step"
    ),
    flag!(
        "ignore-path",
        None,
        Repeated,
        NoOp,
        Upstream,
        "none: build containers never see the job's mounts"
    ),
    flag!("force-build-metadata", None, Bool, NoOp, Upstream, "none"),
    flag!(
        "skip-push-permission-check",
        None,
        Bool,
        NoOp,
        Upstream,
        "none"
    ),
    flag!(
        "verbosity",
        Some('v'),
        Single,
        Rewrite,
        Upstream,
        "--debug for debug and trace, else nothing"
    ),
    flag!(
        "log-format",
        None,
        Single,
        NoOp,
        Upstream,
        "none: BuildKit prints plain progress in CI"
    ),
    flag!("log-timestamp", None, Bool, NoOp, Upstream, "none"),
    flag!("force", None, Bool, NoOp, Upstream, "none"),
    flag!("whitelist-var-run" alias "ignore-var-run", Bool, NoOp, "none"),
    flag!("snapshotMode" alias "snapshot-mode", Single, NoOp, "none: BuildKit diffs snapshots itself"),
    flag!("customPlatform" alias "custom-platform", Single, Direct, "--opt platform=OS/ARCH"),
    flag!("tarPath" alias "tar-path", Single, Rewrite, "--output type=docker,dest=PATH"),
    flag!(
        "annotation",
        None,
        Repeated,
        Direct,
        Fork,
        "annotation.KEY=VALUE in the image output"
    ),
    flag!(
        "image-format",
        None,
        Single,
        Direct,
        Fork,
        "oci-mediatypes=true|false in the image output"
    ),
    flag!("pre-cleanup", None, Bool, NoOp, Fork, "none"),
    flag!(
        "preserve-context",
        None,
        Bool,
        NoOp,
        Fork,
        "none: BuildKit never changes the context"
    ),
    flag!(
        "materialize",
        None,
        Bool,
        Unmappable,
        Fork,
        "none: BuildKit never unpacks into the job"
    ),
    flag!(
        "secret",
        None,
        Repeated,
        Direct,
        Fork,
        "--secret id=X,src=F or --secret id=X,env=V"
    ),
    flag!(
        "dryrun",
        None,
        Bool,
        Unmappable,
        Fork,
        "none (closest: --opt requestid=frontend.outline)"
    ),
    flag!(
        "credential-helpers",
        None,
        Single,
        Unmappable,
        Fork,
        "none: write a static config.json"
    ),
];

/// Flags of `/kaniko/warmer`, whose short flags differ from the executor's.
pub static WARMER_FLAGS: &[FlagSpec] = &[
    flag!(
        "image",
        Some('i'),
        Repeated,
        Unmappable,
        Upstream,
        "none: the BuildKit store lives for one job"
    ),
    flag!("cache-dir", Some('c'), Single, Unmappable, Upstream, "none"),
    flag!("force", Some('f'), Bool, Unmappable, Upstream, "none"),
    flag!("cache-ttl", None, Single, Unmappable, Upstream, "none"),
    flag!(
        "dockerfile",
        Some('d'),
        Single,
        Unmappable,
        Upstream,
        "none"
    ),
    flag!("build-arg", None, Repeated, Unmappable, Upstream, "none"),
    flag!("customPlatform", None, Single, Unmappable, Upstream, "none"),
    flag!("insecure-pull", None, Bool, Unmappable, Upstream, "none"),
    flag!(
        "skip-tls-verify-pull",
        None,
        Bool,
        Unmappable,
        Upstream,
        "none"
    ),
    flag!(
        "insecure-registry",
        None,
        Repeated,
        Unmappable,
        Upstream,
        "none"
    ),
    flag!(
        "skip-tls-verify-registry",
        None,
        Repeated,
        Unmappable,
        Upstream,
        "none"
    ),
    flag!(
        "registry-certificate",
        None,
        Repeated,
        Unmappable,
        Upstream,
        "none"
    ),
    flag!(
        "registry-client-cert",
        None,
        Repeated,
        Unmappable,
        Upstream,
        "none"
    ),
    flag!("registry-map", None, Repeated, Unmappable, Upstream, "none"),
    flag!(
        "registry-mirror",
        None,
        Repeated,
        Unmappable,
        Upstream,
        "none"
    ),
    flag!(
        "skip-default-registry-fallback",
        None,
        Bool,
        Unmappable,
        Upstream,
        "none"
    ),
    flag!("verbosity", Some('v'), Single, Unmappable, Upstream, "none"),
    flag!("log-format", None, Single, Unmappable, Upstream, "none"),
    flag!("log-timestamp", None, Bool, Unmappable, Upstream, "none"),
];

/// Looks a long flag name (without dashes) up in `table`.
pub fn by_name<'t>(table: &'t [FlagSpec], name: &str) -> Option<&'t FlagSpec> {
    table.iter().find(|flag| flag.name == name)
}

/// Looks a one-letter flag up in `table`.
pub fn by_short(table: &[FlagSpec], short: char) -> Option<&FlagSpec> {
    table.iter().find(|flag| flag.short == Some(short))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = EXECUTOR_FLAGS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EXECUTOR_FLAGS.len());
    }

    #[test]
    fn counts_match_the_reference() {
        assert_eq!(EXECUTOR_FLAGS.len(), 68);
        let upstream = EXECUTOR_FLAGS
            .iter()
            .filter(|f| f.origin == Origin::Upstream)
            .count();
        assert_eq!(upstream, 60);
        let count = |class| EXECUTOR_FLAGS.iter().filter(|f| f.class == class).count();
        // Reference §1.2: direct 10, rewrite 18, config 9, no-op 24, unmappable 7.
        assert_eq!(
            [
                Class::Direct,
                Class::Rewrite,
                Class::Config,
                Class::NoOp,
                Class::Unmappable
            ]
            .map(count),
            [10, 18, 9, 24, 7]
        );
    }

    #[test]
    fn aliases_point_at_real_flags() {
        for flag in EXECUTOR_FLAGS.iter().filter(|f| f.alias_of.is_some()) {
            let target = by_name(EXECUTOR_FLAGS, flag.alias_of.unwrap()).unwrap();
            assert_eq!(target.kind, flag.kind, "{}", flag.name);
        }
    }

    /// Every flag named in the first column of the reference's mapping table
    /// must be in the table. Runs only where `../shared` is checked out.
    #[test]
    fn every_reference_flag_is_known() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/reference/kaniko-buildkit-flags.md"
        );
        let Ok(reference) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} not found");
            return;
        };
        let names = regex::Regex::new(r"^\| \d+ \| `--([A-Za-z][\w-]*)`").unwrap();
        let mut seen = 0;
        for line in reference.lines() {
            if let Some(captures) = names.captures(line) {
                seen += 1;
                assert!(
                    by_name(EXECUTOR_FLAGS, &captures[1]).is_some(),
                    "missing flag --{}",
                    &captures[1]
                );
            }
        }
        assert_eq!(seen, 68);
    }
}
