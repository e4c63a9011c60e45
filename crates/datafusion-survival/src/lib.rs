//! datafusion-survival
