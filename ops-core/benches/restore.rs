//! Restore benchmark (see below).

fn main() {}
