//! `cargo bench --bench check`: the cost of `check` (the analysis), of
//! `migrate` (plan, apply, both verification parses) and of the `diff`
//! command (the CLI: loading, the migration and the unified diff, printed
//! to /dev/null) against a bare yaml-rust2 event parse of the same bytes
//! (the floor), on the generated
//! inputs of `support/gen.rs`: pipelines of 0.5, 5 and 50 MB, a flat file of
//! 200,000 jobs with one Kaniko job, and a fleet of 10,000 small files.
//!
//! Each round times every side once (`check`, `migrate`, the command),
//! each right after a run of the floor. A time shown is the fastest run; a
//! ratio is the median over the rounds of the side's time over the
//! floor's run just before it. On a shared machine whose speed swings by
//! half for seconds at a time, timing each side's runs together let one
//! side fall in a slow spell and the other in a fast one (the same
//! binary's `check` read 1.25x and 2.52x the floor). Runs a fraction of a
//! second apart share a spell, and the median drops the rounds a change of
//! spell fell in. `--rounds N` sets the rounds (7 by default). Each line
//! ends with the floor's spread (its slowest run over its fastest): far above 1,
//! the machine was busy.
//!
//! Without `--quick`, a 100 MB pipeline is migrated once at the end and
//! must not be refused (the robustness case, kept out of the test
//! suite: it takes a minute and a few GB).
//!
//! Options (after `--`): `--rounds N`; `--quick` skips the 50 and 100 MB pipelines and
//! shrinks the fleet to 1,000 files; `--fleet` times the fleet alone (with
//! `--quick`, 1,000 files); `--write DIR` only writes the inputs
//! into DIR (for `/usr/bin/time -v kaniko2buildkit check …`); `--once
//! floor|check|diff FILE` runs one of the three once on FILE, for a
//! profiler (`valgrind --tool=callgrind target/release/deps/check-… --once
//! check F`).

#[path = "support/gen.rs"]
mod generate;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kaniko2buildkit::analysis::analyse;
use kaniko2buildkit::config::Config;
use kaniko2buildkit::gitlab::{Input, Pipeline};
use kaniko2buildkit::migrate::{Options, migrate};
use yaml_rust2::parser::{Event, Parser};

const MB: usize = 1_000_000;

fn bare_parse(text: &str) {
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

fn load(text: &str, root: &Path) -> Pipeline {
    Pipeline::load(
        root,
        Input::Stdin {
            text: text.to_string(),
            name: "bench.yml".into(),
        },
    )
}

fn check(text: &str, root: &Path) -> usize {
    analyse(&load(text, root), &Config::default()).kaniko_jobs
}

/// What `diff` does before printing: load, plan, apply, verify twice.
fn diff(text: &str, root: &Path) -> Result<usize, String> {
    let pipeline = load(text, root);
    let options = Options {
        root: Some(root.to_path_buf()),
        ..Options::default()
    };
    migrate(&pipeline, &options)
        .map(|migration| migration.migrated_jobs.len())
        .map_err(|refused| refused.message)
}

/// Times of the floor and of each side, round by round: every round times
/// each side once, in turn, right after a run of the floor.
struct Rounds {
    /// For each side, its time and the floor's just before it, per round.
    pairs: Vec<Vec<(Duration, Duration)>>,
}

impl Rounds {
    fn time(round_count: usize, floor: &mut dyn FnMut(), sides: &mut [&mut dyn FnMut()]) -> Rounds {
        let timed = |run: &mut dyn FnMut()| {
            let start = Instant::now();
            run();
            start.elapsed()
        };
        let mut pairs = vec![Vec::with_capacity(round_count); sides.len()];
        for _ in 0..round_count {
            for (side, pairs) in sides.iter_mut().zip(&mut pairs) {
                let floor = timed(floor);
                pairs.push((timed(*side), floor));
            }
        }
        Rounds { pairs }
    }

    fn floors(&self) -> impl Iterator<Item = Duration> + '_ {
        self.pairs.iter().flatten().map(|&(_, floor)| floor)
    }

    fn floor(&self) -> Duration {
        self.floors().min().unwrap()
    }

    fn fastest(&self, side: usize) -> Duration {
        self.pairs[side]
            .iter()
            .map(|&(time, _)| time)
            .min()
            .unwrap()
    }

    /// The median over the rounds of the side's time over the floor's run
    /// just before it: runs a fraction of a second apart share the
    /// machine's spell, and the median drops the rounds a change of spell
    /// fell in.
    fn ratio(&self, side: usize) -> f64 {
        let mut ratios: Vec<f64> = self.pairs[side]
            .iter()
            .map(|&(time, floor)| ratio(time, floor))
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    }

    /// The floor's slowest run over its fastest.
    fn floor_spread(&self) -> f64 {
        ratio(self.floors().max().unwrap(), self.floor())
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn one_file(name: &str, text: &str, root: &Path, count: usize) {
    let file = root.join("bench.yml");
    std::fs::write(&file, text).unwrap();
    let mut found = 0;
    let mut migrated = Ok(0);
    // The sides, in the order they are timed.
    const CHECK: usize = 0;
    const MIGRATE: usize = 1;
    const COMMAND: usize = 2;
    let timed = Rounds::time(
        count,
        &mut || bare_parse(text),
        &mut [
            &mut || found = check(text, root),
            &mut || migrated = diff(text, root),
            &mut || run_cli(&["diff"], &file),
        ],
    );
    let floor = timed.floor();
    let mb = text.len() as f64 / MB as f64;
    let migrate_column = match &migrated {
        Ok(jobs) => format!(
            "{:>9.1?} {:>6.2}x ({jobs} migrated)",
            timed.fastest(MIGRATE),
            timed.ratio(MIGRATE)
        ),
        Err(message) => format!("refused: {message}"),
    };
    println!(
        "{name:<14} {mb:>6.2} MB  floor {floor:>9.1?} ({:>5.1} MB/s)  check {:>9.1?} {:>5.2}x ({found} Kaniko jobs)  migrate {migrate_column}  diff command {:>9.1?} {:>6.2}x  floor spread {:.2}",
        mb / floor.as_secs_f64(),
        timed.fastest(CHECK),
        timed.ratio(CHECK),
        timed.fastest(COMMAND),
        timed.ratio(COMMAND),
        timed.floor_spread(),
    );
}

/// Runs the CLI as a user does, output to /dev/null.
fn run_cli(args: &[&str], path: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_kaniko2buildkit"))
        .args(args)
        .args(["--exit-zero", "--max-file-size", "1000000000"])
        .arg(path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{args:?} {}", path.display());
}

/// `check` over a fleet of small files, run as the CLI runs it, against
/// reading and parsing the same files.
fn fleet(count: usize, round_count: usize) {
    let dir = tempfile::tempdir().unwrap();
    generate::fleet(dir.path(), count).unwrap();
    let files: Vec<_> = (0..count)
        .map(|n| {
            dir.path()
                .join(format!("repo-{n:05}"))
                .join(".gitlab-ci.yml")
        })
        .collect();
    let timed = Rounds::time(
        round_count,
        &mut || {
            for file in &files {
                bare_parse(&std::fs::read_to_string(file).unwrap());
            }
        },
        &mut [&mut || run_cli(&["check", "--statistics"], dir.path())],
    );
    println!(
        "{:<14} {count:>6} files  floor {:>9.1?}  check {:>9.1?} {:>5.2}x  floor spread {:.2}",
        "fleet",
        timed.floor(),
        timed.fastest(0),
        timed.ratio(0),
        timed.floor_spread(),
    );
}

fn main() {
    // The binary's allocator and its options, for the floor too.
    kaniko2buildkit::allocator::configure();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(at) = args.iter().position(|a| a == "--write") {
        let dir = Path::new(args.get(at + 1).expect("--write DIR"));
        std::fs::create_dir_all(dir).unwrap();
        for mb in [0.5, 5.0, 50.0, 100.0] {
            let text = generate::pipeline((mb * MB as f64) as usize);
            std::fs::write(dir.join(format!("pipeline-{mb}mb.yml")), text).unwrap();
        }
        std::fs::write(dir.join("flat-200k.yml"), generate::flat(200_000)).unwrap();
        generate::fleet(&dir.join("fleet"), 10_000).unwrap();
        return;
    }
    let round_count = match args.iter().position(|a| a == "--rounds") {
        Some(at) => args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .expect("--rounds N, N at least 1"),
        None => 7,
    };
    let fleet_size = if quick { 1_000 } else { 10_000 };
    if args.iter().any(|a| a == "--fleet") {
        fleet(fleet_size, round_count);
        return;
    }
    let root = tempfile::tempdir().unwrap();
    if let Some(at) = args.iter().position(|a| a == "--once") {
        let (what, file) = match (args.get(at + 1), args.get(at + 2)) {
            (Some(what), Some(file)) => (what.as_str(), file),
            _ => panic!("--once floor|check|diff FILE"),
        };
        let text = std::fs::read_to_string(file).unwrap();
        match what {
            "floor" => bare_parse(&text),
            "check" => println!("{} Kaniko jobs", check(&text, root.path())),
            "diff" => println!("{:?}", diff(&text, root.path())),
            other => panic!("--once {other}: floor, check or diff"),
        }
        return;
    }
    let sizes: &[usize] = if quick {
        &[MB / 2, 5 * MB]
    } else {
        &[MB / 2, 5 * MB, 50 * MB]
    };
    for &bytes in sizes {
        let text = generate::pipeline(bytes);
        one_file(
            &format!("pipeline {}MB", bytes as f64 / MB as f64),
            &text,
            root.path(),
            round_count,
        );
    }
    one_file(
        "flat 200k jobs",
        &generate::flat(200_000),
        root.path(),
        round_count,
    );
    fleet(fleet_size, round_count);
    if !quick {
        no_refusal_at_100_mb(root.path());
    }
}

/// The robustness case: 100 MB migrates, with no bound on size or
/// on the places an anchored node appears. A behaviour, timed only for the
/// record (once: it takes as long as everything else together).
fn no_refusal_at_100_mb(root: &Path) {
    let text = generate::pipeline(100 * MB);
    let start = Instant::now();
    let migrated = diff(&text, root).expect("100 MB must not be refused");
    println!(
        "{:<14} {:>6.2} MB  diff {:>9.1?} once ({migrated} migrated)",
        "pipeline 100MB",
        text.len() as f64 / MB as f64,
        start.elapsed()
    );
}
