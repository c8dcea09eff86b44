//! Loading the pipelines a request names, on every core, with what one
//! thread loading them in order would keep.
//!
//! In order, each CI file found is loaded unless a pipeline loaded before
//! it already holds it (as its entry file or an include), and at the end a
//! pipeline whose entry file another one includes is dropped
//! ([`drop_included`]): a file is analysed once, in the context of the
//! file that includes it. Loaded in parallel, whether a file is skipped
//! depends on every pipeline before it, so that order is rebuilt as the
//! loads finish ([`Order`]): a worker skips a file only when the pipelines
//! decided so far hold it, and otherwise loads it, and works on it (the
//! command's analysis or migration) unless its turn has come and it is
//! skipped. Work done on a pipeline later skipped is thrown away: the
//! result is that of the sequential run, whatever the threads.
//!
//! Each pipeline goes to the command's `work` as soon as it is loaded, so
//! that its tree can be dropped once its findings are taken: a fleet of
//! ten thousand files never holds every tree at once.

use hashbrown::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Mention, Request, discover, mention_pipeline, project_root, read_stdin};
use crate::config::Config;
use crate::gitlab::{Input, LoadError, Pipeline};
use crate::system::System;

/// The pipelines a command works on, each as its `work` left it.
#[derive(Debug)]
pub struct Loaded<T> {
    /// One per entry file, each analysed (and migrated) on its own.
    pub pipelines: Vec<T>,
    /// YAML files that are not GitLab CI but name a Kaniko image; each
    /// pipeline's `findings` hold the one info finding to report.
    pub mentions: Vec<Pipeline>,
    pub errors: Vec<LoadError>,
}

/// Loads every pipeline the request names, on `request.threads` threads,
/// and gives each to `work` (on the thread that loaded it); the results
/// are in the order of the files found.
pub fn load<T, W>(request: &Request, config: &Config, work: W) -> Loaded<T>
where
    T: Send,
    W: Fn(Pipeline) -> T + Sync,
{
    let (items, errors) = items(request, config);
    let loader = Loader {
        request,
        order: Mutex::new(Order::new(items.len())),
        work,
    };
    let done = crate::parallel::map(items, request.threads, |index, item| {
        loader.take(index, item)
    });
    let kept = loader
        .order
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .kept;
    assemble(done, kept, errors)
}

/// What the threads share: the request, the order of loading, the work.
struct Loader<'a, W> {
    request: &'a Request<'a>,
    order: Mutex<Order>,
    work: W,
}

impl<W> Loader<'_, W> {
    fn order(&self) -> MutexGuard<'_, Order> {
        self.order.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loads item `index` and works on it, unless the order of loading
    /// skips it.
    fn take<T>(&self, index: usize, item: Item) -> Done<T>
    where
        W: Fn(Pipeline) -> T,
    {
        let real = item.file().and_then(|file| file.canonicalize().ok());
        {
            let mut order = self.order();
            if order.holds(real.as_deref()) {
                order.record(index, Entry::file(real));
                return Done::Skipped;
            }
        }
        let limit = self.request.max_file_size;
        match item {
            Item::Stdin(pipeline) => {
                // Never skipped, and holds nothing for the files after it,
                // as when standard input was loaded in order.
                self.order().record(index, Entry::file(None));
                self.work_on(pipeline)
            }
            Item::Ci { file, system } => {
                let root = project_root(self.request.root, &file);
                let input = Input::Path(file);
                let pipeline = match system {
                    Some(system) => Pipeline::load_system(&root, input, limit, system),
                    None => Pipeline::load_by_content(&root, input, limit),
                };
                let holds = pipeline.files.iter().filter_map(|f| f.path.clone());
                let entry = Entry {
                    real,
                    holds: holds.collect(),
                };
                match self.order().record(index, entry) {
                    Some(false) => Done::Skipped,
                    _ => self.work_on(pipeline),
                }
            }
            Item::Mention { file, mention } => {
                let root = project_root(self.request.root, &file);
                let pipeline = mention_pipeline(&root, file, &mention, limit);
                match self.order().record(index, Entry::file(real)) {
                    Some(false) => Done::Skipped,
                    _ => Done::Mention(pipeline),
                }
            }
        }
    }

    fn work_on<T>(&self, pipeline: Pipeline) -> Done<T>
    where
        W: Fn(Pipeline) -> T,
    {
        Done::Pipeline {
            files: pipeline.files.iter().map(|f| f.path.clone()).collect(),
            result: (self.work)(pipeline),
        }
    }
}

/// What the command line names, in the order one thread would load it:
/// each path's CI files, then the other YAML naming Kaniko; standard input
/// is read (and loaded) here, once, where it stands.
fn items(request: &Request, config: &Config) -> (Vec<Item>, Vec<LoadError>) {
    let default = [PathBuf::from(".gitlab-ci.yml")];
    let paths = if request.paths.is_empty() {
        &default[..]
    } else {
        request.paths
    };
    let (mut items, mut errors) = (Vec::new(), Vec::new());
    for path in paths {
        if path.as_os_str() == "-" {
            match read_stdin(request) {
                Ok(pipeline) => items.push(Item::Stdin(pipeline)),
                Err(error) => errors.push(error),
            }
            continue;
        }
        match discover(path, request, config) {
            Ok(found) => {
                let ci = found.ci.into_iter();
                items.extend(ci.map(|(file, system)| Item::Ci { file, system }));
                let mentions = found.mentions.into_iter();
                items.extend(mentions.map(|(file, mention)| Item::Mention { file, mention }));
            }
            Err(error) => errors.push(error),
        }
    }
    (items, errors)
}

/// The kept results in order, without the pipelines that another includes,
/// nor the mentions that a kept pipeline holds.
fn assemble<T>(done: Vec<Done<T>>, kept: Vec<Option<bool>>, errors: Vec<LoadError>) -> Loaded<T> {
    let mut results = Vec::new();
    let mut files = Vec::new();
    let mut mentions = Vec::new();
    for (done, kept) in done.into_iter().zip(kept) {
        match done {
            Done::Pipeline {
                files: held,
                result,
            } if kept == Some(true) => {
                results.push(result);
                files.push(held);
            }
            Done::Mention(pipeline) if kept == Some(true) => mentions.push(pipeline),
            _ => {}
        }
    }
    let keep = drop_included(&files);
    let held: HashSet<&Path> = files
        .iter()
        .zip(&keep)
        .filter(|(_, keep)| **keep)
        .flat_map(|(files, _)| files.iter().filter_map(|f| f.as_deref()))
        .collect();
    mentions.retain(|mention: &Pipeline| {
        let path = mention.files.first().and_then(|f| f.path.as_deref());
        !path.is_some_and(|path| held.contains(path))
    });
    let pipelines = results
        .into_iter()
        .zip(keep)
        .filter_map(|(result, keep)| keep.then_some(result))
        .collect();
    Loaded {
        pipelines,
        mentions,
        errors,
    }
}

/// A file to load.
enum Item {
    /// Standard input, loaded while the command line was read.
    Stdin(Pipeline),
    /// A CI file, with its system when its path tells it.
    Ci {
        file: PathBuf,
        system: Option<System>,
    },
    /// Other YAML that names a Kaniko image.
    Mention { file: PathBuf, mention: Mention },
}

impl Item {
    /// The file to read; standard input has been read.
    fn file(&self) -> Option<&Path> {
        match self {
            Item::Stdin(_) => None,
            Item::Ci { file, .. } | Item::Mention { file, .. } => Some(file),
        }
    }
}

/// What a worker gives back for an item.
enum Done<T> {
    /// The work's result, and the real paths of the pipeline's files,
    /// entry first (`None` for standard input).
    Pipeline {
        files: Vec<Option<PathBuf>>,
        result: T,
    },
    Mention(Pipeline),
    /// A file an earlier pipeline holds: not loaded, or not worked on.
    Skipped,
}

/// What an item brings to the order of loading.
struct Entry {
    /// The item's real path: skipped when an earlier pipeline holds it.
    /// `None` (standard input, a file that is gone) is never skipped.
    real: Option<PathBuf>,
    /// Every file the pipeline holds, once it is kept; none for a mention
    /// or standard input, which hold nothing for the files after them.
    holds: Vec<PathBuf>,
}

impl Entry {
    /// An item that holds nothing for the files after it: one skipped, a
    /// mention, standard input.
    fn file(real: Option<PathBuf>) -> Entry {
        Entry {
            real,
            holds: Vec::new(),
        }
    }
}

/// The sequential load's decisions, taken in the items' order as the items
/// are loaded: item `next` is decided once every item before it is.
struct Order {
    /// Every file the kept pipelines before `next` hold.
    held: HashSet<PathBuf>,
    /// Items loaded out of turn.
    waiting: HashMap<usize, Entry>,
    next: usize,
    /// Per item: kept, skipped, or not decided yet.
    kept: Vec<Option<bool>>,
}

impl Order {
    fn new(count: usize) -> Order {
        Order {
            held: HashSet::new(),
            waiting: HashMap::new(),
            next: 0,
            kept: vec![None; count],
        }
    }

    /// Whether the pipelines decided so far hold `real`: an item not yet
    /// recorded with that path will be skipped, whatever comes between.
    fn holds(&self, real: Option<&Path>) -> bool {
        real.is_some_and(|real| self.held.contains(real))
    }

    /// Records what item `index` holds, decides every item whose turn has
    /// come, and returns whether `index` is kept, when that is decided.
    fn record(&mut self, index: usize, entry: Entry) -> Option<bool> {
        self.waiting.insert(index, entry);
        while let Some(entry) = self.waiting.remove(&self.next) {
            let kept = !self.holds(entry.real.as_deref());
            if kept {
                self.held.extend(entry.holds);
            }
            self.kept[self.next] = Some(kept);
            self.next += 1;
        }
        self.kept[index]
    }
}

/// Which pipelines to keep, given each one's files (entry first): not
/// those whose entry file another pipeline includes, as that file is
/// analysed (and migrated) in the context of the file including it, once.
/// Of two pipelines that include each other, the first is kept.
fn drop_included(pipelines: &[Vec<Option<PathBuf>>]) -> Vec<bool> {
    let entry = |i: usize| pipelines[i].first().and_then(|f| f.as_deref());
    let included_by = |j: usize, path: &Path| {
        pipelines[j]
            .iter()
            .skip(1)
            .any(|f| f.as_deref() == Some(path))
    };
    // Which pipelines include each file: only they can cover its pipeline
    // (asking every pipeline made a fleet audit quadratic).
    let mut includers: HashMap<&Path, Vec<usize>> = HashMap::new();
    for (j, files) in pipelines.iter().enumerate() {
        for path in files.iter().skip(1).filter_map(|f| f.as_deref()) {
            includers.entry(path).or_default().push(j);
        }
    }
    let mut kept: Vec<bool> = vec![true; pipelines.len()];
    for i in 0..pipelines.len() {
        let Some(path) = entry(i) else {
            continue;
        };
        let candidates = includers.get(path).map_or(&[][..], Vec::as_slice);
        let covered = candidates.iter().copied().any(|j| {
            j != i && kept[j] && included_by(j, path) && {
                // Mutual includes: the earlier pipeline stays.
                let mutual = entry(j).is_some_and(|e| included_by(i, e));
                !mutual || j < i
            }
        });
        kept[i] = !covered;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(real: &str, holds: &[&str]) -> Entry {
        Entry {
            real: Some(PathBuf::from(real)),
            holds: holds.iter().map(PathBuf::from).collect(),
        }
    }

    #[test]
    fn items_are_decided_in_order_whatever_order_they_load_in() {
        let mut order = Order::new(4);
        // Item 2 is loaded first: its turn has not come.
        assert_eq!(order.record(2, entry("/t.yml", &["/t.yml"])), None);
        assert_eq!(order.record(1, entry("/b.yml", &["/b.yml"])), None);
        // Item 0 includes /t.yml: item 2 is skipped when its turn comes.
        let first = entry("/a.yml", &["/a.yml", "/t.yml"]);
        assert_eq!(order.record(0, first), Some(true));
        assert_eq!(order.kept, [Some(true), Some(true), Some(false), None]);
        // A later item naming a held file is known to be skipped.
        assert!(order.holds(Some(Path::new("/t.yml"))));
        assert!(!order.holds(None));
        assert_eq!(order.record(3, entry("/t.yml", &[])), Some(false));
    }

    #[test]
    fn a_skipped_pipeline_holds_nothing() {
        let mut order = Order::new(3);
        order.record(0, entry("/a.yml", &["/a.yml", "/t.yml"]));
        // Skipped: what it would include does not count.
        assert_eq!(
            order.record(1, entry("/t.yml", &["/t.yml", "/u.yml"])),
            Some(false)
        );
        assert_eq!(order.record(2, entry("/u.yml", &["/u.yml"])), Some(true));
    }

    #[test]
    fn included_entry_files_are_dropped_once() {
        let files = |paths: &[&str]| -> Vec<Option<PathBuf>> {
            paths.iter().map(|p| Some(PathBuf::from(p))).collect()
        };
        let pipelines = [
            files(&["/t.yml"]),
            files(&["/a.yml", "/t.yml"]),
            files(&["/x.yml", "/y.yml"]),
            files(&["/y.yml", "/x.yml"]),
            vec![None],
        ];
        assert_eq!(drop_included(&pipelines), [false, true, true, false, true]);
    }
}
