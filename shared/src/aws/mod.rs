//! The adapters: the ports implemented with the AWS SDK, one module per service, and the
//! per-(account, region) client factory. Adapters import ports and tags, never an action or a
//! scheduler.

pub mod addresses;
pub mod artifacts;
pub mod autoscaling_elb;
pub mod clients;
pub mod ec2;
pub mod ecs;
pub mod iam;
pub mod lambda;
pub mod memory;
pub mod network_acls;
pub mod rds;
pub mod s3;
pub mod sdk;
pub mod secrets;
pub mod security_groups;
pub mod securityhub;
pub mod services;
pub mod sns;
