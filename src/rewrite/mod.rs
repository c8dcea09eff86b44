//! Edits as byte ranges and replacement text, applied to the original
//! source and verified before anything is written or printed.
//!
//! Nothing is ever re-emitted from a parsed tree: every byte outside an edit
//! stays as it was (comments, quoting, key order, blank lines, CRLF, BOM).

pub mod encode;
pub mod verify;
pub mod window;

use std::sync::Arc;

use crate::span::Span;
use crate::yaml::Tree;

/// Replace `span` with `text`. An empty span inserts.
///
/// The text is shared: a step the planner writes into every job (the
/// registry login, a kilobyte) is one allocation however many jobs it goes
/// into, where a copy each took 25 MB at 50 MB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub text: Arc<str>,
}

impl Edit {
    pub fn replace(span: Span, text: impl Into<Arc<str>>) -> Edit {
        Edit {
            span,
            text: text.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<Arc<str>>) -> Edit {
        Edit {
            span: Span::empty(at),
            text: text.into(),
        }
    }
}

/// Two edits that touch the same bytes: a bug in the planner, never applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub first: Span,
    pub second: Span,
}

impl std::fmt::Display for Overlap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "two edits overlap at bytes {}..{} and {}..{}; this is a bug, please report it",
            self.first.start(),
            self.first.end(),
            self.second.start(),
            self.second.end()
        )
    }
}

/// The one way a front-end's rewrite of a single file is accepted: the
/// edits applied, the result parsed, and verified against the intended
/// `changes` with both parsers ([`verify::verify`]). Returns the new text,
/// its tree (which the front-end's own re-check reads next) and where each
/// edit landed.
pub fn apply_verified(
    text: &str,
    tree: &Arc<Tree>,
    edits: &[Edit],
    changes: &[verify::Change],
) -> Result<(String, Tree, Vec<Applied>), String> {
    let (rewritten, applied) = apply_placed(text, edits).map_err(|overlap| overlap.to_string())?;
    let new_tree = reread_verified(text, tree, &applied, &rewritten, changes)?;
    Ok((rewritten, new_tree, applied))
}

/// Reads `rewritten` (the result of the `applied` edits on `original`) again and
/// verifies it against the intended `changes` with both parsers; returns
/// its tree, or why the rewrite is refused.
///
/// Where the rewrite can be cut into windows ([`window`]), libyaml reads
/// them on a second thread while the rewritten tree is spliced and walked:
/// the two readings are independent by design. If a window then does not
/// parse on its own, the whole text is read and verified instead.
pub fn reread_verified(
    original: &str,
    tree: &Arc<Tree>,
    applied: &[Applied],
    rewritten: &str,
    changes: &[verify::Change],
) -> Result<Tree, String> {
    let not_verified = |message: String| format!("the rewrite was not verified: {message}");
    // Offsets take 4 bytes everywhere (spans, line tables), as on reading.
    if rewritten.len() >= u32::MAX as usize {
        return Err(not_verified(
            "the rewritten file would be 4 GiB or more".into(),
        ));
    }
    if let Some(windows) = window::cut(original, tree, applied, rewritten, changes) {
        let (first, last) = windows.split_at(libyaml_share(&windows));
        let edits = &verify::Edits::new(changes);
        let verified = std::thread::scope(|scope| {
            let libyaml = crate::parallel::spawn_scoped(scope, || {
                verify::verify_libyaml(original, tree, rewritten, edits, Some(first))
            });
            let spliced = window::splice(original, tree, rewritten, &windows)?;
            let trees =
                verify::verify_trees(original, tree, rewritten, &spliced, edits, Some(&windows));
            let rest = verify::verify_libyaml(original, tree, rewritten, edits, Some(last));
            let libyaml = libyaml
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // The first window that fails, in document order, is the one
            // reported, as when one thread read them all.
            Some(trees.and(libyaml).and(rest).map(|()| spliced))
        });
        if let Some(verified) = verified {
            return verified.map_err(not_verified);
        }
    }
    let new_tree = Tree::parse(rewritten)
        .map_err(|err| format!("the rewrite does not parse: {}", err.message))?;
    verify::verify(original, tree, rewritten, &new_tree, changes, None).map_err(not_verified)?;
    Ok(new_tree)
}

/// How many windows, from the first, libyaml reads on the second thread;
/// the main thread reads the rest once it has spliced and walked the
/// rewritten tree. Reading a window twice with libyaml (original and
/// rewritten) costs about one and a half times splicing and walking it
/// (callgrind, generated pipelines), so the second thread takes four
/// fifths of the windows' bytes and both threads finish near together.
fn libyaml_share(windows: &[window::Window]) -> usize {
    let bytes = |window: &window::Window| window.original.len() as u64;
    let total: u64 = windows.iter().map(bytes).sum();
    let mut taken = 0;
    windows
        .iter()
        .position(|window| {
            taken += bytes(window);
            taken * 5 > total * 4
        })
        .map_or(windows.len(), |at| at + 1)
}

/// Applies non-overlapping edits to `text`. Insertions at the same offset
/// keep the order they were given in. Identical edits are applied once: two
/// jobs that share a definition site ask for the same change.
pub fn apply(text: &str, edits: &[Edit]) -> Result<String, Overlap> {
    apply_placed(text, edits).map(|(rewritten, _)| rewritten)
}

/// An edit once applied: the bytes it replaced in the original text, and
/// where its text lies in the rewritten one. Kept instead of the edit, it
/// leaves one copy of the new text, the rewritten file's: the planner's
/// edits of a large pipeline hold as many bytes as the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The bytes replaced, in the original text.
    pub span: Span,
    /// The replacement, in the rewritten text.
    pub text: Span,
}

impl Applied {
    /// The edit's text, read from the rewritten text.
    pub fn text<'t>(&self, rewritten: &'t str) -> &'t str {
        self.text.slice(rewritten)
    }
}

/// [`apply`], and where each edit (in the order given) landed.
pub fn apply_placed(text: &str, edits: &[Edit]) -> Result<(String, Vec<Applied>), Overlap> {
    let mut order: Vec<usize> = (0..edits.len()).collect();
    order.sort_by_key(|&at| (edits[at].span.start(), edits[at].span.end()));
    let mut distinct = order.clone();
    distinct.dedup_by(|a, b| edits[*a] == edits[*b]);
    for pair in distinct.windows(2) {
        let (a, b) = (edits[pair[0]].span, edits[pair[1]].span);
        let overlapping = b.start() < a.end() || (a == b && !a.is_empty());
        if overlapping {
            return Err(Overlap {
                first: a,
                second: b,
            });
        }
    }
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut placed = vec![Applied::default(); edits.len()];
    let mut cursor = 0;
    let mut previous: Option<usize> = None;
    for at in order {
        let edit = &edits[at];
        if let Some(before) = previous.filter(|&before| edits[before] == *edit) {
            placed[at] = placed[before];
            continue;
        }
        out.push_str(&text[cursor..edit.span.start()]);
        let start = out.len();
        out.push_str(&edit.text);
        placed[at] = Applied {
            span: edit.span,
            text: Span::new(start, out.len()),
        };
        cursor = edit.span.end();
        previous = Some(at);
    }
    out.push_str(&text[cursor..]);
    Ok((out, placed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_keep_the_rest() {
        let text = "a: 1 # keep\r\nb: 2\r\n";
        let edits = [
            Edit::replace(Span::new(3, 4), "one"),
            Edit::insert(text.len(), "c: 3\r\n"),
        ];
        assert_eq!(
            apply(text, &edits).unwrap(),
            "a: one # keep\r\nb: 2\r\nc: 3\r\n"
        );
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let edits = [
            Edit::replace(Span::new(0, 4), "x"),
            Edit::replace(Span::new(2, 6), "y"),
        ];
        assert!(apply("0123456789", &edits).is_err());
    }

    #[test]
    fn each_applied_edit_says_where_its_text_landed() {
        let text = "a: 1\nb: 2\n";
        let shared = Edit::replace(Span::new(3, 4), "one");
        let edits = [
            Edit::insert(text.len(), "c: 3\n"),
            shared.clone(),
            Edit::replace(Span::new(8, 9), "two"),
            shared,
        ];
        let (rewritten, applied) = apply_placed(text, &edits).unwrap();
        assert_eq!(rewritten, "a: one\nb: two\nc: 3\n");
        for (edit, applied) in edits.iter().zip(&applied) {
            assert_eq!(applied.span, edit.span);
            assert_eq!(applied.text(&rewritten), &*edit.text);
        }
        assert_eq!(applied[1], applied[3], "a repeated edit lands once");
    }

    #[test]
    fn identical_edits_apply_once() {
        let edit = Edit::replace(Span::new(0, 1), "z");
        assert_eq!(apply("abc", &[edit.clone(), edit]).unwrap(), "zbc");
    }

    #[test]
    fn insertions_at_one_place_keep_their_order() {
        let edits = [Edit::insert(1, "x"), Edit::insert(1, "y")];
        assert_eq!(apply("ab", &edits).unwrap(), "axyb");
    }
}
