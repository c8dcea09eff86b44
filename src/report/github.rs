//! `--output-format github`: GitHub Actions workflow commands, one line per
//! finding, for projects that mirror to GitHub. The runner turns them into
//! annotations on the pull request's files.

use std::fmt::Write as _;

use super::{Checked, each, range, report_path};
use crate::rules::Severity;

/// `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=rule::message`.
pub fn render_github(checked: &[Checked]) -> String {
    let mut out = String::new();
    for (pipeline, finding) in each(checked) {
        let (start, end) = range(pipeline, finding);
        let command = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            property(&report_path(&pipeline.files[finding.file].name)),
            start.line,
            start.column,
            end.line,
            end.column,
            property(finding.rule.code()),
            data(&finding.message),
        );
    }
    out
}

/// The message part: `%`, CR and LF are percent-encoded, as the runner's
/// `escapeData` does, so a message cannot end the command early.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: also `:` and `,`, which separate properties.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_runner() {
        assert_eq!(data("50% a:b,c\r\nd"), "50%25 a:b,c%0D%0Ad");
        assert_eq!(property("C:\\ci,x.yml"), "C%3A\\ci%2Cx.yml");
    }
}
