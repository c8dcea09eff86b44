//! Migration of Buildkite steps (being written).

use crate::gitlab::Pipeline;
use crate::migrate::{Migration, Options, Refused};

pub fn migrate(_pipeline: &Pipeline, _options: &Options) -> Result<Migration, Refused> {
    Ok(Migration::default())
}
