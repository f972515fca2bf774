//! One module per action: its declaration (`SPEC`: what it calls, writes and undoes; the shape in
//! `spec.rs`), its process and its undo side by side; `registry` lists every kind's declaration.
//! Each module imports ports, tags, outcomes, the kinds and `spec` — never another action, a
//! scheduler or an adapter.

pub mod access_key;
pub mod bucket;
pub mod capture;
pub mod database;
pub mod evidence;
pub mod function;
pub mod isolate;
pub mod login_profile;
pub mod network_acl;
pub mod out_of_service;
pub mod profile;
pub mod registry;
pub mod sessions;
pub mod snapshot;
pub mod spec;
pub mod tag_instance;
