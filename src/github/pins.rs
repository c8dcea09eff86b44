//! The actions a migrated workflow uses, pinned, and how the file pins
//! the actions it already has.
//!
//! The one place their releases and commits are written. Each commit was
//! read from the action's own repository (its `git` tags, fetched
//! 2026-11-30): docker/setup-buildx-action v4.3.0 (2026-08-17),
//! docker/build-push-action v7.3.0 (2026-07-01), docker/login-action
//! v4.1.0 (2026-04-02).

/// An action the migration writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub repo: &'static str,
    pub version: &'static str,
    pub sha: &'static str,
}

pub const SETUP_BUILDX: Target = Target {
    repo: "docker/setup-buildx-action",
    version: "v4.3.0",
    sha: "37fe631027851001ddb9b187196cc803df7f5f0e",
};

pub const BUILD_PUSH: Target = Target {
    repo: "docker/build-push-action",
    version: "v7.3.0",
    sha: "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a",
};

pub const LOGIN: Target = Target {
    repo: "docker/login-action",
    version: "v4.1.0",
    sha: "4907a6ddec9925e35a0a9e82d7399ccc52663121",
};

/// How a file refers to the actions it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `owner/repo@<40 hex>  # vX.Y.Z`: pinned to commits.
    Sha,
    /// `owner/repo@vX.Y.Z`.
    Release,
    /// `owner/repo@vX`.
    Major,
}

impl Style {
    /// The style most of the file's remote actions use; ties go to the
    /// stricter style. A file with no remote action gets major tags, as
    /// GitHub's own starter workflows do.
    pub fn of(text: &str) -> Style {
        let (mut sha, mut release, mut major) = (0, 0, 0);
        for line in text.lines() {
            let Some(rest) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")
            else {
                continue;
            };
            let value = rest
                .split(" #")
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches(['"', '\'']);
            if value.starts_with("./") || value.starts_with("docker://") {
                continue;
            }
            let Some((_, reference)) = value.split_once('@') else {
                continue;
            };
            if reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
                sha += 1;
            } else if reference.starts_with('v') && reference.matches('.').count() >= 2 {
                release += 1;
            } else {
                major += 1;
            }
        }
        if sha > 0 && sha >= release && sha >= major {
            Style::Sha
        } else if release > 0 && release >= major {
            Style::Release
        } else {
            Style::Major
        }
    }

    /// `uses:` for `target` in this style, and the comment that goes
    /// after it (the release, for a commit pin).
    pub fn uses(self, target: Target) -> (String, Option<String>) {
        match self {
            Style::Sha => (
                format!("{}@{}", target.repo, target.sha),
                Some(format!("# {}", target.version)),
            ),
            Style::Release => (format!("{}@{}", target.repo, target.version), None),
            Style::Major => {
                let major = target.version.split('.').next().unwrap_or(target.version);
                (format!("{}@{major}", target.repo), None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_own_style_wins() {
        let sha = "steps:\n  - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n";
        assert_eq!(Style::of(sha), Style::Sha);
        assert_eq!(
            Style::of("- uses: actions/checkout@v4.2.2\n"),
            Style::Release
        );
        assert_eq!(Style::of("- uses: actions/checkout@v4\n"), Style::Major);
        assert_eq!(Style::of("- run: make\n"), Style::Major);
        assert_eq!(
            Style::Sha.uses(BUILD_PUSH),
            (
                "docker/build-push-action@53b7df96c91f9c12dcc8a07bcb9ccacbed38856a".to_string(),
                Some("# v7.3.0".to_string())
            )
        );
        assert_eq!(Style::Major.uses(LOGIN).0, "docker/login-action@v4");
    }
}
