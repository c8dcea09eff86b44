//! Shell text surgery that keeps a word's quoting, so `$VARS` expand in the
//! generated command exactly as they did in the Kaniko one.

/// `prefix` glued to a word as written, inside its opening quote when it has
/// one: `build-arg:` + `"A=$B"` gives `"build-arg:A=$B"`. The prefix must be
/// plain text (no quotes, no `$`).
pub fn prefixed(prefix: &str, raw: &str) -> String {
    match raw.chars().next() {
        Some(quote @ ('"' | '\'')) => format!("{quote}{prefix}{}", &raw[1..]),
        _ => format!("{prefix}{raw}"),
    }
}

/// A word as written with plain text appended, inside its closing quote
/// when it ends with one.
pub fn suffixed(raw: &str, suffix: &str) -> String {
    match raw.chars().last() {
        Some('"' | '\'') if raw.len() > 1 => {
            format!("{}{suffix}{}", &raw[..raw.len() - 1], &raw[raw.len() - 1..])
        }
        _ => format!("{raw}{suffix}"),
    }
}

/// The text that, placed between double quotes, expands to what `raw`
/// expanded to (minus word splitting and globbing, which an image name or a
/// path never relies on). `None` when a quote is left open.
pub fn in_double_quotes(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c @ ('"' | '\\' | '$' | '`') => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            },
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => {
                        out.push('\\');
                        out.push(chars.next()?);
                    }
                    c => out.push(c),
                }
            },
            '\\' => match chars.next()? {
                c @ ('"' | '\\' | '$' | '`') => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
    Some(out)
}

/// Why a word as written cannot be carried into a rewrite with the value
/// Kaniko received, or `None` when it can. The rewrite quotes values, so
/// what the shell did to them unquoted must not have mattered:
/// - a quote, backtick, `$(` or `${` left open: the shell read on past the
///   line, and where the value ends cannot be told;
/// - `$'...'` (busybox's ANSI-C quoting): escapes the rewrite would lose;
/// - an unquoted `*`, `?` or `[`: the shell put the names of matching
///   files in its place before Kaniko saw it.
pub fn hazard(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut depth = 0usize;
    let mut index = 0;
    let open = || {
        Some(format!(
            "`{raw}` leaves a quote or an expansion open: the shell reads on past it, so the value Kaniko received cannot be told"
        ))
    };
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 1,
            b'\'' if depth == 0 => match raw[index + 1..].find('\'') {
                Some(end) => index += end + 1,
                None => return open(),
            },
            b'"' if depth == 0 => {
                let mut end = index + 1;
                loop {
                    match bytes.get(end) {
                        None => return open(),
                        Some(b'\\') => end += 2,
                        Some(b'"') => break,
                        Some(_) => end += 1,
                    }
                }
                index = end;
            }
            b'`' => match raw[index + 1..].find('`') {
                Some(end) => index += end + 1,
                None => return open(),
            },
            b'$' if bytes.get(index + 1) == Some(&b'\'') && depth == 0 => {
                return Some(format!(
                    "`{raw}` uses `$'...'` quoting, whose escapes the rewrite cannot keep: write the value in plain quotes"
                ));
            }
            b'$' if matches!(bytes.get(index + 1), Some(b'(' | b'{')) => {
                depth += 1;
                index += 1;
            }
            b')' | b'}' if depth > 0 => depth -= 1,
            b'*' | b'?' | b'[' if depth == 0 => {
                return Some(format!(
                    "`{raw}` has an unquoted `{}`: the shell replaced it with matching file names before Kaniko saw it; quote the value if it is meant literally",
                    bytes[index] as char
                ));
            }
            _ => {}
        }
        index += 1;
    }
    if depth > 0 {
        return open();
    }
    None
}

/// Splits a path as written into its directory and file name, at the last
/// `/` outside `${...}` and `$(...)`, keeping each part's quoting valid:
/// `"${CI_PROJECT_DIR}/docker/app.Dockerfile"` gives
/// `"${CI_PROJECT_DIR}/docker"` and `app.Dockerfile`. `None` when the name
/// part is not plain text or there is no `/`.
pub fn split_path(raw: &str) -> Option<(String, String)> {
    let (inner, quote) = match raw.chars().next() {
        Some(q @ ('"' | '\'')) if raw.len() >= 2 && raw.ends_with(q) => {
            (&raw[1..raw.len() - 1], Some(q))
        }
        _ => (raw, None),
    };
    let slash = last_top_level(inner, b'/')?;
    let (dir, name) = (&inner[..slash], &inner[slash + 1..]);
    if name.is_empty() || !is_plain(name) {
        return None;
    }
    let dir = if dir.is_empty() { "/" } else { dir };
    let dir = match quote {
        Some(q) => format!("{q}{dir}{q}"),
        None => dir.to_string(),
    };
    Some((dir, name.to_string()))
}

/// The last `byte` outside `${...}` and `$(...)`.
pub fn last_top_level(text: &str, wanted: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut last = None;
    for (index, &byte) in bytes.iter().enumerate() {
        match byte {
            b'{' | b'(' if index > 0 && bytes[index - 1] == b'$' => depth += 1,
            b'}' | b')' if depth > 0 => depth -= 1,
            byte if byte == wanted && depth == 0 => last = Some(index),
            _ => {}
        }
    }
    last
}

/// Text that means the same to the shell with or without quotes.
pub fn is_plain(text: &str) -> bool {
    !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '@' | '+' | ',' | '%')
        })
}

/// `NAME` when the text is exactly `$NAME` or `${NAME}`: one whole
/// parameter, nothing around it and no operator inside.
pub fn lone_variable(text: &str) -> Option<&str> {
    let name = text
        .strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .or_else(|| text.strip_prefix('$'))?;
    let mut bytes = name.bytes();
    let first = bytes.next()?;
    ((first == b'_' || first.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric()))
    .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_go_inside_the_opening_quote() {
        assert_eq!(prefixed("build-arg:", "\"A=$B c\""), "\"build-arg:A=$B c\"");
        assert_eq!(prefixed("target=", "'x y'"), "'target=x y'");
        assert_eq!(prefixed("label:", "k=$V"), "label:k=$V");
    }

    #[test]
    fn suffixes_go_inside_the_closing_quote() {
        assert_eq!(
            suffixed("\"$REPO/cache\"", ":buildcache"),
            "\"$REPO/cache:buildcache\""
        );
        assert_eq!(suffixed("$REPO", ":buildcache"), "$REPO:buildcache");
    }

    #[test]
    fn double_quote_context_keeps_expansion() {
        assert_eq!(in_double_quotes("\"${A}:$B\"").unwrap(), "${A}:$B");
        assert_eq!(in_double_quotes("'$literal\"'").unwrap(), "\\$literal\\\"");
        assert_eq!(in_double_quotes("a\\ b$C").unwrap(), "a b$C");
        assert_eq!(in_double_quotes("\"open"), None);
    }

    #[test]
    fn hazards_are_what_quoting_would_change() {
        for safe in [
            "plain", "\"a b*\"", "'x?[y]'", "${A:-x?}", "$(ls *)", "a\\*b", "\"$A\"", "`date`",
        ] {
            assert_eq!(hazard(safe), None, "{safe}");
        }
        for (bad, why) in [
            ("A=*", "unquoted `*`"),
            ("x?", "unquoted `?`"),
            ("[ab]", "unquoted `[`"),
            ("$'a\\tb'", "`$'...'`"),
            ("\"open", "open"),
            ("'open", "open"),
            ("$(date", "open"),
            ("${A", "open"),
            ("`date", "open"),
        ] {
            let message = hazard(bad).unwrap_or_default();
            assert!(message.contains(why), "{bad}: {message}");
        }
    }

    #[test]
    fn paths_split_at_the_last_real_slash() {
        assert_eq!(
            split_path("\"${CI_PROJECT_DIR}/docker/app.Dockerfile\"").unwrap(),
            (
                "\"${CI_PROJECT_DIR}/docker\"".to_string(),
                "app.Dockerfile".to_string()
            )
        );
        assert_eq!(
            split_path("${DIR:-a/b}/Dockerfile").unwrap().0,
            "${DIR:-a/b}"
        );
        assert_eq!(split_path("Dockerfile"), None);
        assert_eq!(
            split_path("/Dockerfile").unwrap(),
            ("/".to_string(), "Dockerfile".to_string())
        );
    }

    #[test]
    fn only_a_whole_parameter_names_a_variable() {
        assert_eq!(lone_variable("$ARGS"), Some("ARGS"));
        assert_eq!(lone_variable("${ARGS}"), Some("ARGS"));
        assert_eq!(lone_variable("${ARGS:-x}"), None);
        assert_eq!(lone_variable("$1"), None);
        assert_eq!(lone_variable("$(cat args)"), None);
    }
}
