//! Provision benchmark (work in progress).
fn main() {}
