//! One module per action, its undo beside it; the registry declares every kind. Each module imports
//! ports, tags, outcomes and the registry — never another action, a scheduler or an adapter.

pub mod access_key;
pub mod bucket;
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
pub mod tag_instance;
