//! The Kaniko actions of the marketplace the tool knows, read from their
//! own sources: their inputs, by version, and what each becomes.
//!
//! - `aevea/action-kaniko` (a Docker action: `entrypoint.sh` builds the
//!   executor's arguments from the inputs). Read at every tag from v0.1 to
//!   v0.14.0 and at `master` (a198175). Migration supports v0.6.0 to
//!   v0.14.0 and `master`/`main`; earlier tags had no `path` input and
//!   built from the whole workspace with the Dockerfile relative to the
//!   runner's working directory, and are left alone.
//! - `int128/kaniko-action` (a JavaScript action that runs `docker run
//!   <executor> …`, `src/run.ts`), read at v1.69.0 (4162b90, also `v1`);
//!   its forks keep its name and inputs.

/// An action a `uses:` names: `owner/repo[/path]@ref`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionRef {
    /// `owner/repo`, as written.
    pub repo: String,
    pub path: Option<String>,
    pub reference: String,
}

/// Reads `uses:`. `None` for a local action (`./x`) or a container
/// (`docker://…`).
pub fn parse_uses(uses: &str) -> Option<ActionRef> {
    let uses = uses.trim();
    if uses.starts_with("./") || uses.starts_with("docker://") {
        return None;
    }
    let (name, reference) = uses.split_once('@')?;
    let mut parts = name.splitn(3, '/');
    let owner = parts.next()?;
    let repo = parts.next()?;
    Some(ActionRef {
        repo: format!("{owner}/{repo}"),
        path: parts.next().map(str::to_string),
        reference: reference.to_string(),
    })
}

/// The Kaniko actions the tool knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Known {
    Aevea,
    /// `int128/kaniko-action` or a fork of it.
    Int128,
}

impl Known {
    pub fn of(action: &ActionRef) -> Option<Known> {
        let repo = action.repo.to_ascii_lowercase();
        if action.path.is_some() {
            return None;
        }
        if repo == "aevea/action-kaniko" {
            Some(Known::Aevea)
        } else if repo.ends_with("/kaniko-action") {
            Some(Known::Int128)
        } else {
            None
        }
    }

    pub fn inputs(self) -> &'static [Input] {
        match self {
            Known::Aevea => AEVEA_INPUTS,
            Known::Int128 => INT128_INPUTS,
        }
    }

    pub fn input(self, name: &str) -> Option<&'static Input> {
        self.inputs().iter().find(|input| input.name == name)
    }

    /// The outputs later steps may read as `steps.<id>.outputs.<name>`,
    /// at `version` (aevea's appeared in v0.11.0).
    pub fn outputs(self, version: Option<Version>) -> &'static [&'static str] {
        match self {
            Known::Aevea if version.is_none_or(|v| v >= Version(0, 11, 0)) => {
                &["image", "digest", "image-tag-digest", "refreshed"]
            }
            Known::Aevea => &[],
            Known::Int128 => &["digest"],
        }
    }
}

/// A release, `vMAJOR.MINOR.PATCH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The oldest and newest aevea releases the migration reads.
pub const AEVEA_SUPPORTED: (Version, Version) = (Version(0, 6, 0), Version(0, 14, 0));

/// aevea's tags and the commits they name (`git ls-remote --tags
/// https://github.com/aevea/action-kaniko`, 2026-11-30), so that a SHA pin
/// is read as its release.
const AEVEA_TAGS: &[(&str, &str)] = &[
    ("v0.1", "b3514326745be33ee1cb499d5dfc664b73419ae3"),
    ("v0.2", "6d863aedece584766f42d2ac0573ff0a4b7293c1"),
    ("v0.2.1", "4a68ad0e14f3a6180bb9c5aadc4b5d208c54b861"),
    ("v0.3", "6c131bc4a8b336858c544c084e7f8b9211568c3c"),
    ("v0.3.1", "3e63daf6fed2cbc94479052d73807cbd30bbce4b"),
    ("v0.3.2", "73a7639472a047455f8f36e0a70dfe40041875a5"),
    ("v0.4.0", "57d6d22cdfd90fbb17f7ecf4a1562346d7f24650"),
    ("v0.5.0", "daf41b1e5403adf909e95a780aaa970c7376963f"),
    ("v0.5.1", "6030da03d422865880c3b57c6142788bb5c6c575"),
    ("v0.6.0", "5e25ae9c63e13a7e79955b4ff2d600732449fdf6"),
    ("v0.6.1", "49888d43ab6af132df9bda1669f9588e8d792811"),
    ("v0.6.2", "8e9a42340097df535b530c49820ac36fe8428f31"),
    ("v0.7.0", "dc591110ccb8df6e5876d0d526c564f4408757ad"),
    ("v0.7.1", "a5055cd00751f1beb018792aa62d34334a3185bf"),
    ("v0.8.0", "a4abaead4857a69bbbcc82ef01452500d71f7b1d"),
    ("v0.9.0", "57fd639926c415a2fa4150ac72230eb5758ff48b"),
    ("v0.10.0", "83ddee1c8b2f6e5b22b0985c5b3a8288f76c25b0"),
    ("v0.11.0", "16c18d6aee7876c41524f5e6f920f76c0a99e7a0"),
    ("v0.12.0", "8de7c88b27e89ec2a3087d3351b2fee0ced7d8f8"),
    ("v0.12.1", "12a3a8cc81dbbbee747b7e8a1927156154b47cc8"),
    ("v0.13.0", "9223ef89b8302afed279fc956849bfd45d7686d2"),
    ("v0.14.0", "be5ce625a52485739db88cc75ebb8a9f8d269bd4"),
];

/// Which aevea release a `@ref` runs. `Ok(None)` for a branch that follows
/// the newest code (`master`, `main`); `Err` names a reference the tool
/// cannot place.
pub fn aevea_version(reference: &str) -> Result<Option<Version>, String> {
    if matches!(reference, "master" | "main") {
        return Ok(None);
    }
    let tag = AEVEA_TAGS
        .iter()
        .find(|(_, sha)| sha.starts_with(reference) && reference.len() >= 7)
        .map_or(reference, |(tag, _)| tag);
    parse_version(tag).map(Some).ok_or_else(|| {
        format!("`@{reference}` is not a release or commit of aevea/action-kaniko the tool knows")
    })
}

fn parse_version(tag: &str) -> Option<Version> {
    let mut parts = tag.strip_prefix('v')?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    Some(Version(major, minor, patch))
}

/// One input of a known action: since which release it exists (aevea) and
/// what the migration makes of it, for the labels and the docs.
pub struct Input {
    pub name: &'static str,
    pub since: Version,
    pub becomes: &'static str,
}

const V0: Version = Version(0, 0, 0);

const fn input(name: &'static str, since: Version, becomes: &'static str) -> Input {
    Input {
        name,
        since,
        becomes,
    }
}

/// aevea/action-kaniko's inputs (action.yml) and their fate.
pub static AEVEA_INPUTS: &[Input] = &[
    input("image", V0, "`tags:` (with `registry` and `tag`)"),
    input(
        "registry",
        V0,
        "`tags:` and `docker/login-action`'s `registry`",
    ),
    input("tag", V0, "`tags:` (default: the branch or tag name)"),
    input(
        "tag_with_latest",
        Version(0, 5, 0),
        "a second `tags:` line, `:latest`",
    ),
    input("path", Version(0, 5, 0), "`context:`"),
    input("build_file", V0, "`file:` (relative to `path`)"),
    input("target", Version(0, 5, 0), "`target:`"),
    input(
        "cache",
        V0,
        "`cache-from`/`cache-to` with `cache_registry`, else dropped",
    ),
    input(
        "cache_registry",
        V0,
        "`cache-from`/`cache-to: type=registry`",
    ),
    input(
        "cache_ttl",
        V0,
        "dropped: a registry cache has no expiry (unsafe)",
    ),
    input(
        "cache_directory",
        V0,
        "not migrated: a local cache directory",
    ),
    input(
        "extra_args",
        V0,
        "each executor flag mapped by the flag table",
    ),
    input("username", V0, "`docker/login-action`'s `username`"),
    input("password", V0, "`docker/login-action`'s `password`"),
    input(
        "strip_tag_prefix",
        Version(0, 3, 0),
        "applied to a literal `tag`, else not migrated",
    ),
    input(
        "skip_unchanged_digest",
        Version(0, 4, 0),
        "not migrated: no build-push-action counterpart",
    ),
    input(
        "debug",
        Version(0, 8, 0),
        "dropped: it traced the action's own script",
    ),
];

/// int128/kaniko-action's inputs (action.yaml at v1.69.0) and their fate.
pub static INT128_INPUTS: &[Input] = &[
    input("executor", V0, "dropped: the Kaniko image to run"),
    input(
        "cache",
        V0,
        "`cache-from`/`cache-to` with `cache-repository`",
    ),
    input(
        "cache-repository",
        V0,
        "`cache-from`/`cache-to: type=registry`",
    ),
    input(
        "cache-ttl",
        V0,
        "dropped: a registry cache has no expiry (unsafe)",
    ),
    input("push-retry", V0, "dropped: BuildKit retries pushes itself"),
    input(
        "registry-mirror",
        V0,
        "not migrated: a mirror is set on the builder",
    ),
    input(
        "verbosity",
        V0,
        "dropped: BuildKit's log level is the builder's",
    ),
    input(
        "kaniko-args",
        V0,
        "each executor flag mapped by the flag table",
    ),
    input(
        "docker-run-args",
        V0,
        "not migrated: arguments of the Kaniko container",
    ),
    input("build-args", V0, "`build-args:`"),
    input("context", V0, "`context:` (default `.`)"),
    input("file", V0, "`file:`"),
    input("labels", V0, "`labels:`"),
    input("push", V0, "`push:`"),
    input("tags", V0, "`tags:`"),
    input("target", V0, "`target:`"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_is_read() {
        assert_eq!(
            parse_uses("aevea/action-kaniko@v0.6.1"),
            Some(ActionRef {
                repo: "aevea/action-kaniko".into(),
                path: None,
                reference: "v0.6.1".into()
            })
        );
        assert_eq!(parse_uses("./local"), None);
        assert_eq!(parse_uses("docker://gcr.io/kaniko-project/executor"), None);
        assert_eq!(
            parse_uses("o/r/sub@v1").unwrap().path.as_deref(),
            Some("sub")
        );
    }

    #[test]
    fn versions_from_tags_branches_and_shas() {
        assert_eq!(aevea_version("v0.6.1"), Ok(Some(Version(0, 6, 1))));
        assert_eq!(aevea_version("master"), Ok(None));
        assert_eq!(
            aevea_version("be5ce625a52485739db88cc75ebb8a9f8d269bd4"),
            Ok(Some(Version(0, 14, 0)))
        );
        assert!(aevea_version("feature-x").is_err());
    }

    #[test]
    fn forks_keep_the_name() {
        let fork = parse_uses("someone/kaniko-action@v1").unwrap();
        assert_eq!(Known::of(&fork), Some(Known::Int128));
        let other = parse_uses("someone/my-kaniko@v1").unwrap();
        assert_eq!(Known::of(&other), None);
    }
}
