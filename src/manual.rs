//! What a CLI of this ecosystem ships beside `--help`: shell completions
//! (`clap_complete`) and a manual page (`clap_mangen`), both generated from
//! the one clap definition so they cannot drift from the real options.
//! `docs/kaniko2buildkit.1` is the page as generated; a test fails when it
//! is stale.

use std::io::Write;

use clap::CommandFactory;

use crate::check::{EXIT_CLEAN, EXIT_ERROR, Output};
use crate::cli::Cli;

/// `kaniko2buildkit completions SHELL`.
pub fn completions(shell: clap_complete::Shell, out: &mut Output) -> u8 {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "kaniko2buildkit", &mut script);
    finish(out, &script)
}

/// `kaniko2buildkit man`.
pub fn man_page(out: &mut Output) -> u8 {
    match render_man_page() {
        Ok(page) => finish(out, &page),
        Err(error) => {
            let _ = writeln!(out.stderr, "error: cannot render the manual page: {error}");
            EXIT_ERROR
        }
    }
}

/// The manual page: the top-level page, then one section per command, as
/// `git help` pages list their options.
pub fn render_man_page() -> std::io::Result<Vec<u8>> {
    let command = Cli::command();
    let mut page = Vec::new();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    for sub in command.get_subcommands() {
        let name = sub.get_name();
        writeln!(
            page,
            ".SH \"{}\"",
            format!("KANIKO2BUILDKIT {name}").to_uppercase()
        )?;
        let sub_man =
            clap_mangen::Man::new(sub.clone().bin_name(format!("kaniko2buildkit {name}")));
        let mut section = Vec::new();
        sub_man.render_description_section(&mut section)?;
        sub_man.render_synopsis_section(&mut section)?;
        sub_man.render_options_section(&mut section)?;
        if sub.get_after_help().is_some() {
            sub_man.render_extra_section(&mut section)?;
        }
        // One page: the sub-pages' own section headers become subsections.
        let section = examples(&String::from_utf8_lossy(&section)).replace(".SH ", ".SS ");
        page.extend_from_slice(section.as_bytes());
    }
    let mut extra = Vec::new();
    man.render_extra_section(&mut extra)?;
    page.extend_from_slice(examples(&String::from_utf8_lossy(&extra)).as_bytes());
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// clap_mangen titles `after_help` "EXTRA"; here it holds the examples.
fn examples(section: &str) -> String {
    section.replace(".SH EXTRA", ".SH EXAMPLES")
}

fn finish(out: &mut Output, bytes: &[u8]) -> u8 {
    match out
        .stdout
        .write_all(bytes)
        .and_then(|()| out.stdout.flush())
    {
        Ok(()) => EXIT_CLEAN,
        Err(_) => EXIT_ERROR,
    }
}
