//! The one table of Kaniko flags. Detection, parsing, `explain`, the docs
//! and the translation read it; nothing else lists flag names or decides
//! what a flag becomes: each row ends with its [`Carry`].
//!
//! Adding a flag is one row here (with a [`Handler`](super::carry::Handler)
//! in `mapping::handlers` when it has a BuildKit counterpart of its own) and
//! one fixture, `fixtures/flags/NAME.yml`, which a test requires.
//!
//! Facts come from `shared/reference/kaniko-buildkit-flags.md` (Kaniko
//! v1.24.0 `cmd/executor/cmd/root.go` plus the osscontainertools and
//! Chainguard forks); a test checks every flag named there is here.

use super::carry::Carry::{self, Blocked, Build, Dropped, NoOp, Unmappable, Unsafe};
use super::command::registries::RegistrySetting::{Ca, ClientCert, Http, Map, Mirror, NoTlsVerify};
use super::handlers::{
    Annotation, BuildArg, Cache, CacheRepo, Compression, CompressionLevel, Context, ContextSubPath,
    CustomPlatform, Destination, DigestFile, Dockerfile, Git, ImageFormat, Insecure, Label,
    NameDigestFile, NameTagDigestFile, NoPush, NoPushCache, OciLayoutPath, Registry, Reproducible,
    Secret, SkipTlsVerify, TarPath, Target, Verbosity,
};

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
    /// Dropped only with `--unsafe`: the image or the cache behaves a little
    /// differently without it, and the user must accept that.
    Unsafe,
    /// No BuildKit equivalent: the tool must report it.
    Unmappable,
}

impl Class {
    pub const ALL: [Class; 6] = [
        Class::Direct,
        Class::Rewrite,
        Class::Config,
        Class::NoOp,
        Class::Unsafe,
        Class::Unmappable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Direct => "direct",
            Class::Rewrite => "rewrite",
            Class::Config => "config",
            Class::NoOp => "no-op",
            Class::Unsafe => "unsafe",
            Class::Unmappable => "unmappable",
        }
    }

    /// What the class means for a migration, for `explain` and the docs.
    pub fn meaning(self) -> &'static str {
        match self {
            Class::Direct => "a one-to-one BuildKit option",
            Class::Rewrite => "restructured into other BuildKit options or an extra shell step",
            Class::Config => "needs a buildkitd.toml entry",
            Class::NoOp => "safe to drop: BuildKit needs nothing in its place",
            Class::Unsafe => {
                "dropped only with --unsafe: the result differs a little, which the user must accept"
            }
            Class::Unmappable => "no BuildKit equivalent: the tool reports it",
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
    /// What the flag made Kaniko do, in one sentence: `explain` and
    /// `docs/flags.md` show it so a reader knows what the migration replaces.
    pub kaniko: &'static str,
    /// What BuildKit does instead, in one line.
    pub buildkit: &'static str,
    /// The flag as a job would pass it, long form with a realistic value and
    /// no spaces or quotes: `explain` and the docs migrate it live.
    pub example: &'static str,
    /// What becomes of the flag in a migration: the one place that decides.
    pub(crate) carry: Carry,
}

/// One row: name, short flag, value kind, class, origin, then what Kaniko
/// did, what BuildKit does, an example and how it is carried. Deprecated
/// spellings name the flag they stand for, are always upstream and are
/// carried as that flag.
macro_rules! flag {
    ($name:literal, $short:expr, $kind:ident, $class:ident, $origin:ident, $kaniko:literal, $buildkit:literal, $example:literal, $carry:expr) => {
        FlagSpec {
            name: $name,
            short: $short,
            alias_of: None,
            kind: ValueKind::$kind,
            class: Class::$class,
            origin: Origin::$origin,
            kaniko: $kaniko,
            buildkit: $buildkit,
            example: $example,
            carry: $carry,
        }
    };
    ($name:literal alias $of:literal, $kind:ident, $class:ident, $kaniko:literal, $buildkit:literal, $example:literal) => {
        FlagSpec {
            name: $name,
            short: None,
            alias_of: Some($of),
            kind: ValueKind::$kind,
            class: Class::$class,
            origin: Origin::Upstream,
            kaniko: $kaniko,
            buildkit: $buildkit,
            example: $example,
            carry: Carry::Alias,
        }
    };
}

/// The warmer is never translated: a call to it keeps its job as a whole.
const WARMER: &str = "the BuildKit store lives for one job: remove the warming step";

/// Every flag of `/kaniko/executor`: the 60 upstream names, then the 8 that
/// exist only in the forks. One row per flag, so it is not reformatted.
#[rustfmt::skip]
pub static EXECUTOR_FLAGS: &[FlagSpec] = &[
    flag!("dockerfile", Some('f'), Single, Rewrite, Upstream, "Path or URL of the Dockerfile (default `Dockerfile`); a relative path was looked for in the working directory first, then in the context.", "--local dockerfile=DIR --opt filename=NAME", "--dockerfile=docker/Dockerfile.prod", Build(&Dockerfile)),
    flag!("context", Some('c'), Single, Rewrite, Upstream, "Where the build context came from: a local directory (default `/workspace/`) or a `dir://`, `git://`, `https://`, `tar://`, `gs://` or `s3://` URL.", "--local context=DIR, or --opt context=URL for git and https contexts", "--context=$CI_PROJECT_DIR", Build(&Context)),
    flag!("context-sub-path", None, Single, Rewrite, Upstream, "A directory inside a `://` context to build from; Kaniko ignored it for a plain directory context.", "appended to the context directory or git URL", "--context-sub-path=services/api", Build(&ContextSubPath)),
    flag!("bucket", Some('b'), Single, Unmappable, Upstream, "Hidden flag: a Google Cloud Storage bucket to download the context from, the same as `--context gs://BUCKET`.", "none: download the context in an earlier job", "--bucket=build-contexts", Unmappable("download the context archive from the bucket in an earlier step or job, unpack it and build that directory")),
    flag!("destination", Some('d'), Repeated, Rewrite, Upstream, "An image reference to push the result to; repeatable, and required unless `--no-push` is given.", "--output type=image,\"name=A,B\",push=true", "--destination=registry.example.com/app:1", Build(&Destination)),
    flag!("snapshot-mode", None, Single, NoOp, Upstream, "How changed files were found between layers: `full` (the default, by content), `redo` or `time`.", "none: BuildKit diffs snapshots itself", "--snapshot-mode=redo", NoOp),
    flag!("custom-platform", None, Single, Direct, Upstream, "The platform whose base images were pulled and recorded in the image; `RUN` steps still ran natively, without emulation.", "--opt platform=OS/ARCH", "--custom-platform=linux/arm64", Build(&CustomPlatform)),
    flag!("build-arg", None, Repeated, Direct, Upstream, "Sets a Dockerfile `ARG` as `KEY=VALUE`, or a bare `KEY` that takes the executor's environment value (empty when unset); repeatable.", "--opt build-arg:KEY=VALUE", "--build-arg=VERSION=1.2.3", Build(&BuildArg)),
    flag!("insecure", None, Bool, Rewrite, Upstream, "Pushed the image and its cache layers over plain HTTP; base-image pulls were not affected.", "registry.insecure=true in the image output", "--insecure", Build(&Insecure)),
    flag!("skip-tls-verify", None, Bool, Config, Upstream, "Turned off TLS certificate checks for every registry, on pushes and pulls alike.", "buildkitd.toml: insecure = true per registry", "--skip-tls-verify", Build(&SkipTlsVerify)),
    flag!("insecure-pull", None, Bool, Config, Upstream, "Pulled every base image over plain HTTP.", "buildkitd.toml: http = true per pulled registry", "--insecure-pull", Blocked("BuildKit needs each pulled registry by name (`http = true` in buildkitd.toml): replace it with `--insecure-registry HOST` for each registry the Dockerfile pulls from")),
    flag!("skip-tls-verify-pull", None, Bool, Config, Upstream, "Meant to skip TLS checks on pulls, but Kaniko has not read it since 2020: it was accepted and had no effect.", "buildkitd.toml: insecure = true per pulled registry", "--skip-tls-verify-pull", Dropped("Kaniko itself has not read it since 2020")),
    flag!("push-retry", None, Single, NoOp, Upstream, "How many times a failed push was tried again (default 0).", "none: BuildKit retries pushes itself", "--push-retry=3", NoOp),
    flag!("push-ignore-immutable-tag-errors", None, Bool, Unmappable, Upstream, "Ended with success when the registry refused a push because the tag is immutable.", "none", "--push-ignore-immutable-tag-errors", Unmappable("BuildKit fails a push to an immutable tag; skip the build when the tag exists (`regctl image digest` or `crane digest` in an earlier step), or allow the job to fail")),
    flag!("image-fs-extract-retry", None, Single, NoOp, Upstream, "How many times unpacking a base image into the container's filesystem was tried again (default 0).", "none: BuildKit never extracts into the job", "--image-fs-extract-retry=3", NoOp),
    flag!("image-download-retry", None, Single, NoOp, Upstream, "How many times a failed base-image download was tried again (default 0).", "none: BuildKit retries pulls itself", "--image-download-retry=3", NoOp),
    flag!("kaniko-dir", None, Single, NoOp, Upstream, "The directory Kaniko kept its working files in (default `/kaniko`, empty in the osscontainertools fork); `KANIKO_DIR` sets it too.", "none", "--kaniko-dir=/tmp/kaniko", NoOp),
    flag!("tar-path", None, Single, Rewrite, Upstream, "Also saved the image as a `docker load` tarball at this path, tagged with every destination.", "--output type=docker,dest=PATH", "--tar-path=image.tar", Build(&TarPath)),
    flag!("single-snapshot", None, Bool, Unsafe, Upstream, "Squashed everything the build added into one layer.", "none: BuildKit cannot squash layers; the image holds the same files, in one layer per step instead of one in all", "--single-snapshot", Unsafe),
    flag!("reproducible", None, Bool, Rewrite, Upstream, "Set every timestamp in the image to the epoch, base layers included, so that the same inputs gave the same digest.", "SOURCE_DATE_EPOCH and rewrite-timestamp=true", "--reproducible", Build(&Reproducible)),
    flag!("target", None, Single, Direct, Upstream, "The Dockerfile stage to build (the osscontainertools fork takes several and pushes the first).", "--opt target=STAGE", "--target=runtime", Build(&Target)),
    flag!("no-push", None, Bool, Rewrite, Upstream, "Built the image without pushing it (cache layers were still pushed unless `--no-push-cache`); `KANIKO_NO_PUSH` sets it too.", "push=false in the image output", "--no-push", Build(&NoPush)),
    flag!("no-push-cache", None, Bool, Rewrite, Upstream, "Kept cache layers out of the cache repository.", "no --export-cache", "--no-push-cache", Build(&NoPushCache)),
    flag!("cache-repo", None, Single, Rewrite, Upstream, "The repository holding cached layers, one image per layer; only read together with `--cache`.", "--import-cache/--export-cache type=registry,ref=REPO", "--cache-repo=registry.example.com/app/cache", Build(&CacheRepo)),
    flag!("cache-dir", None, Single, NoOp, Upstream, "A local directory of base images that `/kaniko/warmer` filled beforehand (default `/cache`).", "none: the warmer's base-image cache has no use", "--cache-dir=/cache", NoOp),
    flag!("digest-file", None, Single, Rewrite, Upstream, "Wrote the image digest (`sha256:...`, no final newline) to this file, or sent it with an HTTP PUT to an `https://` address.", "--metadata-file plus a step that writes the digest", "--digest-file=image.digest", Build(&DigestFile)),
    flag!("image-name-with-digest-file", None, Single, Rewrite, Upstream, "Wrote one `REPOSITORY@DIGEST` line per destination to this file.", "--metadata-file plus a step that writes REPO@DIGEST", "--image-name-with-digest-file=image-refs.txt", Build(&NameDigestFile)),
    flag!("image-name-tag-with-digest-file", None, Single, Rewrite, Upstream, "Wrote one `REPOSITORY:TAG@DIGEST` line per destination to this file.", "--metadata-file plus a step that writes REPO:TAG@DIGEST", "--image-name-tag-with-digest-file=image-tags.txt", Build(&NameTagDigestFile)),
    flag!("oci-layout-path", None, Single, Rewrite, Upstream, "Also saved the image as an OCI layout directory at this path.", "--output type=oci,dest=DIR,tar=false", "--oci-layout-path=oci-image", Build(&OciLayoutPath)),
    flag!("compression", None, Single, Direct, Upstream, "How the layers it built were compressed: `gzip` or `zstd`.", "compression=gzip|zstd in the image output", "--compression=zstd", Build(&Compression)),
    flag!("compression-level", None, Single, Direct, Upstream, "The compression level for new layers (default -1: the compressor's own default).", "compression-level=N in the image output", "--compression-level=9", Build(&CompressionLevel)),
    flag!("cache", None, Bool, Rewrite, Upstream, "Cached built layers in a registry: `--cache-repo`, else the first destination's repository plus `/cache`.", "--import-cache/--export-cache type=registry", "--cache", Build(&Cache)),
    flag!("compressed-caching", None, Bool, NoOp, Upstream, "Compressed cached layers while snapshotting (default true); turning it off saved memory.", "none", "--compressed-caching=false", NoOp),
    flag!("cleanup", None, Bool, NoOp, Upstream, "Cleaned the container's filesystem after the build.", "none: BuildKit leaves the job filesystem alone", "--cleanup", NoOp),
    flag!("cache-ttl", None, Single, Unsafe, Upstream, "How long layers in the cache repository counted as valid (default 336h, two weeks).", "none: BuildKit's registry cache has no expiry; expire it with a registry cleanup policy", "--cache-ttl=24h", Unsafe),
    flag!("insecure-registry", None, Repeated, Config, Upstream, "A registry host to reach over plain HTTP, for pushes and pulls; repeatable.", "buildkitd.toml: http = true for HOST", "--insecure-registry=registry.internal:5000", Build(&Registry(Http))),
    flag!("skip-tls-verify-registry", None, Repeated, Config, Upstream, "A registry host whose TLS certificate was not checked; repeatable.", "buildkitd.toml: insecure = true for HOST", "--skip-tls-verify-registry=registry.internal", Build(&Registry(NoTlsVerify))),
    flag!("registry-certificate", None, Repeated, Config, Upstream, "A CA certificate to trust for one registry, as `HOST=PATH`; repeatable.", "buildkitd.toml: ca = [PATH] for HOST", "--registry-certificate=registry.internal=/certs/ca.crt", Build(&Registry(Ca))),
    flag!("registry-client-cert", None, Repeated, Config, Upstream, "A client certificate and key for one registry, as `HOST=CERT,KEY`; repeatable.", "buildkitd.toml: keypair for HOST", "--registry-client-cert=registry.internal=/certs/client.crt,/certs/client.key", Build(&Registry(ClientCert))),
    flag!("registry-map", None, Repeated, Config, Upstream, "Sent pulls from one registry to others, as `ORIGINAL=MIRROR` (several joined with `;`); repeatable, and `KANIKO_REGISTRY_MAP` sets it too.", "buildkitd.toml: mirrors for the original registry", "--registry-map=index.docker.io=mirror.example.com", Build(&Registry(Map))),
    flag!("registry-mirror", None, Repeated, Config, Upstream, "A mirror to pull Docker Hub images from, tried in order; repeatable, and `KANIKO_REGISTRY_MIRROR` adds one.", "buildkitd.toml: mirrors for docker.io", "--registry-mirror=mirror.gcr.io", Build(&Registry(Mirror))),
    flag!("skip-default-registry-fallback", None, Bool, Unmappable, Upstream, "Failed a pull when every mirror failed, instead of trying the original registry.", "none: BuildKit always falls back to the origin", "--skip-default-registry-fallback", Unmappable("BuildKit always falls back to the original registry; block it at the network level if pulls must only use the mirrors")),
    flag!("ignore-var-run", None, Bool, NoOp, Upstream, "Left `/var/run` out of the snapshots (default true).", "none", "--ignore-var-run=false", NoOp),
    flag!("label", None, Repeated, Direct, Upstream, "Added a `KEY=VALUE` label to the image config; repeatable.", "--opt label:KEY=VALUE", "--label=org.opencontainers.image.revision=$CI_COMMIT_SHA", Build(&Label)),
    flag!("skip-unused-stages", None, Bool, NoOp, Upstream, "Built only the stages the target needs instead of every stage before it (always on, and deprecated, in the osscontainertools fork).", "none: BuildKit builds only the stages it needs", "--skip-unused-stages", NoOp),
    flag!("use-new-run", None, Bool, NoOp, Upstream, "Found what a `RUN` step changed with an experimental method that avoids full filesystem snapshots.", "none", "--use-new-run", NoOp),
    flag!("git", None, Repeated, Rewrite, Upstream, "How a `git://` context was cloned: one of `branch=`, `single-branch=`, `recurse-submodules=` or `insecure-skip-tls=` per use (the osscontainertools fork adds `depth=`).", "folded into the git context URL", "--git=branch=main", Build(&Git)),
    flag!("cache-copy-layers", None, Bool, NoOp, Upstream, "Cached the layers of `COPY` steps as well.", "none: BuildKit caches every step", "--cache-copy-layers", NoOp),
    flag!("cache-run-layers", None, Bool, NoOp, Upstream, "Cached the layers of `RUN` steps (default true).", "none: BuildKit caches every step", "--cache-run-layers=false", NoOp),
    flag!("ignore-path", None, Repeated, Unsafe, Upstream, "A path left out of the snapshots, so that nothing under it reached the image; repeatable.", "none: BuildKit never sees the job's files; use `RUN --mount=type=tmpfs` to keep a path out of the image", "--ignore-path=/busybox", Unsafe),
    flag!("force-build-metadata", None, Bool, NoOp, Upstream, "Made instructions that only change metadata produce a layer anyway (deprecated in the osscontainertools fork).", "none", "--force-build-metadata", NoOp),
    flag!("skip-push-permission-check", None, Bool, NoOp, Upstream, "Skipped the check, before building, that the destinations accept a push.", "none", "--skip-push-permission-check", NoOp),
    flag!("verbosity", Some('v'), Single, Rewrite, Upstream, "The log level: `panic`, `fatal`, `error`, `warn`, `info` (the default), `debug` or `trace`.", "--debug for debug and trace, else nothing", "--verbosity=debug", Build(&Verbosity)),
    flag!("log-format", None, Single, NoOp, Upstream, "The log format: `text`, `color` (the default) or `json`.", "none: BuildKit prints plain progress in CI", "--log-format=text", NoOp),
    flag!("log-timestamp", None, Bool, NoOp, Upstream, "Put a timestamp on every log line.", "none", "--log-timestamp", NoOp),
    flag!("force", None, Bool, NoOp, Upstream, "Let Kaniko build even where it did not detect a container.", "none", "--force", NoOp),
    flag!("whitelist-var-run" alias "ignore-var-run", Bool, NoOp, "The old spelling of `--ignore-var-run`, still accepted.", "none", "--whitelist-var-run=false"),
    flag!("snapshotMode" alias "snapshot-mode", Single, NoOp, "The old camelCase spelling of `--snapshot-mode`, still accepted.", "none: BuildKit diffs snapshots itself", "--snapshotMode=redo"),
    flag!("customPlatform" alias "custom-platform", Single, Direct, "The old camelCase spelling of `--custom-platform`, still accepted.", "--opt platform=OS/ARCH", "--customPlatform=linux/arm64"),
    flag!("tarPath" alias "tar-path", Single, Rewrite, "The old camelCase spelling of `--tar-path`, still accepted.", "--output type=docker,dest=PATH", "--tarPath=image.tar"),
    flag!("annotation", None, Repeated, Direct, Fork, "Fork-only (osscontainertools and Chainguard): added a `KEY=VALUE` annotation to the image manifest; repeatable.", "annotation.KEY=VALUE in the image output", "--annotation=org.opencontainers.image.licenses=MIT", Build(&Annotation)),
    flag!("image-format", None, Single, Direct, Fork, "Fork-only (osscontainertools): the media types of the result, `docker` or `oci`; unset, those of the base image.", "oci-mediatypes=true|false in the image output", "--image-format=oci", Build(&ImageFormat)),
    flag!("pre-cleanup", None, Bool, NoOp, Fork, "Fork-only (osscontainertools): cleaned the container's filesystem before the build; `KANIKO_PRE_CLEANUP` sets it too.", "none", "--pre-cleanup", NoOp),
    flag!("preserve-context", None, Bool, NoOp, Fork, "Fork-only (osscontainertools): kept the build context intact although the build ran in the job's own filesystem; `KANIKO_PRESERVE_CONTEXT` sets it too.", "none: BuildKit never changes the context", "--preserve-context", NoOp),
    flag!("materialize", None, Bool, Unmappable, Fork, "Fork-only (osscontainertools): left the container's filesystem equal to the built image afterwards.", "none: BuildKit never unpacks into the job", "--materialize", Unmappable("BuildKit never unpacks the image into the job; export it with `--output type=local,dest=DIR` if a later step needs its files")),
    flag!("secret", None, Repeated, Direct, Fork, "Fork-only (osscontainertools): a secret for `RUN --mount=type=secret`, as `id=X` with `src=FILE` or `env=VAR`; repeatable.", "--secret id=X,src=F or --secret id=X,env=V", "--secret=id=npm_token,env=NPM_TOKEN", Build(&Secret)),
    flag!("dryrun", None, Bool, Unmappable, Fork, "Fork-only (osscontainertools): a dry run that stopped short of building and pushing the image.", "none (closest: --opt requestid=frontend.outline)", "--dryrun", Unmappable("BuildKit has no dry run; `--opt requestid=frontend.outline` prints the build's outline without building")),
    flag!("credential-helpers", None, Single, Unmappable, Fork, "Fork-only (osscontainertools): which built-in registry credential helpers to use, from `env`, `google`, `ecr`, `acr` and `gitlab`.", "none: write a static config.json", "--credential-helpers=gitlab", Unmappable("the BuildKit image has no credential helpers; write the registry credentials into `config.json` before the build")),
];

/// Flags of `/kaniko/warmer`, whose short flags differ from the executor's.
#[rustfmt::skip]
pub static WARMER_FLAGS: &[FlagSpec] = &[
    flag!("image", Some('i'), Repeated, Unmappable, Upstream, "An image to download into the cache directory ahead of the build; repeatable.", "none: the BuildKit store lives for one job", "--image=alpine:3.20", Unmappable(WARMER)),
    flag!("cache-dir", Some('c'), Single, Unmappable, Upstream, "Where the downloaded images were stored (default `/cache`).", "none", "--cache-dir=/cache", Unmappable(WARMER)),
    flag!("force", Some('f'), Bool, Unmappable, Upstream, "Downloaded images again even when they were already cached.", "none", "--force", Unmappable(WARMER)),
    flag!("cache-ttl", None, Single, Unmappable, Upstream, "How long a cached image counted as valid (default 336h).", "none", "--cache-ttl=24h", Unmappable(WARMER)),
    flag!("dockerfile", Some('d'), Single, Unmappable, Upstream, "A Dockerfile whose `FROM` images were downloaded.", "none", "--dockerfile=Dockerfile", Unmappable(WARMER)),
    flag!("build-arg", None, Repeated, Unmappable, Upstream, "A build argument for `FROM` lines that use an `ARG`; repeatable.", "none", "--build-arg=BASE=alpine:3.20", Unmappable(WARMER)),
    flag!("customPlatform", None, Single, Unmappable, Upstream, "The platform of the images to download.", "none", "--customPlatform=linux/arm64", Unmappable(WARMER)),
    flag!("insecure-pull", None, Bool, Unmappable, Upstream, "Pulled over plain HTTP.", "none", "--insecure-pull", Unmappable(WARMER)),
    flag!("skip-tls-verify-pull", None, Bool, Unmappable, Upstream, "Meant to skip TLS checks on pulls; Kaniko has not read it since 2020.", "none", "--skip-tls-verify-pull", Unmappable(WARMER)),
    flag!("insecure-registry", None, Repeated, Unmappable, Upstream, "A registry host to reach over plain HTTP; repeatable.", "none", "--insecure-registry=registry.internal:5000", Unmappable(WARMER)),
    flag!("skip-tls-verify-registry", None, Repeated, Unmappable, Upstream, "A registry host whose TLS certificate was not checked; repeatable.", "none", "--skip-tls-verify-registry=registry.internal", Unmappable(WARMER)),
    flag!("registry-certificate", None, Repeated, Unmappable, Upstream, "A CA certificate for one registry, as `HOST=PATH`; repeatable.", "none", "--registry-certificate=registry.internal=/certs/ca.crt", Unmappable(WARMER)),
    flag!("registry-client-cert", None, Repeated, Unmappable, Upstream, "A client certificate and key for one registry, as `HOST=CERT,KEY`; repeatable.", "none", "--registry-client-cert=registry.internal=/certs/client.crt,/certs/client.key", Unmappable(WARMER)),
    flag!("registry-map", None, Repeated, Unmappable, Upstream, "Sent pulls from one registry to others, as `ORIGINAL=MIRROR`; repeatable.", "none", "--registry-map=index.docker.io=mirror.example.com", Unmappable(WARMER)),
    flag!("registry-mirror", None, Repeated, Unmappable, Upstream, "A mirror to pull Docker Hub images from; repeatable.", "none", "--registry-mirror=mirror.gcr.io", Unmappable(WARMER)),
    flag!("skip-default-registry-fallback", None, Bool, Unmappable, Upstream, "Failed a pull when every mirror failed, instead of trying the original registry.", "none", "--skip-default-registry-fallback", Unmappable(WARMER)),
    flag!("verbosity", Some('v'), Single, Unmappable, Upstream, "The log level (default `info`).", "none", "--verbosity=debug", Unmappable(WARMER)),
    flag!("log-format", None, Single, Unmappable, Upstream, "The log format: `text`, `color` or `json`.", "none", "--log-format=text", Unmappable(WARMER)),
    flag!("log-timestamp", None, Bool, Unmappable, Upstream, "Put a timestamp on every log line.", "none", "--log-timestamp", Unmappable(WARMER)),
];

/// Looks a long flag name (without dashes) up in `table`.
pub fn by_name<'t>(table: &'t [FlagSpec], name: &str) -> Option<&'t FlagSpec> {
    table.iter().find(|flag| flag.name == name)
}

/// Deprecated spellings behave as the flag they stand for.
pub fn canonical(spec: &'static FlagSpec) -> &'static FlagSpec {
    spec.alias_of
        .and_then(|name| by_name(EXECUTOR_FLAGS, name))
        .unwrap_or(spec)
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
        // The table splits `unsafe` off: --cache-ttl and --ignore-path from
        // no-op, --single-snapshot from unmappable.
        assert_eq!(Class::ALL.map(count), [10, 18, 9, 22, 3, 6]);
    }

    #[test]
    fn aliases_point_at_real_flags() {
        for flag in EXECUTOR_FLAGS.iter().filter(|f| f.alias_of.is_some()) {
            let target = by_name(EXECUTOR_FLAGS, flag.alias_of.unwrap()).unwrap();
            assert_eq!(target.kind, flag.kind, "{}", flag.name);
        }
    }

    /// Table completeness: every row is carried in a way its class allows,
    /// with the text its shared behaviour needs, and every alias is carried
    /// as its flag. A handler no row names is dead code, which `-D warnings`
    /// refuses, and a row cannot leave out its `carry`: together they make
    /// the table the one place that decides what a flag becomes.
    #[test]
    fn every_row_is_carried_as_its_class_says() {
        for (table, flag) in EXECUTOR_FLAGS
            .iter()
            .map(|f| ("executor", f))
            .chain(WARMER_FLAGS.iter().map(|f| ("warmer", f)))
        {
            let fits = match (&flag.carry, flag.class) {
                (Carry::Alias, _) => {
                    let target = flag.alias_of.and_then(|name| by_name(EXECUTOR_FLAGS, name));
                    target.is_some_and(|t| t.alias_of.is_none() && t.class == flag.class)
                }
                _ if flag.alias_of.is_some() => false,
                (Carry::NoOp, Class::NoOp) | (Carry::Unsafe, Class::Unsafe) => true,
                (Carry::NoOp | Carry::Unsafe, _) | (_, Class::NoOp | Class::Unsafe) => false,
                (Carry::Unmappable(advice), Class::Unmappable) => !advice.is_empty(),
                (_, Class::Unmappable) | (Carry::Unmappable(_), _) => false,
                (Carry::Dropped(text) | Carry::Blocked(text), _) => !text.is_empty(),
                (Carry::Build(_), _) => true,
            };
            assert!(
                fits,
                "{table} --{}: {:?} for class {:?}",
                flag.name, flag.carry, flag.class
            );
        }
    }

    /// A no-op's note gives the row's BuildKit text as its reason, and an
    /// unsafe flag's note says what is lost: both need that text.
    #[test]
    fn shared_behaviours_have_their_text() {
        for flag in EXECUTOR_FLAGS {
            if matches!(flag.carry, Carry::Unsafe) {
                assert!(flag.buildkit.starts_with("none: "), "--{}", flag.name);
            }
            if matches!(flag.carry, Carry::NoOp) {
                assert!(flag.buildkit.starts_with("none"), "--{}", flag.name);
            }
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
