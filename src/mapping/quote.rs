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
