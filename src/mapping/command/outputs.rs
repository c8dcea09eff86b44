//! The build's argument groups in order, ending with its outputs: an OCI
//! layout, a tarball, then the image.

use super::cache::cache_lines;
use super::collected::Collected;
use super::context::{Context, context_source, git_options};
use super::digests::{digest_lines, name_digest_lines};
use super::dockerfile::{dockerfile_lines, remote_dockerfile_line};
use super::groups::{Group, Local, Opt};
use super::registries::daemon_config;
use super::{Fate, FlagNote, Translation, Workspace};
use crate::kaniko::invocation::{Invocation, Problem};
use crate::mapping::quote::in_double_quotes;

pub(super) fn build_lines(
    call: &Invocation,
    c: &Collected,
    no_push: bool,
    workspace: &Workspace,
    out: &mut Translation,
) {
    out.groups.push(Group::Frontend);
    match context_source(call, c, workspace.ci, out) {
        Some(Context::Local(directory)) => {
            out.groups.push(Group::local(Local::Context, &directory));
            dockerfile_lines(c, &directory, workspace, out);
        }
        Some(Context::Remote(url)) => {
            out.groups
                .push(Group::Opt(Opt::Context, format!("\"context={url}\"")));
            remote_dockerfile_line(c, out);
        }
        None => {}
    }
    git_options(c, out);
    out.groups.extend(c.opts.iter().cloned());
    out.groups
        .extend(call.problems.iter().filter_map(|problem| match problem {
            Problem::Variable { raw, .. } => Some(Group::Passed(raw.clone())),
            _ => None,
        }));
    cache_lines(c, no_push, workspace, out);
    digest_lines(c, out);
    name_digest_lines(c, out);
    daemon_config(c, out);
    let names = c
        .destinations
        .iter()
        .map(|d| in_double_quotes(&d.raw))
        .collect::<Option<Vec<_>>>();
    let Some(names) = names else {
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span: call.span,
            message: "a destination has an unclosed quote".into(),
        });
        return;
    };
    let stamp = if c.reproducible {
        ",rewrite-timestamp=true"
    } else {
        ""
    };
    if let Some(layout) = c.oci_layout {
        let dest = in_double_quotes(&layout.raw).unwrap_or_else(|| layout.value.clone());
        out.groups.push(Group::Output(format!(
            "\"type=oci,dest={dest},tar=false{stamp}\""
        )));
    }
    if let Some(tar) = c.tar_path {
        let names = if names.is_empty() {
            "unset-repo/unset-image-name".to_string()
        } else {
            names.join(",")
        };
        let dest = in_double_quotes(&tar.raw).unwrap_or_else(|| tar.value.clone());
        out.groups.push(Group::Output(format!(
            "\"type=docker,dest={dest},\\\"name={names}\\\"{stamp}\""
        )));
    }
    // The image output comes last: exporters' results merge last-wins into
    // the metadata file, and a digest must come from the image.
    let push = if no_push { "false" } else { "true" };
    let mut attrs = vec![format!("push={push}")];
    attrs.extend(c.registry_attrs.iter().cloned());
    attrs.extend(c.image_attrs.iter().cloned());
    if c.reproducible {
        attrs.push("rewrite-timestamp=true".into());
    }
    // Destinations held in a variable become image outputs of their own,
    // with the same settings, whether or not the call names any itself.
    out.carried_output = carried_output(c, &attrs);
    let carries_flags = call
        .problems
        .iter()
        .any(|p| matches!(p, Problem::Variable { .. }));
    if !names.is_empty() {
        let name = format!("type=image,\\\"name={}\\\"", names.join(","));
        attrs.insert(0, name);
        out.groups
            .push(Group::Output(format!("\"{}\"", attrs.join(","))));
    } else if carries_flags {
        // Whatever the variable holds decides; its flags are mapped where
        // it is set.
    } else if !c.image_attrs.is_empty() {
        out.notes.push(FlagNote {
            fate: Fate::Dropped,
            span: call.span,
            message: "image output options dropped: with no destination there is no image output"
                .into(),
        });
    } else if !no_push && c.tar_path.is_none() {
        out.notes.push(FlagNote {
            fate: Fate::Note,
            span: call.span,
            message: "no --destination and no --no-push: Kaniko refused this; BuildKit only builds"
                .into(),
        });
    }
}

/// The attributes of an extra image output for destinations carried in a
/// variable. A variable's value is split on blanks and never unquoted, so
/// they must read as one word without quotes; and the outputs that list
/// every destination (a tarball, the digest files) cannot take more.
fn carried_output(c: &Collected, attrs: &[String]) -> Result<String, String> {
    if c.tar_path.is_some() {
        return Err("the --tar-path tarball names every destination".into());
    }
    let joined = attrs.join(",");
    if joined.contains(['"', '\\', '\'', ' ']) {
        return Err("the image output's settings need quotes".into());
    }
    Ok(joined)
}
