//! One argument group of `buildctl build`, as data: what it is, and its word
//! as buildctl takes it. buildctl's text is the word behind its option; the
//! buildx flavour ([`crate::mapping::flavor::buildx_arguments`]) writes each
//! kind its own way, or refuses it, by its kind rather than by its text.

use crate::mapping::quote::prefixed;

/// An argument group. The string is the shell word after the option, as
/// buildctl gets it (quotes included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    /// `--frontend dockerfile.v0`.
    Frontend,
    /// `--local NAME=DIR`.
    Local(Local, String),
    /// `--opt KEY=VALUE` of the Dockerfile frontend.
    Opt(Opt, String),
    /// `--secret id=X,...`.
    Secret(String),
    /// `--import-cache ...`.
    ImportCache(String),
    /// `--export-cache ...`.
    ExportCache(String),
    /// `--output ...`.
    Output(String),
    /// `--metadata-file FILE`.
    MetadataFile(String),
    /// `--registry-auth-tlscontext host=...`: the TLS settings buildctl
    /// itself uses to fetch registry tokens.
    RegistryTls(String),
    /// A word passed on as written: a `$VAR` that may hold options.
    Passed(String),
}

/// The local sources of a build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Local {
    Context,
    Dockerfile,
}

impl Local {
    pub fn prefix(self) -> &'static str {
        match self {
            Local::Context => "context=",
            Local::Dockerfile => "dockerfile=",
        }
    }
}

/// The Dockerfile frontend's options that the translation writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opt {
    BuildArg,
    Label,
    Target,
    Platform,
    /// The Dockerfile's name in its directory or remote context.
    Filename,
    /// A remote context's URL.
    Context,
    /// A directory inside a remote context.
    ContextSubdir,
}

impl Opt {
    /// The text before the value, inside the word.
    pub fn prefix(self) -> &'static str {
        match self {
            Opt::BuildArg => "build-arg:",
            Opt::Label => "label:",
            Opt::Target => "target=",
            Opt::Platform => "platform=",
            Opt::Filename => "filename=",
            Opt::Context => "context=",
            Opt::ContextSubdir => "contextsubdir=",
        }
    }
}

impl Group {
    /// `--opt KEY=VALUE` for a value as written, its quotes kept around
    /// the whole word.
    pub fn opt(opt: Opt, raw: &str) -> Group {
        Group::Opt(opt, prefixed(opt.prefix(), raw))
    }

    /// `--local NAME=DIR` for a directory as written.
    pub fn local(local: Local, raw: &str) -> Group {
        Group::Local(local, prefixed(local.prefix(), raw))
    }

    /// The group as buildctl's text.
    pub fn text(&self) -> String {
        let (option, word) = match self {
            Group::Frontend => return "--frontend dockerfile.v0".to_string(),
            Group::Passed(word) => return word.clone(),
            Group::Local(_, word) => ("--local", word),
            Group::Opt(_, word) => ("--opt", word),
            Group::Secret(word) => ("--secret", word),
            Group::ImportCache(word) => ("--import-cache", word),
            Group::ExportCache(word) => ("--export-cache", word),
            Group::Output(word) => ("--output", word),
            Group::MetadataFile(word) => ("--metadata-file", word),
            Group::RegistryTls(word) => ("--registry-auth-tlscontext", word),
        };
        format!("{option} {word}")
    }
}
