//! The digest files Kaniko wrote (`--digest-file`, `--image-name-with-digest-file`,
//! `--image-name-tag-with-digest-file`), written after the build from
//! buildctl's metadata file.

use super::collected::Collected;
use super::groups::Group;
use super::{Fate, FlagNote, Translation};
use crate::kaniko::invocation::FlagUse;
use crate::mapping::quote::in_double_quotes;

/// Where buildctl writes the build's metadata, for the digest file.
const METADATA_FILE: &str = "\"${TMPDIR:-/tmp}/kaniko2buildkit-metadata.json\"";

/// `--digest-file F`: buildctl writes the digest into its metadata file, and
/// a busybox-only step copies it to F as Kaniko wrote it: the bare
/// `sha256:...`, no line break, parent directories created.
pub(super) fn digest_lines(c: &Collected, out: &mut Translation) {
    let Some(flag) = c.digest_file else { return };
    let Some(file) = digest_target(flag, c, out) else {
        return;
    };
    metadata_line(out);
    out.after
        .push(format!("mkdir -p \"$(dirname \"{file}\")\""));
    out.after.push(format!(
        "sed -n {DIGEST_SED} {METADATA_FILE} | tr -d '\\n' > \"{file}\""
    ));
}

/// Reads `containerimage.digest` out of the metadata file with busybox `sed`.
const DIGEST_SED: &str = r#"'s/.*"containerimage\.digest":[[:space:]]*"\([^"]*\)".*/\1/p'"#;

/// The file a digest flag names, as text for double quotes; `None`, with a
/// blocker, when there is nothing to take a digest of or the path cannot
/// be read.
fn digest_target(flag: &FlagUse, c: &Collected, out: &mut Translation) -> Option<String> {
    let blocked = |message: String| FlagNote {
        fate: Fate::Blocked,
        span: flag.span,
        message,
    };
    if flag.value.starts_with("https://") || flag.value.starts_with("http://") {
        let message = format!(
            "--{} to a URL: Kaniko sent it with HTTP PUT, which the BuildKit image cannot do",
            flag.spec.name
        );
        out.notes.push(blocked(message));
        return None;
    }
    if c.destinations.is_empty() {
        let message = format!("--{} needs a --destination", flag.spec.name);
        out.notes.push(blocked(message));
        return None;
    }
    let file = in_double_quotes(&flag.raw);
    if file.is_none() {
        let message = format!("--{} has an unclosed quote", flag.spec.name);
        out.notes.push(blocked(message));
    }
    file
}

fn metadata_line(out: &mut Translation) {
    let group = Group::MetadataFile(METADATA_FILE.to_string());
    if !out.groups.contains(&group) {
        out.groups.push(group);
    }
}

/// Turns an image reference in `$_k2b_r` into go-containerregistry's full
/// repository (`$_k2b_n`) and tag (`$_k2b_t`), as Kaniko named images in its digest
/// files: a first part without `.` or `:` is a Docker Hub repository,
/// `docker.io` is `index.docker.io`, a one-part Hub name gets `library/`,
/// and the tag defaults to `latest`. Busybox `sh` only.
const NORMALISE_REFERENCE: &str = concat!(
    r#"_k2b_n="${_k2b_r%%@*}"; _k2b_l="${_k2b_n##*/}"; "#,
    r#"case "$_k2b_l" in *:*) _k2b_t="${_k2b_l##*:}"; _k2b_n="${_k2b_n%:*}";; *) _k2b_t=latest;; esac; "#,
    r#"case "$_k2b_n" in */*) case "${_k2b_n%%/*}" in *.*|*:*) ;; *) _k2b_n="index.docker.io/$_k2b_n";; esac;; *) _k2b_n="index.docker.io/$_k2b_n";; esac; "#,
    r#"case "$_k2b_n" in docker.io/*) _k2b_n="index.docker.io/${_k2b_n#docker.io/}";; esac; "#,
    r#"case "$_k2b_n" in index.docker.io/*/*) ;; index.docker.io/*) _k2b_n="index.docker.io/library/${_k2b_n#index.docker.io/}";; esac"#,
);

/// `--image-name-with-digest-file` and `--image-name-tag-with-digest-file`:
/// one `REPOSITORY@DIGEST` (or `REPOSITORY:TAG@DIGEST`) line per
/// destination, in order, written from the metadata file's digest. When
/// both flags are given Kaniko put tags in both files; so does this.
pub(super) fn name_digest_lines(c: &Collected, out: &mut Translation) {
    let both = c.name_digest_file.is_some() && c.name_tag_digest_file.is_some();
    // The name file takes tags only when the tag file is given too.
    let files = [
        (c.name_digest_file, both, both),
        (c.name_tag_digest_file, true, false),
    ];
    for (flag, with_tag, tags_because_both) in files {
        let Some(flag) = flag else { continue };
        let Some(file) = digest_target(flag, c, out) else {
            continue;
        };
        let Some(names) = c
            .destinations
            .iter()
            .map(|d| in_double_quotes(&d.raw).map(|text| format!("\"{text}\"")))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        metadata_line(out);
        let line = if with_tag { "%s:%s@%s\\n" } else { "%s@%s\\n" };
        let fields = if with_tag {
            "\"$_k2b_n\" \"$_k2b_t\" \"$_k2b_d\""
        } else {
            "\"$_k2b_n\" \"$_k2b_d\""
        };
        out.after
            .push(format!("mkdir -p \"$(dirname \"{file}\")\""));
        out.after.push(format!(
            "_k2b_d=\"$(sed -n {DIGEST_SED} {METADATA_FILE})\" && for _k2b_r in {}; do {NORMALISE_REFERENCE}; printf '{line}' {fields}; done > \"{file}\"",
            names.join(" ")
        ));
        if tags_because_both {
            out.notes.push(FlagNote {
                fate: Fate::Note,
                span: flag.span,
                message: "with --image-name-tag-with-digest-file also given, Kaniko wrote tags into this file too; so does the new step".into(),
            });
        }
    }
}
