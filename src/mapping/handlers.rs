//! The flags with a BuildKit counterpart of their own, one [`Handler`] each
//! (or one for a family, such as the registry settings). A row of the flag
//! table names its handler; a handler no row names is dead code, which the
//! build refuses.
//!
//! A handler only files the flag's value: the flags that combine into one
//! option (the context, the Dockerfile, destinations, the cache, digest
//! files) are written out together by the modules of [`super::command`].

use super::carry::{Handler, gone, mapped, note};
use super::command::collected::Collected;
use super::command::groups::{Group, Opt};
use super::command::registries::{RegistrySetting, registry_setting};
use super::command::{Carried, Fate, Translation, is_true};
use super::flavor::Flavor;
use super::quote::{self, in_double_quotes};
use crate::kaniko::invocation::FlagUse;

/// Defines handlers that only remember the flag's use in one slot of
/// [`Collected`], for the module that writes the combined option.
macro_rules! slot {
    ($($(#[$doc:meta])* $name:ident => $field:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $name;

        impl Handler for $name {
            fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, _: &mut Translation) {
                c.$field = Some(flag);
            }
        }
    )*};
}

slot! {
    /// `--context`: written by `command::context`.
    Context => context;
    /// `--context-sub-path`: joined onto the context.
    ContextSubPath => context_sub_path;
    /// `--dockerfile`: written by `command::dockerfile`.
    Dockerfile => dockerfile;
    /// `--cache`: written by `command::cache`.
    Cache => cache;
    /// `--cache-repo`: the cache's repository.
    CacheRepo => cache_repo;
    /// `--no-push`: `push=false` on the image output.
    NoPush => no_push;
    /// `--tar-path`: a `type=docker` output.
    TarPath => tar_path;
    /// `--oci-layout-path`: a `type=oci` output.
    OciLayoutPath => oci_layout;
    /// `--digest-file`: written by `command::digests`.
    DigestFile => digest_file;
    /// `--image-name-with-digest-file`: written by `command::digests`.
    NameDigestFile => name_digest_file;
    /// `--image-name-tag-with-digest-file`: written by `command::digests`.
    NameTagDigestFile => name_tag_digest_file;
}

/// `--destination`: one more name of the image output. In a variable it
/// becomes an image output of its own, with the call's settings.
#[derive(Debug)]
pub(crate) struct Destination;

impl Handler for Destination {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, _: &mut Translation) {
        c.destinations.push(flag);
    }

    fn in_variable(&self, flag: &FlagUse, call: &Translation) -> Carried {
        let value = &flag.raw;
        match &call.carried_output {
            Ok(attrs) if !value.contains(',') => {
                mapped(format!("--output=type=image,name={value},{attrs}"))
            }
            Ok(_) => gone(
                Fate::Blocked,
                "a destination with a comma cannot be an output of its own".into(),
            ),
            Err(why) => gone(
                Fate::Blocked,
                format!(
                    "--destination in a variable becomes an image output of its own, but {why}"
                ),
            ),
        }
    }
}

/// `--git key=value`: folded into a `git://` context's URL.
#[derive(Debug)]
pub(crate) struct Git;

impl Handler for Git {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, _: &mut Translation) {
        c.git.push(flag);
    }
}

/// `--insecure-registry`, `--skip-tls-verify-registry`, `--registry-certificate`,
/// `--registry-client-cert`, `--registry-map`, `--registry-mirror`: daemon
/// settings of one host.
#[derive(Debug)]
pub(crate) struct Registry(pub RegistrySetting);

impl Handler for Registry {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation) {
        if let Err(message) = registry_setting(self.0, flag, c) {
            out.notes.push(note(flag, Fate::Blocked, message));
        }
    }
}

/// `--skip-tls-verify`: `insecure = true` for the registries pushed to.
#[derive(Debug)]
pub(crate) struct SkipTlsVerify;

impl Handler for SkipTlsVerify {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, _: &mut Translation) {
        if is_true(&flag.value) {
            c.skip_tls_verify = Some(flag);
        }
    }
}

/// `--no-push-cache`: the cache is imported, never exported.
#[derive(Debug)]
pub(crate) struct NoPushCache;

impl Handler for NoPushCache {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, _: &mut Translation) {
        c.no_push_cache = is_true(&flag.value);
        c.no_push_cache_flag = Some(flag);
    }
}

/// `--insecure`: `registry.insecure=true` on registry outputs and caches.
#[derive(Debug)]
pub(crate) struct Insecure;

impl Handler for Insecure {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation) {
        if !is_true(&flag.value) {
            return;
        }
        c.registry_attrs.push("registry.insecure=true".into());
        out.notes.push(note(
            flag,
            Fate::Note,
            "BuildKit tries HTTPS without verification first, then plain HTTP, where Kaniko went straight to HTTP",
        ));
    }
}

/// `--compression`: `compression=` on the image output.
#[derive(Debug)]
pub(crate) struct Compression;

impl Handler for Compression {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation) {
        match flag.value.as_str() {
            "gzip" | "zstd" => c.image_attrs.push(format!("compression={}", flag.value)),
            other => out.notes.push(note(
                flag,
                Fate::Blocked,
                format!("--compression={other}: Kaniko accepts only gzip or zstd"),
            )),
        }
    }
}

/// `--compression-level`: `compression-level=` on the image output.
#[derive(Debug)]
pub(crate) struct CompressionLevel;

impl Handler for CompressionLevel {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation) {
        match flag.value.parse::<i32>() {
            Ok(-1) => out.notes.push(note(
                flag,
                Fate::Dropped,
                "--compression-level=-1 dropped: it is the default",
            )),
            Ok(level) => c.image_attrs.push(format!("compression-level={level}")),
            Err(_) => out.notes.push(note(
                flag,
                Fate::Blocked,
                format!("--compression-level={}: not a number", flag.value),
            )),
        }
    }
}

/// `--image-format`: `oci-mediatypes=` on the image output.
#[derive(Debug)]
pub(crate) struct ImageFormat;

impl Handler for ImageFormat {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation) {
        match flag.value.as_str() {
            "oci" => c.image_attrs.push("oci-mediatypes=true".into()),
            "docker" => c.image_attrs.push("oci-mediatypes=false".into()),
            other => out.notes.push(note(
                flag,
                Fate::Blocked,
                format!("--image-format={other}: expected docker or oci"),
            )),
        }
    }
}

/// `--annotation`: `annotation.KEY=VALUE` on the image output.
#[derive(Debug)]
pub(crate) struct Annotation;

impl Handler for Annotation {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation) {
        match in_double_quotes(&flag.raw) {
            // A value with a comma needs CSV quotes inside the shell quotes.
            Some(text) if text.contains(',') => {
                c.image_attrs.push(format!("\\\"annotation.{text}\\\""))
            }
            Some(text) => c.image_attrs.push(format!("annotation.{text}")),
            None => out.notes.push(note(
                flag,
                Fate::Blocked,
                "--annotation has an unclosed quote",
            )),
        }
    }
}

/// `--reproducible`: `SOURCE_DATE_EPOCH=0` and `rewrite-timestamp=true`.
#[derive(Debug)]
pub(crate) struct Reproducible;

impl Handler for Reproducible {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation) {
        if !is_true(&flag.value) {
            return;
        }
        c.reproducible = true;
        c.opts
            .push(Group::opt(Opt::BuildArg, "SOURCE_DATE_EPOCH=0"));
        out.notes.push(note(
            flag,
            Fate::Note,
            "BuildKit clamps the timestamps of new layers to SOURCE_DATE_EPOCH but leaves base layers as they are: \
             digests are reproducible, yet differ from Kaniko's, and the image's `created` is 1970-01-01 where \
             Kaniko wrote 0001-01-01",
        ));
    }
}

/// `--secret`: buildctl's own `--secret`, as written.
#[derive(Debug)]
pub(crate) struct Secret;

impl Handler for Secret {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, _: &mut Translation) {
        c.opts.push(Group::Secret(flag.raw.clone()));
    }

    fn in_variable(&self, flag: &FlagUse, _call: &Translation) -> Carried {
        mapped(format!("--secret={}", flag.raw))
    }
}

/// `--build-arg`: `--opt build-arg:`, with a bare name taking the job's
/// environment value as Kaniko did.
#[derive(Debug)]
pub(crate) struct BuildArg;

impl Handler for BuildArg {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation) {
        match build_arg(flag) {
            Ok(option) => c.opts.push(option),
            Err(message) => out.notes.push(note(flag, Fate::Blocked, message)),
        }
        if looks_secret(&flag.value) {
            out.notes.push(note(
                flag,
                Fate::Note,
                "this build argument looks like a secret: build arguments stay in the image history; \
                 pass it with `--secret id=NAME,env=NAME` and `RUN --mount=type=secret` instead",
            ));
        }
    }

    fn in_variable(&self, flag: &FlagUse, call: &Translation) -> Carried {
        let value = &flag.raw;
        let assigned = value.contains('=') || value.starts_with('$');
        mapped(match (call.flavor == Flavor::Buildx, assigned) {
            (true, false) => format!("--build-arg={value}=${{{value}}}"),
            (true, true) => format!("--build-arg={value}"),
            (false, true) => format!("--opt=build-arg:{value}"),
            (false, false) => format!("--opt=build-arg:{value}=${{{value}}}"),
        })
    }
}

/// `--target`: `--opt target=`.
#[derive(Debug)]
pub(crate) struct Target;

impl Handler for Target {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, _: &mut Translation) {
        c.opts.push(Group::opt(Opt::Target, &flag.raw));
    }

    fn in_variable(&self, flag: &FlagUse, call: &Translation) -> Carried {
        mapped(match call.flavor {
            Flavor::Buildx => format!("--target={}", flag.raw),
            _ => format!("--opt=target={}", flag.raw),
        })
    }
}

/// `--label`: `--opt label:`, unless the Dockerfile sets the same key,
/// whose value won in Kaniko.
#[derive(Debug)]
pub(crate) struct Label;

impl Handler for Label {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation) {
        let key = flag.value.split('=').next().unwrap_or_default();
        let option = Group::opt(Opt::Label, &flag.raw);
        match c.dockerfile_sets_label(key) {
            Some(true) => out.notes.push(note(
                flag,
                Fate::Dropped,
                format!(
                    "--label {key} dropped: the Dockerfile sets `{key}` too, and in Kaniko the Dockerfile's \
                     value won; BuildKit's `--opt label:` would override it"
                ),
            )),
            Some(false) => c.opts.push(option),
            None => {
                c.opts.push(option);
                out.notes.push(note(
                    flag,
                    Fate::Note,
                    "the Dockerfile could not be read here: if it sets a `LABEL` with this key, Kaniko kept \
                     the Dockerfile's value and BuildKit keeps this one",
                ));
            }
        }
    }

    fn in_variable(&self, flag: &FlagUse, call: &Translation) -> Carried {
        mapped(match call.flavor {
            Flavor::Buildx => format!("--label={}", flag.raw),
            _ => format!("--opt=label:{}", flag.raw),
        })
    }
}

/// `--custom-platform`: `--opt platform=`, which now really emulates.
#[derive(Debug)]
pub(crate) struct CustomPlatform;

/// `--custom-platform` changes meaning: Kaniko only recorded it.
const EMULATION_NOTE: &str =
    "BuildKit really runs `RUN` steps for this platform: a foreign one needs QEMU on the runner";

impl Handler for CustomPlatform {
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation) {
        c.opts.push(Group::opt(Opt::Platform, &flag.raw));
        out.notes.push(note(flag, Fate::Note, EMULATION_NOTE));
    }

    fn in_variable(&self, flag: &FlagUse, call: &Translation) -> Carried {
        let word = match call.flavor {
            Flavor::Buildx => format!("--platform={}", flag.raw),
            _ => format!("--opt=platform={}", flag.raw),
        };
        Carried {
            word: Some(word),
            note: Some((Fate::Note, EMULATION_NOTE.into())),
        }
    }
}

/// `--verbosity`: `--debug` before `build` for debug and trace, else
/// BuildKit's default output.
#[derive(Debug)]
pub(crate) struct Verbosity;

impl Verbosity {
    fn is_debug(flag: &FlagUse) -> bool {
        matches!(flag.value.as_str(), "debug" | "trace")
    }

    fn default_output(flag: &FlagUse) -> (Fate, String) {
        (
            Fate::Dropped,
            format!("--verbosity={}: BuildKit's default output", flag.value),
        )
    }
}

impl Handler for Verbosity {
    fn collect<'f>(&self, flag: &'f FlagUse, _: &mut Collected<'f>, out: &mut Translation) {
        if Self::is_debug(flag) {
            out.global.push("--debug".to_string());
        } else {
            let (fate, message) = Self::default_output(flag);
            out.notes.push(note(flag, fate, message));
        }
    }

    fn in_variable(&self, flag: &FlagUse, _call: &Translation) -> Carried {
        if Self::is_debug(flag) {
            return gone(
                Fate::Blocked,
                "--verbosity=debug becomes `--debug`, which goes before `build`: write it in the call"
                    .into(),
            );
        }
        Carried {
            word: None,
            note: Some(Self::default_output(flag)),
        }
    }
}

/// Build argument names that usually carry credentials.
fn looks_secret(argument: &str) -> bool {
    let name = argument
        .split('=')
        .next()
        .unwrap_or(argument)
        .to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "SECRET",
        "CREDENTIAL",
        "PRIVATE_KEY",
        "API_KEY",
        "AUTH",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// `--build-arg K=V` keeps its quoting; a bare `K` takes the job's
/// environment value, as Kaniko did (empty when unset). A bare name no
/// shell variable can have (`'B C'`) was never in the environment: Kaniko
/// gave it an empty value, and so does the new argument.
fn build_arg(flag: &FlagUse) -> Result<Group, String> {
    if flag.value.contains('=') || flag.value.starts_with('$') {
        return Ok(Group::opt(Opt::BuildArg, &flag.raw));
    }
    let name = &flag.value;
    if name.is_empty() {
        return Err("`--build-arg ''` names no argument: remove it".into());
    }
    if quote::lone_variable(&format!("${name}")).is_some() {
        return Ok(Group::opt(
            Opt::BuildArg,
            &format!("\"{name}=${{{name}}}\""),
        ));
    }
    let text = in_double_quotes(&flag.raw).ok_or("--build-arg has an unclosed quote")?;
    Ok(Group::opt(Opt::BuildArg, &format!("\"{text}=\"")))
}
