//! Every end-to-end and fidelity test of the workspace, one module per file: the real Lambda
//! binaries against the local AWS (`scripts/local-aws`). One test binary, so the AWS SDK crates are
//! linked once rather than once per file; `cargo test -p firebreak-tests --test e2e network_e2e::`
//! runs one file's tests. The fidelity tests of the local AWS are `fidelity/`, a module per service
//! (`--test e2e fidelity::` runs them all, `fidelity::lambda::` one service's). Tests share one
//! local AWS as they always did: each makes its own resources (`fixtures::unique`), keys its fault
//! rules by its own id, and the blast-radius cap's tests use a region of their own.

#[path = "artifact_e2e.rs"]
mod artifact_e2e;
#[path = "bucket_e2e.rs"]
mod bucket_e2e;
#[path = "capture_e2e.rs"]
mod capture_e2e;
#[path = "chat_decisions_e2e.rs"]
mod chat_decisions_e2e;
#[path = "chat_e2e.rs"]
mod chat_e2e;
#[path = "credential_e2e.rs"]
mod credential_e2e;
#[path = "fault_e2e.rs"]
mod fault_e2e;
#[path = "fidelity/mod.rs"]
mod fidelity;
#[path = "function_e2e.rs"]
mod function_e2e;
#[path = "guardduty_e2e.rs"]
mod guardduty_e2e;
#[path = "imported_e2e.rs"]
mod imported_e2e;
#[path = "metrics_e2e.rs"]
mod metrics_e2e;
#[path = "network_e2e.rs"]
mod network_e2e;
#[path = "node_e2e.rs"]
mod node_e2e;
#[path = "playbook_e2e.rs"]
mod playbook_e2e;
#[path = "rds_e2e.rs"]
mod rds_e2e;
#[path = "securityhub_e2e.rs"]
mod securityhub_e2e;
#[path = "sequence_e2e.rs"]
mod sequence_e2e;
#[path = "tamper_e2e.rs"]
mod tamper_e2e;
#[path = "task_e2e.rs"]
mod task_e2e;
#[path = "tickets_e2e.rs"]
mod tickets_e2e;
#[path = "told_once_e2e.rs"]
mod told_once_e2e;
