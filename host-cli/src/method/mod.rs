//! The benchmarking method of method.md §4-§10, one module per concern.

pub mod change;
pub mod expected_range;
pub mod headline;
pub mod score;
pub mod sequential;
pub mod standardise;
