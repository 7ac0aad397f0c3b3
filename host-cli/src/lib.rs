#![doc = include_str!("../README.md")]

pub mod app;
pub mod benchmark;
pub mod cli;
pub mod collect;
pub mod ingest;
pub mod instrument_file;
pub mod keyring;
pub mod keys;
pub mod method;
pub mod monitor;
pub mod output;
pub mod profile;
pub mod reference;
pub mod report;
pub mod simulate;
pub mod terminal;
