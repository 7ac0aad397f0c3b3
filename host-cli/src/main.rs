//! `surveybench`: the analyst's command line.
fn main() {}
