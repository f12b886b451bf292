//! The provision steps, one file each (see [`Step`](super::Step) for the order). Each adds
//! `step_*` methods to [`Provisioner`](super::Provisioner) and records what it made in the
//! run journal; [`removal`](super::removal) removes it.

mod chef;
mod dns;
mod droplet;
mod monitoring;
