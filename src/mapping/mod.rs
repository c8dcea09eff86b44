//! The flag table and the translation it drives: each row of
//! [`table`] says how its flag is carried ([`carry`], with the flags that
//! have a counterpart of their own in [`handlers`]), and [`command`] turns
//! one call into buildctl's argument groups; [`docker_run`] turns a
//! `docker run` of the executor into `docker buildx build` on the host.

pub(crate) mod carry;
pub mod command;
pub mod docker_run;
pub mod flavor;
pub(crate) mod handlers;
pub mod quote;
pub mod table;
