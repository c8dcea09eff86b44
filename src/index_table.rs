//! A hash table of 4-byte indices whose keys are kept elsewhere (names in a
//! file's text, read through its tree; findings in their list) and read
//! again when compared.
//!
//! Tables of names borrowed from the text took 24 bytes or more a name: a
//! pipeline's 300,000 top-level keys made one of several megabytes while its
//! tree was held, and a set of findings' keys 40 bytes a finding. This one
//! takes 5 bytes a slot; the caller says how to read the key of a stored
//! index. Hashing is the project's `HashMap`'s: foldhash, seeded per
//! process, because the keys come from the repository.

use std::hash::{BuildHasher, Hash};

use hashbrown::{DefaultHashBuilder, HashTable};

pub struct IndexTable {
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl IndexTable {
    pub fn with_capacity(keys: usize) -> IndexTable {
        IndexTable {
            table: HashTable::with_capacity(keys),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// The index stored for `key`; `key_of` reads a stored index's key.
    pub fn get<K: Hash + Eq>(&self, key: K, key_of: impl Fn(u32) -> K) -> Option<u32> {
        let hash = self.hasher.hash_one(&key);
        self.table
            .find(hash, |&index| key_of(index) == key)
            .copied()
    }

    /// The index stored for `key`, to be replaced.
    pub fn get_mut<K: Hash + Eq>(&mut self, key: K, key_of: impl Fn(u32) -> K) -> Option<&mut u32> {
        let hash = self.hasher.hash_one(&key);
        self.table.find_mut(hash, |&index| key_of(index) == key)
    }

    /// Stores `index` for `key`, which holds none yet.
    pub fn insert<K: Hash + Eq>(&mut self, key: K, index: u32, key_of: impl Fn(u32) -> K) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(&key);
        self.table
            .insert_unique(hash, index, |&stored| hasher.hash_one(key_of(stored)));
    }
}
