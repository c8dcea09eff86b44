//! `cargo bench`: the cost of `check` against a bare yaml-rust2 event parse
//! of the same bytes, on a generated pipeline of a few megabytes.
//!
//! Prints the median of several runs and the ratio; the design target is
//! at most 2.5× the bare parse.

use std::time::{Duration, Instant};

use kaniko2buildkit::analysis::analyse;
use kaniko2buildkit::config::Config;
use kaniko2buildkit::gitlab::{Input, Pipeline};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A pipeline like real ones: templates, anchors, scripts in every style,
/// and one Kaniko job in ten.
fn generate(jobs: usize) -> String {
    let mut text = String::from(
        "stages: [build, test]\n\nvariables:\n  GLOBAL: \"1\"\n\n.base: &base\n  tags: [docker]\n  retry: 2\n\n",
    );
    for i in 0..jobs {
        let kaniko = i % 10 == 0;
        text += &format!("job-{i}:\n  <<: *base\n  stage: build\n");
        if kaniko {
            text += "  image:\n    name: gcr.io/kaniko-project/executor:debug\n    entrypoint: [\"\"]\n";
            text += &format!(
                "  script:\n    - /kaniko/executor\n      --context \"${{CI_PROJECT_DIR}}\"\n      --destination \"${{CI_REGISTRY_IMAGE}}/app-{i}:${{CI_COMMIT_SHA}}\"\n      --build-arg \"N={i}\"\n"
            );
        } else {
            text += &format!(
                "  image: python:3.12 # a comment\n  variables:\n    NAME: \"job {i} é\"\n  script:\n    - |\n      echo \"building {i}\"\n      make test ARGS='-k {i}'\n    - >-\n      python -m pytest\n      --maxfail=1\n  rules:\n    - if: $CI_COMMIT_BRANCH == \"main\"\n"
            );
        }
        text.push('\n');
    }
    text
}

struct Nothing;

impl MarkedEventReceiver for Nothing {
    fn on_event(&mut self, _event: Event, _mark: Marker) {}
}

fn bare_parse(text: &str) {
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) | Err(_) => break,
            Ok((event, mark)) => Nothing.on_event(event, mark),
        }
    }
}

fn check(text: &str, root: &std::path::Path) -> usize {
    let pipeline = Pipeline::load(
        root,
        Input::Stdin {
            text: text.to_string(),
            name: "bench.yml".into(),
        },
    );
    analyse(&pipeline, &Config::default()).kaniko_jobs
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let root = std::env::temp_dir().join("kaniko2buildkit-bench-root");
    std::fs::create_dir_all(&root).unwrap();
    for jobs in [2_000, 20_000] {
        let text = generate(jobs);
        let bare = time(7, || bare_parse(&text));
        let mut found = 0;
        let full = time(7, || found = check(&text, &root));
        println!(
            "{:>6} jobs, {:>6.2} MB: bare yaml-rust2 parse {:>8.1?}, check {:>8.1?} ({} Kaniko jobs), ratio {:.2}x",
            jobs,
            text.len() as f64 / 1e6,
            bare,
            full,
            found,
            full.as_secs_f64() / bare.as_secs_f64()
        );
    }
}
