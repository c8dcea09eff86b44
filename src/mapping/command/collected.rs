//! What the flags of one call feed, gathered before any argument is
//! written: several flags combine into one BuildKit option, so each flag's
//! handler files its use here and the modules that write the arguments read
//! them together.

use std::path::Path;

use super::dockerfile;
use super::groups::Group;
use crate::kaniko::invocation::{FlagUse, Invocation};

/// Values of the flags that combine into one BuildKit argument.
pub(crate) struct Collected<'f> {
    pub context: Option<&'f FlagUse>,
    pub dockerfile: Option<&'f FlagUse>,
    pub destinations: Vec<&'f FlagUse>,
    pub cache: Option<&'f FlagUse>,
    pub cache_repo: Option<&'f FlagUse>,
    pub no_push: Option<&'f FlagUse>,
    pub tar_path: Option<&'f FlagUse>,
    pub oci_layout: Option<&'f FlagUse>,
    pub digest_file: Option<&'f FlagUse>,
    /// `--image-name-with-digest-file`.
    pub name_digest_file: Option<&'f FlagUse>,
    /// `--image-name-tag-with-digest-file`.
    pub name_tag_digest_file: Option<&'f FlagUse>,
    pub context_sub_path: Option<&'f FlagUse>,
    /// `--git key=value` uses, for a `git://` context.
    pub git: Vec<&'f FlagUse>,
    /// Options of the Dockerfile frontend and `--secret`s, in flag order.
    pub opts: Vec<Group>,
    /// Attributes of the image output, as text inside its double quotes.
    pub image_attrs: Vec<String>,
    /// Attributes every registry output and cache takes (`registry.insecure`).
    pub registry_attrs: Vec<String>,
    /// `rewrite-timestamp=true` on every output, for `--reproducible`.
    pub reproducible: bool,
    /// `--no-push-cache`: import the cache but never export it.
    pub no_push_cache: bool,
    /// Where `--no-push-cache` was written, for its note.
    pub no_push_cache_flag: Option<&'f FlagUse>,
    /// Per-registry daemon settings, by host as written (double-quote text).
    pub registries: Vec<(String, HostSettings)>,
    pub skip_tls_verify: Option<&'f FlagUse>,
    /// `KANIKO_NO_PUSH=true`, which `--no-push` overrides.
    pub no_push_setting: bool,
    /// The call, for what a flag needs to know of the others.
    call: &'f Invocation,
    /// The project root, where the Dockerfile may be read.
    root: Option<&'f Path>,
    /// The keys the Dockerfile's own `LABEL`s set, once read (`None` inside
    /// when it could not be).
    dockerfile_labels: Option<Option<Vec<String>>>,
}

/// One `[registry."host"]` table of `buildkitd.toml`.
#[derive(Default)]
pub(crate) struct HostSettings {
    pub mirrors: Vec<String>,
    pub http: bool,
    pub insecure: bool,
    pub ca: Vec<String>,
    pub keypairs: Vec<(String, String)>,
}

impl<'f> Collected<'f> {
    pub fn new(call: &'f Invocation, root: Option<&'f Path>) -> Self {
        Collected {
            context: None,
            dockerfile: None,
            destinations: Vec::new(),
            cache: None,
            cache_repo: None,
            no_push: None,
            tar_path: None,
            oci_layout: None,
            digest_file: None,
            name_digest_file: None,
            name_tag_digest_file: None,
            context_sub_path: None,
            git: Vec::new(),
            opts: Vec::new(),
            image_attrs: Vec::new(),
            registry_attrs: Vec::new(),
            reproducible: false,
            no_push_cache: false,
            no_push_cache_flag: None,
            registries: Vec::new(),
            skip_tls_verify: None,
            no_push_setting: false,
            call,
            root,
            dockerfile_labels: None,
        }
    }

    pub fn host(&mut self, name: &str) -> &mut HostSettings {
        let index = match self.registries.iter().position(|(host, _)| host == name) {
            Some(index) => index,
            None => {
                self.registries
                    .push((name.to_string(), HostSettings::default()));
                self.registries.len() - 1
            }
        };
        &mut self.registries[index].1
    }

    /// Whether the call's Dockerfile sets a `LABEL` with this key; `None`
    /// when the Dockerfile cannot be read now. Reading it is I/O, so it
    /// happens once, and only for a call that has a `--label`.
    pub fn dockerfile_sets_label(&mut self, key: &str) -> Option<bool> {
        let (call, root) = (self.call, self.root);
        let keys = self
            .dockerfile_labels
            .get_or_insert_with(|| dockerfile::dockerfile_labels(call, root));
        keys.as_ref().map(|keys| keys.iter().any(|k| k == key))
    }
}
