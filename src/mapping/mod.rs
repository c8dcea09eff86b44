//! The flag table and, in later stages, the job-shape changes it drives.

pub mod command;
pub mod flavor;
pub mod quote;
pub mod table;
