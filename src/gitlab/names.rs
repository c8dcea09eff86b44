//! A pipeline's top-level keys by name, as the resolver looks them up.
//!
//! Every job looks up its own name, its `extends` and its `!reference`s, so
//! the names are hashed; a 200,000-job file has 200,000 of them. A map from
//! a borrowed name to its definitions took 41 bytes a name (10.8 MB, two
//! thirds of that file's text, the largest part of `check`'s memory after
//! the text and the tree). Here the table holds a 4-byte index into
//! 8-byte entries, and a name is read from the file when compared: 13
//! bytes a name.

use super::value::At;
use super::{FileId, Pipeline};
use crate::index_table::IndexTable;
use crate::yaml::NodeId;
use hashbrown::HashMap;

/// A top-level key, in one file: 8 bytes.
#[derive(Clone, Copy)]
pub(super) struct Definition {
    /// A [`FileId`] in 4 bytes: a pipeline holds far fewer files.
    file: u32,
    /// A scalar: a name.
    key: NodeId,
}

impl Definition {
    fn new(file: FileId, key: NodeId) -> Definition {
        let file = u32::try_from(file).expect("fewer than 2^32 files");
        Definition { file, key }
    }

    pub(super) fn key(&self) -> At {
        At {
            file: self.file as FileId,
            node: self.key,
        }
    }

    /// The key's value: the node after it, since a scalar has no
    /// descendants (not kept, which saved 4 bytes a name).
    pub(super) fn value(&self) -> At {
        At {
            file: self.file as FileId,
            node: self.key.after_leaf(),
        }
    }
}

/// The definitions of one name in merge order, one per file.
pub(super) struct Definitions<'n> {
    first: &'n Definition,
    more: &'n [Definition],
}

impl<'n> Definitions<'n> {
    pub(super) fn iter(&self) -> impl Iterator<Item = &'n Definition> + use<'n> {
        std::iter::once(self.first).chain(self.more)
    }

    pub(super) fn last(&self) -> &'n Definition {
        self.more.last().unwrap_or(self.first)
    }
}

/// The top-level keys of every file, in merge order, by name.
pub(super) struct Names<'p> {
    pipeline: &'p Pipeline,
    /// Indices into `entries`, by name.
    table: IndexTable,
    /// Each name's first definition, in the order names are first met,
    /// or in their byte order ([`Self::in_name_order`]): 8
    /// bytes a name (a vector per name cost a 200,000-job file 26 MB of
    /// allocations, and an index into `more` 4 bytes a name).
    entries: Vec<Definition>,
    /// The later definitions of the few names several files define, by
    /// their entry's index.
    more: HashMap<u32, Vec<Definition>>,
}

impl<'p> Names<'p> {
    pub(super) fn new(pipeline: &'p Pipeline) -> Names<'p> {
        let order = pipeline.merge_order();
        // Sized once: growing it rehashes every name, read again from its file.
        let keys = order
            .iter()
            .filter_map(|&file| {
                let tree = &pipeline.files[file].tree;
                tree.root().map(|root| tree.pairs(tree.deref(root)).count())
            })
            .sum();
        let mut names = Names {
            pipeline,
            table: IndexTable::with_capacity(keys),
            entries: Vec::with_capacity(keys),
            more: HashMap::new(),
        };
        for file in order {
            let source = &pipeline.files[file];
            let Some(root) = source.tree.root() else {
                continue;
            };
            for (key, value) in source.tree.pairs(source.tree.deref(root)) {
                if let Some(name) = source.tree.key(&source.text, key) {
                    debug_assert_eq!(key.after_leaf(), value);
                    names.add(name, Definition::new(file, key));
                }
            }
        }
        names
    }

    /// The names with their entries in the names' byte order (the order
    /// jobs are resolved in), sorted where they are and indexed again: a
    /// list of indices in that order took 4 bytes a name more while every
    /// job was resolved. A table that only looks names up (the checks
    /// after a rewrite) is not sorted ([`Self::new`]).
    pub(super) fn in_name_order(pipeline: &'p Pipeline) -> Names<'p> {
        let mut names = Names::new(pipeline);
        names.sort();
        names
    }

    /// The indices of every entry, in the table's order.
    pub(super) fn indices(&self) -> std::ops::Range<u32> {
        0..self.entries.len() as u32
    }

    fn sort(&mut self) {
        let pipeline = self.pipeline;
        // The few names several files define keep their later definitions.
        let more: Vec<(&'p str, Vec<Definition>)> = self
            .more
            .drain()
            .map(|(index, later)| (self.entries[index as usize].name(pipeline), later))
            .collect();
        // The table is built again below: its room is freed for the sort.
        let count = self.entries.len();
        self.table = IndexTable::with_capacity(0);
        self.entries = sorted_by_name(std::mem::take(&mut self.entries), pipeline);
        let entries = &self.entries;
        let name_of = |index: u32| entries[index as usize].name(pipeline);
        self.table = IndexTable::with_capacity(count);
        for (index, entry) in entries.iter().enumerate() {
            self.table
                .insert(entry.name(pipeline), index as u32, name_of);
        }
        for (name, later) in more {
            if let Some(index) = self.table.get(name, name_of) {
                self.more.insert(index, later);
            }
        }
    }

    fn add(&mut self, name: &str, definition: Definition) {
        let Names {
            pipeline,
            table,
            entries,
            ..
        } = self;
        let name_of = |index: u32| entries[index as usize].name(pipeline);
        match table.get(name, name_of) {
            Some(index) => self.push(index, definition),
            None => {
                let index = entries.len() as u32;
                entries.push(definition);
                let entries = &*entries;
                table.insert(name, index, |index| entries[index as usize].name(pipeline));
            }
        }
    }

    /// Adds a later definition of entry `index`; one in the same file
    /// replaces the last (a key written twice in one file: GitLab keeps the
    /// last).
    fn push(&mut self, index: u32, definition: Definition) {
        let more = self.more.entry(index).or_default();
        let last = match more.last_mut() {
            Some(last) => last,
            None => &mut self.entries[index as usize],
        };
        if last.file == definition.file {
            *last = definition;
        } else {
            more.push(definition);
        }
        if more.is_empty() {
            self.more.remove(&index);
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<Definitions<'_>> {
        let index = self.table.get(name, |index| self.name_at(index))?;
        let more = match self.more.is_empty() {
            // A pipeline of one file: no name has more than one.
            true => &[][..],
            false => self.more.get(&index).map_or(&[][..], Vec::as_slice),
        };
        Some(Definitions {
            first: &self.entries[index as usize],
            more,
        })
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The name as written in the pipeline (borrowed for its lifetime).
    pub(super) fn name(&self, name: &str) -> Option<&'p str> {
        Some(self.get(name)?.first.name(self.pipeline))
    }

    /// The name of the entry at `index`.
    pub(super) fn name_at(&self, index: u32) -> &'p str {
        self.entries[index as usize].name(self.pipeline)
    }
}

/// `entries` in their names' byte order. Names are unique: an unstable
/// sort gives the one order. Each entry is sorted with its name's first 8
/// bytes beside it, so that most comparisons read no name from the file
/// (they were 10% of `check` on 200,000 jobs): 8 bytes more a name while
/// sorting.
fn sorted_by_name(entries: Vec<Definition>, pipeline: &Pipeline) -> Vec<Definition> {
    let mut keyed: Vec<(u64, Definition)> = entries
        .into_iter()
        .map(|entry| (name_prefix(entry.name(pipeline)), entry))
        .collect();
    keyed.sort_unstable_by(|(prefix_a, a), (prefix_b, b)| {
        prefix_a
            .cmp(prefix_b)
            .then_with(|| a.name(pipeline).cmp(b.name(pipeline)))
    });
    let mut entries: Vec<Definition> = keyed.into_iter().map(|(_, entry)| entry).collect();
    entries.shrink_to_fit();
    entries
}

/// A name's first 8 bytes as a number that sorts as the name does: padded
/// with zeros, which sort before any byte, as the end of a shorter name
/// does (when two prefixes tie, the names are compared whole).
fn name_prefix(name: &str) -> u64 {
    let mut bytes = [0; 8];
    let head = &name.as_bytes()[..name.len().min(8)];
    bytes[..head.len()].copy_from_slice(head);
    u64::from_be_bytes(bytes)
}

impl Definition {
    /// The key's name, read from the file. Inlined: sorting the names of a
    /// large pipeline calls it millions of times.
    #[inline]
    fn name<'p>(&self, pipeline: &'p Pipeline) -> &'p str {
        let source = &pipeline.files[self.file as FileId];
        source.tree.key(&source.text, self.key).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn load(text: &str) -> Pipeline {
        Pipeline::load(
            std::path::Path::new("."),
            crate::gitlab::Input::Stdin {
                text: text.to_string(),
                name: ".gitlab-ci.yml".into(),
            },
        )
    }

    #[test]
    fn names_come_in_byte_order_when_their_first_8_bytes_tie() {
        // Names that share their first 8 bytes, one that ends inside
        // them, one with a NUL where a shorter name is padded, and
        // characters beyond ASCII.
        let names = [
            "job-12345678-b",
            "job-1234",
            "job-123",
            "job-1234\\0",
            "job-12345678-a",
            "job-12345678",
            "zz",
            "job-1234é",
            "éa",
            "a",
        ];
        let text: String = names
            .iter()
            .map(|name| format!("\"{name}\": {{script: [x]}}\n"))
            .collect();
        let pipeline = load(&text);
        let table = Names::in_name_order(&pipeline);
        let sorted: Vec<&str> = table.indices().map(|index| table.name_at(index)).collect();
        let mut expected: Vec<String> = names.iter().map(|n| n.replace("\\0", "\0")).collect();
        expected.sort();
        assert_eq!(sorted, expected);
        // The table still finds every name after the sort.
        for name in &expected {
            assert_eq!(table.name(name), Some(name.as_str()));
        }
    }

    proptest! {
        #[test]
        fn a_smaller_prefix_is_a_smaller_name(a in "\\PC{0,12}", b in "\\PC{0,12}") {
            let (pa, pb) = (name_prefix(&a), name_prefix(&b));
            if pa != pb {
                prop_assert_eq!(pa < pb, a < b);
            }
        }
    }
}
