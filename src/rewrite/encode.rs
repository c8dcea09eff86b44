//! Writing new text into a scalar in the scalar's own style.
//!
//! A command is made of logical lines (the program, then one argument group
//! per line). How they land in the file depends on the scalar that holds
//! them, and the convention is documented in `docs/rewrite.md`:
//! - literal `|` blocks get `\` continuations, indented two spaces more;
//! - plain and folded `>` scalars get one group per line at the scalar's
//!   indentation, which YAML folds back into one shell line;
//! - quoted scalars stay on one line, with the quote's escapes.

use crate::yaml::ScalarStyle;

/// Where a scalar's text lives, for laying out new lines inside it.
#[derive(Clone, Debug)]
pub struct Layout {
    pub style: ScalarStyle,
    /// Indentation of continuation lines in the file: a block's content
    /// indentation, or a plain scalar's continuation indentation.
    pub indent: String,
    /// `\n` or `\r\n`, as the file uses.
    pub line_end: &'static str,
    /// Inside `[...]` or `{...}`, where `,` and brackets end a plain scalar.
    pub in_flow: bool,
}

/// New text for a range of a scalar: as written in the file, and as the
/// scalar's decoded value will read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub source: String,
    pub decoded: String,
}

/// Encodes `lines` for `layout`. `line_indent` is the indentation, inside the
/// decoded value, of the line where the text starts (a command inside a
/// `for` loop body). `None` when the style cannot hold the text.
pub fn encode(layout: &Layout, lines: &[String], line_indent: &str) -> Option<Encoded> {
    let eol = layout.line_end;
    match layout.style {
        ScalarStyle::Literal { .. } => {
            let continuation = format!("{line_indent}  ");
            let decoded = lines.join(&format!(" \\\n{continuation}"));
            let source = lines.join(&format!(" \\{eol}{}{continuation}", layout.indent));
            Some(Encoded { source, decoded })
        }
        ScalarStyle::Folded { .. } => {
            let decoded = lines.join(" ");
            let source = lines.join(&format!("{eol}{}", layout.indent));
            lines
                .iter()
                .all(|line| !line.starts_with([' ', '\t']))
                .then_some(Encoded { source, decoded })
        }
        ScalarStyle::Plain => {
            let decoded = lines.join(" ");
            let source = lines.join(&format!("{eol}{}", layout.indent));
            lines
                .iter()
                .enumerate()
                .all(|(index, line)| fits_plain(line, index == 0, layout.in_flow))
                .then_some(Encoded { source, decoded })
        }
        ScalarStyle::DoubleQuoted => {
            let decoded = lines.join(" ");
            let source = decoded.replace('\\', "\\\\").replace('"', "\\\"");
            Some(Encoded { source, decoded })
        }
        ScalarStyle::SingleQuoted => {
            let decoded = lines.join(" ");
            let source = decoded.replace('\'', "''");
            Some(Encoded { source, decoded })
        }
    }
}

/// `value` as a YAML double-quoted scalar, which holds any text on one
/// line: the new value of a scalar the front-ends write whole.
pub fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text a plain scalar line can hold: no comment start, no `: ` that would
/// make a key, no flow indicator inside `[...]`, and, on the line that may
/// start the scalar, no leading indicator (`&& ...` is fine later on).
fn fits_plain(line: &str, first: bool, in_flow: bool) -> bool {
    const INDICATORS: [char; 13] = [
        '&', '*', '!', '|', '>', '%', '@', '`', '{', '[', ',', ']', '}',
    ];
    let breaks = line.contains(" #")
        || line.contains(": ")
        || line.ends_with(':')
        || line.starts_with('#')
        || in_flow && line.contains([',', '[', ']', '{', '}']);
    !(breaks || first && line.starts_with(INDICATORS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Chomping;

    fn lines() -> Vec<String> {
        vec![
            "buildctl-daemonless.sh build".into(),
            "--local context=.".into(),
            "--output \"type=image\"".into(),
        ]
    }

    #[test]
    fn literal_blocks_get_continuations() {
        let layout = Layout {
            style: ScalarStyle::Literal {
                chomping: Chomping::Clip,
                indent: None,
            },
            indent: "      ".into(),
            line_end: "\n",
            in_flow: false,
        };
        let encoded = encode(&layout, &lines(), "  ").unwrap();
        assert_eq!(
            encoded.decoded,
            "buildctl-daemonless.sh build \\\n    --local context=. \\\n    --output \"type=image\""
        );
        assert_eq!(
            encoded.source,
            "buildctl-daemonless.sh build \\\n          --local context=. \\\n          --output \"type=image\""
        );
    }

    #[test]
    fn plain_scalars_fold_one_group_per_line() {
        let layout = Layout {
            style: ScalarStyle::Plain,
            indent: "    ".into(),
            line_end: "\r\n",
            in_flow: false,
        };
        let encoded = encode(&layout, &lines(), "").unwrap();
        assert_eq!(encoded.decoded, lines().join(" "));
        assert_eq!(encoded.source, lines().join("\r\n    "));
        assert!(encode(&layout, &["echo a: b".to_string()], "").is_none());
    }

    #[test]
    fn quoted_scalars_stay_on_one_line() {
        let layout = Layout {
            style: ScalarStyle::DoubleQuoted,
            indent: String::new(),
            line_end: "\n",
            in_flow: false,
        };
        assert_eq!(
            encode(&layout, &lines(), "").unwrap().source,
            "buildctl-daemonless.sh build --local context=. --output \\\"type=image\\\""
        );
        let layout = Layout {
            style: ScalarStyle::SingleQuoted,
            indent: String::new(),
            line_end: "\n",
            in_flow: false,
        };
        assert_eq!(
            encode(&layout, &["a 'b'".to_string()], "").unwrap().source,
            "a ''b''"
        );
    }
}
