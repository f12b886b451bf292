//! Resource handlers and their types.

pub mod records;
pub mod zones;
