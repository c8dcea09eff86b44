//! A hash table of 4-byte indices whose keys are names kept elsewhere (a
//! file's text, read through its tree) and read again when compared.
//!
//! Tables of names borrowed from the text took 24 bytes or more a name: a
//! pipeline's 300,000 top-level keys made one of several megabytes while its
//! tree was held. This one takes 5 bytes a slot; the caller says how to read
//! the name of a stored index. Hashing is the project's `HashMap`'s: foldhash,
//! seeded per process, because the names come from the repository.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

pub struct NameIndex {
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl NameIndex {
    pub fn with_capacity(names: usize) -> NameIndex {
        NameIndex {
            table: HashTable::with_capacity(names),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// The index stored for `name`; `name_of` reads a stored index's name.
    pub fn get<'n>(&self, name: &str, name_of: impl Fn(u32) -> &'n str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |&index| name_of(index) == name)
            .copied()
    }

    /// The index stored for `name`, to be replaced.
    pub fn get_mut<'n>(
        &mut self,
        name: &str,
        name_of: impl Fn(u32) -> &'n str,
    ) -> Option<&mut u32> {
        let hash = self.hasher.hash_one(name);
        self.table.find_mut(hash, |&index| name_of(index) == name)
    }

    /// Stores `index` for `name`, which holds none yet.
    pub fn insert<'n>(&mut self, name: &str, index: u32, name_of: impl Fn(u32) -> &'n str) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(name);
        self.table
            .insert_unique(hash, index, |&stored| hasher.hash_one(name_of(stored)));
    }
}
