//! survql's cross-crate test-suite: every estimate compared with R `survival` 3.5-3's answers
//! (`tests/data/golden`, copied from the reference set) through SQL, under several data
//! layouts and partition counts, plus sqllogictest files for SQL behaviour and errors.
//!
//! One test binary on purpose: each links all of DataFusion.

mod dataframe_api;
mod function_docs;
mod fuzz;
mod golden_adjusted;
mod golden_competing;
mod golden_contrasts;
mod golden_cox;
mod golden_design;
mod golden_km;
mod golden_life_table;
mod golden_rowwise;
mod golden_split;
mod golden_tests;
mod golden_validation;
mod golden_vendor;
mod many_groups;
mod properties;
mod shared_state;
mod slt;
mod states;
mod warnings;
