//! A pipeline's top-level keys by name, as the resolver looks them up.
//!
//! Every job looks up its own name, its `extends` and its `!reference`s, so
//! the names are hashed; a 200,000-job file has 200,000 of them. A map from
//! a borrowed name to its definitions took 41 bytes a name (10.8 MB, two
//! thirds of that file's text, the largest part of `check`'s memory after
//! the text and the tree). Here the table holds a 4-byte index into the
//! definitions, and a name is read from the file when compared: 25 bytes
//! a name.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::value::At;
use super::{FileId, Pipeline};
use crate::yaml::NodeId;

/// A top-level key and its value, in one file.
#[derive(Clone, Copy)]
pub(super) struct Definition {
    file: FileId,
    key: NodeId,
    value: NodeId,
}

impl Definition {
    pub(super) fn key(&self) -> At {
        At {
            file: self.file,
            node: self.key,
        }
    }

    pub(super) fn value(&self) -> At {
        At {
            file: self.file,
            node: self.value,
        }
    }
}

/// The definitions of one name in merge order, one per file. Nearly every
/// name has one, kept inline: a vector per name cost a 200,000-job file
/// 26 MB of allocations, and an empty one 24 bytes where a box takes 8.
pub(super) struct Definitions {
    first: Definition,
    #[expect(
        clippy::box_collection,
        reason = "8 bytes per name where a vector takes 24; few names have more"
    )]
    more: Option<Box<Vec<Definition>>>,
}

impl Definitions {
    pub(super) fn iter(&self) -> impl Iterator<Item = &Definition> {
        std::iter::once(&self.first).chain(self.more())
    }

    fn more(&self) -> &[Definition] {
        self.more.as_deref().map_or(&[], Vec::as_slice)
    }

    pub(super) fn last(&self) -> &Definition {
        self.more().last().unwrap_or(&self.first)
    }

    /// Adds a later definition; one in the same file replaces the last (a
    /// key written twice in one file: GitLab keeps the last).
    fn push(&mut self, definition: Definition) {
        let last = match self.more.as_deref_mut().and_then(|more| more.last_mut()) {
            Some(last) => last,
            None => &mut self.first,
        };
        if last.file == definition.file {
            *last = definition;
        } else {
            self.more.get_or_insert_default().push(definition);
        }
    }
}

/// The top-level keys of every file, in merge order, by name.
pub(super) struct Names<'p> {
    pipeline: &'p Pipeline,
    /// Indices into `definitions`, hashed by name.
    table: HashTable<u32>,
    /// One entry per name, in the order names are first met.
    definitions: Vec<Definitions>,
    hasher: std::hash::RandomState,
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
            table: HashTable::with_capacity(keys),
            definitions: Vec::with_capacity(keys),
            hasher: std::hash::RandomState::new(),
        };
        for file in order {
            let source = &pipeline.files[file];
            let Some(root) = source.tree.root() else {
                continue;
            };
            for (key, value) in source.tree.pairs(source.tree.deref(root)) {
                if let Some(name) = source.tree.scalar(&source.text, key) {
                    names.add(name, Definition { file, key, value });
                }
            }
        }
        names
    }

    fn add(&mut self, name: &str, definition: Definition) {
        let hash = self.hasher.hash_one(name);
        let Names {
            pipeline,
            table,
            definitions,
            hasher,
        } = self;
        let name_of = |index: u32| definitions[index as usize].name(pipeline);
        match table.find(hash, |&index| name_of(index) == name) {
            Some(&index) => definitions[index as usize].push(definition),
            None => {
                let index = definitions.len() as u32;
                definitions.push(Definitions {
                    first: definition,
                    more: None,
                });
                let definitions = &*definitions;
                table.insert_unique(hash, index, |&index| {
                    hasher.hash_one(definitions[index as usize].name(pipeline))
                });
            }
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<&Definitions> {
        let hash = self.hasher.hash_one(name);
        let index = self.table.find(hash, |&index| {
            self.definitions[index as usize].name(self.pipeline) == name
        })?;
        Some(&self.definitions[*index as usize])
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The name as written in the pipeline (borrowed for its lifetime).
    pub(super) fn name(&self, name: &str) -> Option<&'p str> {
        Some(self.get(name)?.name(self.pipeline))
    }

    /// Every name, in the order first met.
    pub(super) fn names(&self) -> impl Iterator<Item = &'p str> + '_ {
        self.definitions.iter().map(|d| d.name(self.pipeline))
    }
}

impl Definitions {
    /// The name, read from the first file that defines it.
    fn name<'p>(&self, pipeline: &'p Pipeline) -> &'p str {
        let source = &pipeline.files[self.first.file];
        source
            .tree
            .scalar(&source.text, self.first.key)
            .unwrap_or_default()
    }
}
