//! Buildkite's upload-time interpolation, read and written.
//!
//! `buildkite-agent pipeline upload` replaces `$VAR` and `${VAR}` (with
//! `:-`, `-`, `?` forms) in every value of the pipeline from the uploading
//! agent's environment and the pipeline's `env:`, and turns `$$` and `\$`
//! into a literal `$` that reaches the agent, where the step's shell expands
//! it at run time.
//!
//! The shell reader and the translation work on the text the agent runs. An
//! upload-time variable is kept apart there by a name prefix
//! ([`UPLOAD_PREFIX`]): `$REG` reads as `$__k2b_upload_REG`, still a
//! variable to the shell reader (its value cannot be seen here), and
//! [`to_pipeline`] gives it back as `$REG`, while every run-time `$` the
//! new text holds is written `$$`.

use std::ops::Range;

/// Marks an upload-time variable inside agent text.
pub const UPLOAD_PREFIX: &str = "__k2b_upload_";

/// A decoded YAML value as the agent receives it.
#[derive(Debug)]
pub struct AgentText {
    pub text: String,
    /// For each byte of `text`, the decoded range it stands for.
    origin: Vec<(u32, u32)>,
    decoded_len: usize,
}

impl AgentText {
    /// Reads a decoded value.
    pub fn new(decoded: &str) -> AgentText {
        let bytes = decoded.as_bytes();
        let mut out = AgentText {
            text: String::with_capacity(decoded.len()),
            origin: Vec::with_capacity(decoded.len()),
            decoded_len: decoded.len(),
        };
        let mut i = 0;
        while i < bytes.len() {
            let rest = &decoded[i..];
            if rest.starts_with("$$") || rest.starts_with("\\$") {
                out.push("$", i, i + 2);
                i += 2;
                continue;
            }
            if let Some(skip) = upload_variable(rest) {
                // `$` or `${`, then the prefix, then the name as written.
                let head = if rest.starts_with("${") { 2 } else { 1 };
                out.push(&rest[..head], i, i + head);
                let at = (i + head) as u32;
                for b in UPLOAD_PREFIX.bytes() {
                    out.text.push(b as char);
                    out.origin.push((at, at));
                }
                out.push(&rest[head..skip], i + head, i + skip);
                i += skip;
                continue;
            }
            let len = rest.chars().next().map_or(1, char::len_utf8);
            out.push(&rest[..len], i, i + len);
            i += len;
        }
        out
    }

    fn push(&mut self, piece: &str, start: usize, end: usize) {
        self.text.push_str(piece);
        for _ in 0..piece.len() {
            self.origin.push((start as u32, end as u32));
        }
    }

    /// The decoded range a range of the agent text came from.
    pub fn decoded_range(&self, range: Range<usize>) -> Range<usize> {
        if range.start >= self.origin.len() {
            return self.decoded_len..self.decoded_len;
        }
        let start = self.origin[range.start].0 as usize;
        let end = match range.end.checked_sub(1) {
            Some(last) if last >= range.start => self.origin[last.min(self.origin.len() - 1)].1,
            _ => self.origin[range.start].0,
        };
        start..(end as usize).max(start)
    }
}

/// The length of `$NAME` or `${NAME...}` at the start of `text`, when it is
/// an upload-time variable Buildkite expands.
fn upload_variable(text: &str) -> Option<usize> {
    let rest = text.strip_prefix('$')?;
    let name_len = |s: &str| {
        let first = s.chars().next()?;
        (first.is_ascii_alphabetic() || first == '_').then(|| {
            s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(s.len())
        })
    };
    if let Some(braced) = rest.strip_prefix('{') {
        name_len(braced)?;
        let close = braced.find('}')?;
        return Some(2 + close + 1);
    }
    Some(1 + name_len(rest)?)
}

/// Text for the agent written back as a pipeline value: each run-time `$`
/// becomes `$$`, upload-time variables are as they were written. `None`
/// when the text holds `\$`, which Buildkite would read as an escape.
pub fn to_pipeline(agent: &str) -> Option<String> {
    if agent.contains("\\$") {
        return None;
    }
    let escaped = agent.replace('$', "$$");
    Some(
        escaped
            .replace(&format!("$${{{UPLOAD_PREFIX}"), "${")
            .replace(&format!("$${UPLOAD_PREFIX}"), "$"),
    )
}

/// Removes the upload marks from agent text, for messages: `$REG` as the
/// user wrote it.
pub fn unmark(agent: &str) -> String {
    agent.replace(UPLOAD_PREFIX, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_upload_variables() {
        let decoded = "echo $$HOME ${REG}/x $TAG \\$Y $1 $(date)";
        let agent = AgentText::new(decoded);
        assert_eq!(
            agent.text,
            "echo $HOME ${__k2b_upload_REG}/x $__k2b_upload_TAG $Y $1 $(date)"
        );
        // `$HOME` came from `$$HOME`.
        assert_eq!(agent.decoded_range(5..10), 5..11);
        let reg = agent.text.find("${").unwrap();
        let end = agent.text.find("/x").unwrap();
        assert_eq!(&decoded[agent.decoded_range(reg..end)], "${REG}");
    }

    #[test]
    fn written_back_as_buildkite_reads_it() {
        let agent = AgentText::new("a ${REG:-x} $$B $C");
        assert_eq!(to_pipeline(&agent.text).unwrap(), "a ${REG:-x} $$B $C");
        assert_eq!(to_pipeline("\"$HOME\"/x").unwrap(), "\"$$HOME\"/x");
        assert_eq!(to_pipeline("a \\$b"), None);
        assert_eq!(unmark(&agent.text), "a ${REG:-x} $B $C");
    }
}
