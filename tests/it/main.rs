//! The integration suite, one test binary: each former `tests/<name>.rs` is the module
//! `<name>` here (`cargo test --test it <name>::`), sharing `common`. One binary links once
//! instead of once per file, which is most of the build on a small machine. The tests share
//! one process and run on parallel threads: nothing here may rely on being alone in it (see
//! docs/testing.md).

#[macro_use]
mod common;

mod adobe;
mod browser;
mod budgets;
mod bulk;
mod concurrency;
mod console;
mod directory;
mod docs;
mod domo;
mod events;
mod foundation;
mod fuzz_regressions;
mod hostile;
mod isolation;
mod layers;
mod logto;
mod ops;
mod overload;
mod portability;
mod process;
mod query;
mod rules;
mod scim;
mod scim_details;
mod scim_ext;
mod secrets;
mod store;
mod sumo;
