//! A span-aware lexer for the POSIX `sh` found in GitLab CI `script:` items.
//!
//! It splits a script into simple commands and keeps the exact byte range of
//! every word, so later stages can point at (and rewrite) one flag of a
//! `/kaniko/executor` call. Nothing is executed or expanded: `$VAR`, `${..}`,
//! `$(..)` and backticks stay verbatim in word values. The `shlex` crate
//! splits words the same way but has no spans and no operators.
//!
//! The lexer works on bytes because every character with a meaning to the
//! shell is ASCII; it only stops on ASCII bytes, so every range it reports
//! lies on char boundaries.

use std::ops::Range;

/// One shell word: its byte range in the input and its value after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Byte range in the input, quotes included.
    pub range: Range<usize>,
    /// Quotes removed, backslash escapes resolved; `$VAR`, `${..}`, `$(..)`
    /// and backticks kept verbatim as text.
    pub value: String,
    /// Any part was quoted or escaped.
    pub quoted: bool,
    /// The whole word is one unquoted parameter expansion (`$VAR`, `${VAR}`,
    /// `${VAR:-x}`, not `$(cmd)`), so it may split into several words at run
    /// time.
    pub expansion: bool,
}

/// A simple command: assignments, words, redirection targets, in source order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    /// Leading `NAME=value` words.
    pub assignments: Vec<Word>,
    /// Command name and arguments; reserved words before the name (`if`,
    /// `then`, `do`, `!`, `exec`, `time`, ...) are left out.
    pub words: Vec<Word>,
    /// The target word of each redirection; for a here-document, its delimiter.
    pub redirects: Vec<Word>,
    /// From the first word, assignment or redirection operator to the end of
    /// the last word.
    pub range: Range<usize>,
}

/// Splits a script into simple commands.
pub fn commands(script: &str) -> Vec<Command> {
    let mut parser = Parser::new(script);
    for token in Lexer::new(script) {
        parser.push(token);
    }
    parser.finish()
}

/// What a command runs that the script itself does not show: a script file
/// given by a relative path (`./ci/build.sh`, `sh scripts/x.sh`,
/// `. ./env.sh`), or an `eval`'d string. `None` for anything else.
pub fn runs_elsewhere(words: &[Word]) -> Option<String> {
    if words.first()?.value == "eval" {
        return Some("an `eval`'d string".to_string());
    }
    script_path(words).map(|path| format!("`{path}` (a file of the repository)"))
}

/// The repository script a command runs, as written: the command itself
/// (`./ci/build.sh`, `ci/build.sh`) or the file a shell is given
/// (`sh scripts/x.sh`, `. ./env.sh`). Absolute paths and names that hold an
/// expansion are not the repository's to read.
pub fn script_path(words: &[Word]) -> Option<String> {
    let name = words.first()?.value.as_str();
    let local = |path: &str| {
        !path.starts_with('/')
            && !path.starts_with('-')
            && !path.contains(['$', '`'])
            && (path.starts_with("./") || path.contains('/') || path.ends_with(".sh"))
    };
    let path = match name {
        "sh" | "bash" | "ash" | "dash" | "busybox" | "." | "source" => words[1..]
            .iter()
            .map(|w| w.value.as_str())
            .find(|w| !w.starts_with('-') && *w != "sh")?,
        _ => name,
    };
    local(path).then(|| path.to_string())
}

/// Words that are skipped when they stand where a command name would.
const RESERVED: [&str; 17] = [
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "case", "esac", "{",
    "}", "!", "time", "exec",
];

/// Redirection operators, longest first so that a prefix never wins, with
/// `Some(strip_tabs)` for here-documents.
const REDIRECTIONS: [(&[u8], Option<bool>); 12] = [
    (b"&>>", None),
    (b"&>", None),
    (b"<<<", None),
    (b"<<-", Some(true)),
    (b"<<", Some(false)),
    (b"<>", None),
    (b"<&", None),
    (b"<", None),
    (b">>", None),
    (b">|", None),
    (b">&", None),
    (b">", None),
];

/// Operators that end a simple command (newlines are handled apart because
/// they also end here-document lines).
const SEPARATORS: [&[u8]; 8] = [b"&&", b"||", b";;", b";", b"&", b"|", b"(", b")"];

/// What the lexer hands to the parser.
#[derive(Debug)]
enum Token {
    Word(Word),
    /// A redirection operator with its fd number; the next word is its target.
    Redirect(Range<usize>),
    /// Anything that ends a simple command.
    Separator,
}

/// A here-document whose body starts after the current line.
struct Heredoc {
    delimiter: String,
    strip_tabs: bool,
}

/// Turns a script into [`Token`]s, skipping blanks, comments, line
/// continuations and here-document bodies.
struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Set by `<<` and `<<-` (to `strip_tabs`): the next word is a delimiter.
    heredoc_operator: Option<bool>,
    /// Here-documents opened on the current line, in order.
    pending: Vec<Heredoc>,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            heredoc_operator: None,
            pending: Vec::new(),
        }
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    /// Length of the newline at the cursor; `\r\n` counts as one so that
    /// scripts with Windows line ends lex like Unix ones.
    fn newline_len(&self) -> Option<usize> {
        match (self.peek_at(0), self.peek_at(1)) {
            (Some(b'\n'), _) => Some(1),
            (Some(b'\r'), Some(b'\n')) => Some(2),
            _ => None,
        }
    }

    /// Length of a backslash-newline at the cursor, which the shell deletes.
    fn continuation_len(&self) -> Option<usize> {
        match self.peek_at(0) {
            Some(b'\\') => self.bytes.get(self.pos + 1..).and_then(|after| {
                if after.starts_with(b"\n") {
                    Some(2)
                } else if after.starts_with(b"\r\n") {
                    Some(3)
                } else {
                    None
                }
            }),
            _ => None,
        }
    }

    /// Skips blanks, line continuations and comments, but not the newline
    /// that ends a comment, since that newline ends a command.
    fn skip_blanks(&mut self) {
        loop {
            match self.peek_at(0) {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'#') => self.skip_comment(),
                _ => match self.continuation_len() {
                    Some(len) => self.pos += len,
                    None => return,
                },
            }
        }
    }

    /// Where the current line ends: at its `\n`, or at the end of input.
    fn line_end(&self) -> usize {
        match self.rest().iter().position(|&b| b == b'\n') {
            Some(offset) => self.pos + offset,
            None => self.bytes.len(),
        }
    }

    fn skip_comment(&mut self) {
        self.pos = self.line_end();
    }

    /// Skips the bodies of the here-documents opened on the line just ended,
    /// so that commands quoted in them are not reported.
    fn skip_heredoc_bodies(&mut self) {
        for doc in std::mem::take(&mut self.pending) {
            while self.pos < self.bytes.len() {
                let line_end = self.line_end();
                let mut line = &self.src[self.pos..line_end];
                line = line.strip_suffix('\r').unwrap_or(line);
                if doc.strip_tabs {
                    line = line.trim_start_matches('\t');
                }
                self.pos = (line_end + 1).min(self.bytes.len());
                if line == doc.delimiter {
                    break;
                }
            }
        }
    }

    /// Lexes one word; the cursor is on a byte that starts a word.
    fn word(&mut self) -> Word {
        let mut word = WordBuilder::new(self.pos);
        while let Some(byte) = self.peek_at(0) {
            if ends_word(byte) || self.newline_len().is_some() {
                break;
            }
            match byte {
                b'\\' => self.backslash(&mut word),
                b'\'' => self.single_quoted(&mut word),
                b'"' => self.double_quoted(&mut word),
                b'$' => self.dollar(&mut word),
                b'`' => {
                    let text = self.nested(1, Nest::Backtick);
                    word.push(text, self.pos, Part::Other);
                }
                _ => self.literal_char(&mut word),
            }
        }
        word.finish()
    }

    /// Copies one character as is.
    fn literal_char(&mut self, word: &mut WordBuilder) {
        if let Some(ch) = self
            .src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            self.pos += ch.len_utf8();
            word.value.push(ch);
            word.note(self.pos, Part::Other);
        }
    }

    /// An unquoted backslash: a line continuation, or an escape of the next
    /// character. A backslash at the end of input is kept literally.
    fn backslash(&mut self, word: &mut WordBuilder) {
        if let Some(len) = self.continuation_len() {
            self.pos += len;
            return;
        }
        self.pos += 1;
        if self.pos < self.bytes.len() {
            word.quoted = true;
            self.literal_char(word);
        } else {
            word.push("\\", self.pos, Part::Other);
        }
    }

    /// `'...'`: everything up to the next quote is literal.
    fn single_quoted(&mut self, word: &mut WordBuilder) {
        let start = self.pos + 1;
        let (end, next) = match self.bytes[start..].iter().position(|&b| b == b'\'') {
            Some(offset) => (start + offset, start + offset + 1),
            None => (self.bytes.len(), self.bytes.len()),
        };
        self.pos = next;
        word.quoted = true;
        word.push(&self.src[start..end], next, Part::Other);
    }

    /// `"..."`: backslash escapes only `$`, `` ` ``, `"`, `\` and newline;
    /// substitutions are copied verbatim so their quotes do not end this one.
    fn double_quoted(&mut self, word: &mut WordBuilder) {
        self.pos += 1;
        word.quoted = true;
        while let Some(byte) = self.peek_at(0) {
            match (byte, self.peek_at(1)) {
                (b'"', _) => {
                    self.pos += 1;
                    break;
                }
                (b'\\', Some(b'$' | b'`' | b'"' | b'\\')) => {
                    self.pos += 1;
                    self.literal_char(word);
                }
                (b'\\', _) => match self.continuation_len() {
                    Some(len) => self.pos += len,
                    None => {
                        self.pos += 1;
                        word.value.push('\\');
                    }
                },
                (b'$', Some(b'(')) => {
                    let text = self.nested(2, Nest::Paren);
                    word.value.push_str(text);
                }
                (b'$', Some(b'{')) => {
                    let text = self.nested(2, Nest::Brace);
                    word.value.push_str(text);
                }
                (b'`', _) => {
                    let text = self.nested(1, Nest::Backtick);
                    word.value.push_str(text);
                }
                _ => self.literal_char(word),
            }
        }
        word.note(self.pos, Part::Other);
    }

    /// An unquoted `$`: a substitution, a parameter, or a literal dollar.
    fn dollar(&mut self, word: &mut WordBuilder) {
        let start = self.pos;
        match self.peek_at(1) {
            Some(b'(') => {
                let text = self.nested(2, Nest::Paren);
                word.push(text, self.pos, Part::Other);
            }
            Some(b'{') => {
                let text = self.nested(2, Nest::Brace);
                word.push(text, self.pos, Part::Parameter);
            }
            _ => match parameter_len(&self.bytes[start + 1..]) {
                0 => {
                    self.pos += 1;
                    word.push("$", self.pos, Part::Other);
                }
                len => {
                    self.pos += 1 + len;
                    word.push(&self.src[start..self.pos], self.pos, Part::Parameter);
                }
            },
        }
    }

    /// Skips a substitution whose opener (`opener_len` bytes) is at the
    /// cursor and returns its text.
    fn nested(&mut self, opener_len: usize, first: Nest) -> &'a str {
        let start = self.pos;
        self.pos = nested_end(self.bytes, start + opener_len, first);
        &self.src[start..self.pos]
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        self.skip_blanks();
        let delimiter_of = self.heredoc_operator.take();
        if self.pos >= self.bytes.len() {
            return None;
        }
        if let Some(len) = self.newline_len() {
            self.pos += len;
            self.skip_heredoc_bodies();
            return Some(Token::Separator);
        }
        if let Some((len, heredoc)) = redirection(self.rest()) {
            let start = self.pos;
            self.pos += len;
            self.heredoc_operator = heredoc;
            return Some(Token::Redirect(start..self.pos));
        }
        if let Some(op) = SEPARATORS.iter().find(|op| self.rest().starts_with(op)) {
            self.pos += op.len();
            return Some(Token::Separator);
        }
        let word = self.word();
        if let Some(strip_tabs) = delimiter_of {
            self.pending.push(Heredoc {
                delimiter: word.value.clone(),
                strip_tabs,
            });
        }
        Some(Token::Word(word))
    }
}

/// Bytes that end an unquoted word (newlines are checked apart for `\r\n`).
/// A token never starts with one of them (blanks are skipped, the others
/// start an operator), so a word is never empty.
fn ends_word(byte: u8) -> bool {
    matches!(
        byte,
        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

/// The redirection operator at the start of `rest`, with its fd number
/// (`2>`), as its length and `Some(strip_tabs)` for a here-document.
fn redirection(rest: &[u8]) -> Option<(usize, Option<bool>)> {
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let after = &rest[digits..];
    REDIRECTIONS
        .iter()
        .filter(|(op, _)| digits == 0 || !op.starts_with(b"&"))
        .find(|(op, _)| after.starts_with(op))
        .map(|(op, heredoc)| (digits + op.len(), *heredoc))
}

/// Length of the parameter name after a `$`: a variable name, or one digit
/// or special character (`$1`, `$@`, `$?`); 0 when the `$` is literal.
fn parameter_len(rest: &[u8]) -> usize {
    match rest.first() {
        Some(b'@' | b'*' | b'#' | b'?' | b'-' | b'$' | b'!' | b'0'..=b'9') => 1,
        Some(b) if *b == b'_' || b.is_ascii_alphabetic() => rest
            .iter()
            .take_while(|b| **b == b'_' || b.is_ascii_alphanumeric())
            .count(),
        _ => 0,
    }
}

/// A construct that substitutions can nest.
#[derive(Debug, Clone, Copy)]
enum Nest {
    /// `$(..)`, `$((..))` or a plain `(` inside one.
    Paren,
    /// `${..}`. Single quotes are not special here: inside double quotes
    /// `"${X:-don't}"` they are literal, and treating them as quotes would
    /// swallow the rest of the script.
    Brace,
    Double,
    Backtick,
}

/// The end of a substitution whose body starts at `pos`, inside `first`.
///
/// Uses an explicit stack rather than recursion so that deeply nested input
/// cannot overflow, and visits each byte once. Unterminated input ends at the
/// end of the text.
fn nested_end(bytes: &[u8], mut pos: usize, first: Nest) -> usize {
    let mut stack = vec![first];
    while let Some(&top) = stack.last() {
        let Some(&byte) = bytes.get(pos) else {
            return bytes.len();
        };
        pos += 1;
        match (top, byte) {
            (_, b'\\') => pos += 1,
            (Nest::Backtick, b'`') | (Nest::Double, b'"') => {
                stack.pop();
            }
            (Nest::Paren, b')') | (Nest::Brace, b'}') => {
                stack.pop();
            }
            (Nest::Backtick, _) => {}
            (Nest::Paren, b'(') => stack.push(Nest::Paren),
            (Nest::Paren, b'\'') => {
                pos = match bytes
                    .get(pos..)
                    .and_then(|r| r.iter().position(|&b| b == b'\''))
                {
                    Some(offset) => pos + offset + 1,
                    None => bytes.len(),
                };
            }
            (_, b'`') => stack.push(Nest::Backtick),
            (Nest::Paren | Nest::Brace, b'"') => stack.push(Nest::Double),
            (_, b'$') => match bytes.get(pos) {
                Some(b'(') => {
                    pos += 1;
                    stack.push(Nest::Paren);
                }
                Some(b'{') => {
                    pos += 1;
                    stack.push(Nest::Brace);
                }
                _ => {}
            },
            _ => {}
        }
    }
    pos.min(bytes.len())
}

/// What a piece of a word is, to tell whether the word is one expansion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// An unquoted `$NAME`, `$1`, `$@` or `${..}`.
    Parameter,
    Other,
}

/// The parts seen so far in a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Empty,
    OneParameter,
    Mixed,
}

/// A word being lexed.
struct WordBuilder {
    start: usize,
    /// End of the last part; a trailing line continuation is not included.
    end: usize,
    value: String,
    quoted: bool,
    shape: Shape,
}

impl WordBuilder {
    fn new(start: usize) -> Self {
        WordBuilder {
            start,
            end: start,
            value: String::new(),
            quoted: false,
            shape: Shape::Empty,
        }
    }

    fn push(&mut self, text: &str, end: usize, part: Part) {
        self.value.push_str(text);
        self.note(end, part);
    }

    /// Records a part that ends at `end`.
    fn note(&mut self, end: usize, part: Part) {
        self.end = end;
        self.shape = match (self.shape, part) {
            (Shape::Empty, Part::Parameter) => Shape::OneParameter,
            _ => Shape::Mixed,
        };
    }

    fn finish(self) -> Word {
        Word {
            range: self.start..self.end,
            value: self.value,
            quoted: self.quoted,
            expansion: self.shape == Shape::OneParameter,
        }
    }
}

/// Groups tokens into simple commands.
struct Parser<'a> {
    src: &'a str,
    done: Vec<Command>,
    current: Command,
    /// Whether `current.range` has been started.
    started: bool,
    /// A redirection operator was seen; the next word is its target.
    redirect_pending: bool,
    /// Inside a `for NAME in ...` or `case WORD in` header, which is dropped.
    in_header: bool,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            done: Vec::new(),
            current: Command::default(),
            started: false,
            redirect_pending: false,
            in_header: false,
        }
    }

    fn push(&mut self, token: Token) {
        match token {
            Token::Separator => self.end_command(),
            Token::Redirect(_) if self.in_header => {}
            Token::Redirect(range) => {
                self.extend(&range);
                self.redirect_pending = true;
            }
            Token::Word(word) => self.push_word(word),
        }
    }

    fn push_word(&mut self, word: Word) {
        if self.in_header {
            return;
        }
        if std::mem::take(&mut self.redirect_pending) {
            self.extend(&word.range);
            self.current.redirects.push(word);
            return;
        }
        let at_name = self.current.words.is_empty();
        if at_name && !word.quoted && RESERVED.contains(&word.value.as_str()) {
            self.in_header = matches!(word.value.as_str(), "for" | "case");
            return;
        }
        self.extend(&word.range);
        if at_name && is_assignment(&self.src[word.range.clone()]) {
            self.current.assignments.push(word);
        } else {
            self.current.words.push(word);
        }
    }

    fn extend(&mut self, range: &Range<usize>) {
        if !self.started {
            self.current.range.start = range.start;
            self.started = true;
        }
        self.current.range.end = range.end;
    }

    fn end_command(&mut self) {
        let command = std::mem::take(&mut self.current);
        if self.started {
            self.done.push(command);
        }
        self.started = false;
        self.redirect_pending = false;
        self.in_header = false;
    }

    fn finish(mut self) -> Vec<Command> {
        self.end_command();
        self.done
    }
}

/// Whether a word's source text starts with `NAME=`.
fn is_assignment(text: &str) -> bool {
    let Some((name, _)) = text.split_once('=') else {
        return false;
    };
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(words: &[Word]) -> Vec<&str> {
        words.iter().map(|w| w.value.as_str()).collect()
    }

    fn single(script: &str) -> Command {
        let mut all = commands(script);
        assert_eq!(all.len(), 1, "{script:?} gave {all:#?}");
        all.remove(0)
    }

    fn words_of(script: &str) -> Vec<Vec<String>> {
        commands(script)
            .iter()
            .map(|c| c.words.iter().map(|w| w.value.clone()).collect())
            .collect()
    }

    #[test]
    fn plain_words_and_ranges() {
        let script = "echo  hello\tworld";
        let cmd = single(script);
        assert_eq!(values(&cmd.words), ["echo", "hello", "world"]);
        let ranges: Vec<_> = cmd.words.iter().map(|w| w.range.clone()).collect();
        assert_eq!(ranges, [0..4, 6..11, 12..17]);
        assert_eq!(cmd.range, 0..17);
        assert!(cmd.words.iter().all(|w| !w.quoted && !w.expansion));
    }

    #[test]
    fn flag_with_equals_is_one_word_and_with_space_two() {
        let cmd = single("/kaniko/executor --destination=reg/img:1 --context .");
        assert_eq!(
            values(&cmd.words),
            [
                "/kaniko/executor",
                "--destination=reg/img:1",
                "--context",
                "."
            ]
        );
        assert_eq!(cmd.words[1].range, 17..40);
    }

    #[test]
    fn quotes_keep_spaces_and_ranges_include_quotes() {
        let script = r#"echo 'a b' "c  d" x'y'"z""#;
        let cmd = single(script);
        assert_eq!(values(&cmd.words), ["echo", "a b", "c  d", "xyz"]);
        assert_eq!(&script[cmd.words[1].range.clone()], "'a b'");
        assert_eq!(&script[cmd.words[2].range.clone()], r#""c  d""#);
        assert_eq!(&script[cmd.words[3].range.clone()], r#"x'y'"z""#);
        assert!(cmd.words[1..].iter().all(|w| w.quoted));
    }

    #[test]
    fn braced_variables_in_double_quotes() {
        let script = r#"/kaniko/executor --destination "${CI_REGISTRY_IMAGE}:${TAG}""#;
        let cmd = single(script);
        let dest = &cmd.words[2];
        assert_eq!(dest.value, "${CI_REGISTRY_IMAGE}:${TAG}");
        assert_eq!(dest.range, 31..script.len());
        assert!(dest.quoted);
        assert!(!dest.expansion);
    }

    #[test]
    fn escaped_quotes() {
        let cmd = single(r#"echo "say \"hi\" \$HOME \x" 'it'\''s' \"bare\" a\ b"#);
        assert_eq!(
            values(&cmd.words),
            ["echo", r#"say "hi" $HOME \x"#, "it's", r#""bare""#, "a b"]
        );
        assert!(cmd.words[3].quoted);
    }

    #[test]
    fn line_continuations_join_lines() {
        let script = "/kaniko/executor \\\n  --context \"${CI_PROJECT_DIR}\" \\\n  --destination \"${IMAGE}:${TAG}\"\necho next";
        let all = commands(script);
        assert_eq!(all.len(), 2);
        assert_eq!(
            values(&all[0].words),
            [
                "/kaniko/executor",
                "--context",
                "${CI_PROJECT_DIR}",
                "--destination",
                "${IMAGE}:${TAG}"
            ]
        );
        let context = &all[0].words[1];
        assert_eq!(&script[context.range.clone()], "--context");
        assert_eq!(Some(all[0].range.end), script.find("\necho"));
        assert_eq!(values(&all[1].words), ["echo", "next"]);
    }

    #[test]
    fn line_continuations_with_crlf() {
        let script = "/kaniko/executor \\\r\n  --context . \\\r\n  --no-push\r\necho next\r\n";
        assert_eq!(
            words_of(script),
            [
                vec!["/kaniko/executor", "--context", ".", "--no-push"],
                vec!["echo", "next"]
            ]
        );
    }

    #[test]
    fn continuation_inside_a_word_keeps_one_word() {
        let script = "echo --con\\\ntext \"a\\\nb\"";
        let cmd = single(script);
        assert_eq!(values(&cmd.words), ["echo", "--context", "ab"]);
        assert_eq!(cmd.words[1].range, 5..16);
        assert!(!cmd.words[1].quoted);
    }

    #[test]
    fn operators_end_commands() {
        assert_eq!(
            words_of("a && b; c | d || e"),
            [["a"], ["b"], ["c"], ["d"], ["e"]]
        );
        assert_eq!(words_of("a&b;;(c)\n\n;d"), [["a"], ["b"], ["c"], ["d"]]);
    }

    #[test]
    fn leading_assignments() {
        let script = r#"FOO=bar BAZ="x y" /kaniko/executor --context . A=b"#;
        let cmd = single(script);
        assert_eq!(values(&cmd.assignments), ["FOO=bar", "BAZ=x y"]);
        assert_eq!(
            values(&cmd.words),
            ["/kaniko/executor", "--context", ".", "A=b"]
        );
        assert_eq!(cmd.range, 0..script.len());
        let only = single("X=1");
        assert_eq!(values(&only.assignments), ["X=1"]);
        assert!(only.words.is_empty());
        assert_eq!(words_of(r#""A"=b 1X=y"#), [[r#"A=b"#, "1X=y"]]);
    }

    #[test]
    fn if_then_fi() {
        let all = commands(r#"if [ -n "$X" ]; then /kaniko/executor --no-push; fi"#);
        assert_eq!(all.len(), 2);
        assert_eq!(values(&all[0].words), ["[", "-n", "$X", "]"]);
        assert_eq!(values(&all[1].words), ["/kaniko/executor", "--no-push"]);
    }

    #[test]
    fn for_loop_header_is_dropped() {
        let all = commands("for t in a b; do /kaniko/executor -d $t; done");
        assert_eq!(all.len(), 1);
        assert_eq!(values(&all[0].words), ["/kaniko/executor", "-d", "$t"]);
        assert!(all[0].words[2].expansion);
    }

    #[test]
    fn other_reserved_words_are_skipped() {
        assert_eq!(
            words_of("! exec time /kaniko/executor\nwhile true; do { x; }; done\n\"if\" y"),
            [
                vec!["/kaniko/executor"],
                vec!["true"],
                vec!["x"],
                vec!["if", "y"]
            ]
        );
        assert_eq!(words_of("echo if then"), [["echo", "if", "then"]]);
    }

    #[test]
    fn case_does_not_panic_and_finds_commands() {
        let all = words_of("case \"$X\" in\n  a) /kaniko/executor -c . ;;\n  *) true ;;\nesac");
        assert!(all.contains(&vec![
            "/kaniko/executor".to_owned(),
            "-c".into(),
            ".".into()
        ]));
    }

    #[test]
    fn redirect_to_file() {
        let script = r#"echo "{...}" > /kaniko/.docker/config.json"#;
        let cmd = single(script);
        assert_eq!(values(&cmd.words), ["echo", "{...}"]);
        assert_eq!(values(&cmd.redirects), ["/kaniko/.docker/config.json"]);
        assert_eq!(cmd.range, 0..script.len());
        let glued = single("echo x >/tmp/f");
        assert_eq!(values(&glued.redirects), ["/tmp/f"]);
        assert_eq!(glued.redirects[0].range, 8..14);
    }

    #[test]
    fn fd_redirections() {
        let cmd = single("cmd --flag 2>&1 2> /dev/null >>log <in 3<>rw &>all 12>x");
        assert_eq!(values(&cmd.words), ["cmd", "--flag"]);
        assert_eq!(
            values(&cmd.redirects),
            ["1", "/dev/null", "log", "in", "rw", "all", "x"]
        );
        assert_eq!(words_of("echo 2 >&2"), [["echo", "2"]]);
        assert_eq!(words_of("echo a>b"), [["echo", "a"]]);
    }

    #[test]
    fn heredoc_body_is_skipped() {
        let script = "cat <<EOF > /kaniko/.docker/config.json\n/kaniko/executor --bad\nEOF\n/kaniko/executor --context .";
        let all = commands(script);
        assert_eq!(all.len(), 2);
        assert_eq!(values(&all[0].words), ["cat"]);
        assert_eq!(
            values(&all[0].redirects),
            ["EOF", "/kaniko/.docker/config.json"]
        );
        assert_eq!(
            values(&all[1].words),
            ["/kaniko/executor", "--context", "."]
        );
    }

    #[test]
    fn heredoc_variants() {
        let script =
            "cat <<-'END' && cat << \"B\"\n\tx; /kaniko/executor --bad\n\tEND\nEND?\nB\r\nafter";
        assert_eq!(words_of(script), [vec!["cat"], vec!["cat"], vec!["after"]]);
        // An unterminated body runs to the end.
        assert_eq!(words_of("cat <<EOF\n/kaniko/executor\n"), [["cat"]]);
        // `<<<` is a here-string, not a here-document.
        assert_eq!(words_of("cat <<<word\nnext"), [["cat"], ["next"]]);
    }

    #[test]
    fn command_substitution_stays_in_one_word() {
        let script = r#"echo "{\"auths\":{\"r\":{\"auth\":\"$(echo -n "a:b" | base64)\"}}}" > f"#;
        let cmd = single(script);
        assert_eq!(
            values(&cmd.words),
            [
                "echo",
                r#"{"auths":{"r":{"auth":"$(echo -n "a:b" | base64)"}}}"#
            ]
        );
        assert_eq!(values(&cmd.redirects), ["f"]);
    }

    #[test]
    fn unquoted_substitutions_stay_in_one_word() {
        let cmd = single("X=$(cat f | tr -d ';\n') echo $((1 + (2))) `a | b; c` ${Y:-a b}z");
        assert_eq!(values(&cmd.assignments), ["X=$(cat f | tr -d ';\n')"]);
        assert_eq!(
            values(&cmd.words),
            ["echo", "$((1 + (2)))", "`a | b; c`", "${Y:-a b}z"]
        );
        let nested = single(r#"echo "$(a "$(b ")")" c)""#);
        assert_eq!(values(&nested.words), ["echo", r#"$(a "$(b ")")" c)"#]);
    }

    #[test]
    fn comments() {
        let script = "# setup\necho a#b # trailing ; rm -rf /\n  #indented\n;#x\necho $# ${#X}";
        assert_eq!(
            words_of(script),
            [vec!["echo", "a#b"], vec!["echo", "$#", "${#X}"]]
        );
    }

    #[test]
    fn expansion_flag() {
        let cmd = single(
            r#"/kaniko/executor $KANIKO_ARGS ${EXTRA} ${A:-x y} $1 "$X" $(cmd) --x=$Y $A$B \$Z"#,
        );
        let flags: Vec<_> = cmd.words.iter().map(|w| w.expansion).collect();
        assert_eq!(
            flags,
            [
                false, true, true, true, true, false, false, false, false, false
            ]
        );
    }

    #[test]
    fn unicode() {
        let script = "docker --label \"desc=héllo wörld\" ünï $é";
        let cmd = single(script);
        assert_eq!(
            values(&cmd.words),
            ["docker", "--label", "desc=héllo wörld", "ünï", "$é"]
        );
        assert_eq!(&script[cmd.words[2].range.clone()], "\"desc=héllo wörld\"");
        assert_eq!(&script[cmd.words[3].range.clone()], "ünï");
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for script in [
            "echo \"abc",
            "echo 'abc",
            "echo $(foo",
            "echo ${x",
            "echo `x",
            "echo \\",
            "echo \"$(",
            "echo \"\\",
            "echo $",
            "cat <<",
            "cat <<\"E",
            ">",
            "2>&",
            "echo é\\",
            "$((",
            "\"${x:-don't}\" next",
        ] {
            let all = commands(script);
            for cmd in &all {
                assert!(script.get(cmd.range.clone()).is_some(), "{script:?}");
            }
        }
        assert_eq!(words_of("echo 'a b"), [["echo", "a b"]]);
        assert_eq!(words_of("echo \\"), [["echo", "\\"]]);
        assert_eq!(words_of("a \"${x:-don't}\" b"), [["a", "${x:-don't}", "b"]]);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let script = format!("echo {}", "$(\"".repeat(200_000));
        let cmd = single(&script);
        assert_eq!(cmd.words[1].range, 5..script.len());
    }

    #[test]
    fn matches_shlex_on_operator_free_input() {
        for script in [
            "",
            "   ",
            "a",
            "a b  c",
            "/kaniko/executor --context . --dockerfile Dockerfile",
            "'single quoted' \"double quoted\"",
            "mixed'sin gle'\"dou ble\"tail",
            r#""esc \" \\ \$ \` \x""#,
            r"back\ slash \a\b",
            "'it'\\''s'",
            "line one\nline two",
            // Not `a \<newline> b`: shlex yields an empty word there, sh does not.
            "cont\\\ninued\\\n next",
            "\"quote\\\nd\"",
            "'a\\b' \"a\\b\"",
            "# comment\nword # trailing",
            "a#b c",
            "\t tabs\tand  spaces \t",
            "\"\" '' x\"\"y",
            "--label=\"org.opencontainers.image.title=My App\"",
            "héllo 'wörld ü' \"ñ\"",
            "--build-arg=A=1 --build-arg 'B=two words'",
        ] {
            let expected = shlex::split(script).expect("shlex accepts the input");
            let got: Vec<String> = commands(script)
                .into_iter()
                .flat_map(|c| c.assignments.into_iter().chain(c.words))
                .map(|w| w.value)
                .collect();
            assert_eq!(got, expected, "{script:?}");
        }
    }

    /// A fixed pseudo-random sweep over shell-heavy alphabets: no panics, and
    /// ranges are ordered and lie on char boundaries.
    #[test]
    fn random_input_keeps_ranges_valid() {
        const ALPHABET: [&str; 24] = [
            " ", "\t", "\n", "\r", "\\", "'", "\"", "$", "(", ")", "{", "}", "`", "#", ";", "&",
            "|", "<", ">", "-", "2", "a", "é", "EOF",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            let mut script = String::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                script.push_str(ALPHABET[(seed % ALPHABET.len() as u64) as usize]);
            }
            let mut last_end = 0;
            for cmd in commands(&script) {
                assert!(cmd.range.start >= last_end, "{script:?}");
                last_end = cmd.range.end;
                let parts = cmd
                    .assignments
                    .iter()
                    .chain(&cmd.words)
                    .chain(&cmd.redirects);
                for word in parts {
                    assert!(word.range.start < word.range.end, "{script:?}");
                    assert!(script.get(word.range.clone()).is_some(), "{script:?}");
                    assert!(cmd.range.start <= word.range.start, "{script:?}");
                    assert!(word.range.end <= cmd.range.end, "{script:?}");
                }
            }
        }
    }
}
