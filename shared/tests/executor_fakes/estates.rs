//! What surrounds an instance: none (`NoEstate`) or an Auto Scaling group, a target group and an
//! Elastic IP (`ServingEstate`); and no function, bucket, task or database (macros of stubs).

use std::sync::Mutex;

use firebreak::error::AwsError;
use firebreak::ports::{
    AddressFacts, AddressesPort, AutoScalingPort, BucketTags, BucketsPort, DatabaseFacts,
    DatabasesPort, EgressTo, FunctionFacts, FunctionVpc, FunctionsPort, GroupMembership,
    ManagedInstance, MappingFacts, MemoryPort, Presign, ProvisionedFacts, PublicAccessBlock,
    Registration, TargetGroupsPort, TaskFacts, TasksPort, UpdateStatus, VpcEndpointFacts,
};

/// An instance in no Auto Scaling group, target group or Elastic IP.
pub(crate) struct NoEstate;

/// No Lambda function exists (these tests are about instances and credentials).
macro_rules! no_functions {
    ($t:ty) => {
        impl FunctionsPort for $t {
            async fn function(&self, _: &str) -> Result<Option<FunctionFacts>, AwsError> {
                Ok(None)
            }
            async fn mappings(&self, _: &str) -> Result<Vec<MappingFacts>, AwsError> {
                Ok(vec![])
            }
            async fn set_concurrency(&self, _: &str, _: Option<i32>) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn set_mapping_enabled(&self, _: &str, _: bool) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn provisioned(&self, _: &str) -> Result<Vec<ProvisionedFacts>, AwsError> {
                unreachable!("no function")
            }
            async fn set_provisioned(
                &self,
                _: &str,
                _: &str,
                _: Option<i32>,
            ) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn update_status(&self, _: &str) -> Result<UpdateStatus, AwsError> {
                unreachable!("no function")
            }
            async fn set_function_groups(
                &self,
                _: &str,
                _: &FunctionVpc,
                _: &[String],
            ) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn tag_function(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn untag_function(&self, _: &str, _: &[String]) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn security_group_vpcs(
                &self,
                _: &[String],
            ) -> Result<Vec<(String, String)>, AwsError> {
                unreachable!("no function")
            }
            async fn quarantine_group_ids(&self, _: &str) -> Result<Vec<String>, AwsError> {
                unreachable!("no function")
            }
        }
    };
}

/// No S3 bucket exists either.
macro_rules! no_buckets {
    ($t:ty) => {
        impl BucketsPort for $t {
            async fn bucket_tags(&self, _: &str) -> Result<Option<BucketTags>, AwsError> {
                Ok(None)
            }
            async fn put_bucket_tags(
                &self,
                _: &str,
                _: &BucketTags,
                _: &[(String, String)],
            ) -> Result<(), AwsError> {
                unreachable!("no bucket")
            }
            async fn public_access_block(
                &self,
                _: &str,
            ) -> Result<Option<PublicAccessBlock>, AwsError> {
                Ok(None)
            }
            async fn set_public_access_block(
                &self,
                _: &str,
                _: Option<PublicAccessBlock>,
            ) -> Result<(), AwsError> {
                unreachable!("no bucket")
            }
            async fn bucket_policy(&self, _: &str) -> Result<Option<String>, AwsError> {
                Ok(None)
            }
            async fn set_bucket_policy(&self, _: &str, _: Option<&str>) -> Result<(), AwsError> {
                unreachable!("no bucket")
            }
        }
    };
}

/// No ECS task either.
macro_rules! no_tasks {
    ($t:ty) => {
        impl TasksPort for $t {
            async fn task(&self, _: &str, _: &str) -> Result<Option<TaskFacts>, AwsError> {
                Ok(None)
            }
            async fn stop_task(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
                unreachable!("no task")
            }
        }
    };
}

/// No RDS database either.
macro_rules! no_databases {
    ($t:ty) => {
        impl DatabasesPort for $t {
            async fn database(&self, _: &str) -> Result<Option<DatabaseFacts>, AwsError> {
                Ok(None)
            }
            async fn snapshot_database(
                &self,
                _: &DatabaseFacts,
                _: &str,
                _: &[(String, String)],
            ) -> Result<bool, AwsError> {
                unreachable!("no database")
            }
            async fn set_database_groups(
                &self,
                _: &DatabaseFacts,
                _: &[String],
            ) -> Result<(), AwsError> {
                unreachable!("no database")
            }
            async fn tag_database(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
                unreachable!("no database")
            }
            async fn untag_database(&self, _: &str, _: &[String]) -> Result<(), AwsError> {
                unreachable!("no database")
            }
        }
    };
}

/// No memory capture here (its own tests are beside `actions/capture.rs`, and `capture_e2e`).
macro_rules! no_memory {
    ($t:ty) => {
        impl MemoryPort for $t {
            fn capture_here(&self) -> bool {
                false
            }
            async fn managed_instance(&self, _: &str) -> Result<Option<ManagedInstance>, AwsError> {
                unreachable!("no capture")
            }
            async fn vpc_endpoints(&self, _: &str) -> Result<Vec<VpcEndpointFacts>, AwsError> {
                unreachable!("no capture")
            }
            async fn prefix_list(&self, _: &str) -> Result<Option<String>, AwsError> {
                unreachable!("no capture")
            }
            async fn allow_capture_egress(&self, _: &str, _: &[EgressTo]) -> Result<(), AwsError> {
                unreachable!("no capture")
            }
            async fn presign(
                &self,
                _: Presign,
                _: &str,
                _: &str,
                _: u64,
            ) -> Result<String, AwsError> {
                unreachable!("no capture")
            }
            async fn send_command(
                &self,
                _: &str,
                _: &str,
                _: &[(&str, String)],
                _: &str,
            ) -> Result<String, AwsError> {
                unreachable!("no capture")
            }
        }
    };
}

no_databases!(NoEstate);
no_databases!(ServingEstate);
no_memory!(NoEstate);
no_memory!(ServingEstate);
no_tasks!(NoEstate);
no_tasks!(ServingEstate);
no_buckets!(NoEstate);
no_buckets!(ServingEstate);
no_functions!(NoEstate);
no_functions!(ServingEstate);

impl AutoScalingPort for NoEstate {
    async fn auto_scaling_group(&self, _: &str) -> Result<Option<GroupMembership>, AwsError> {
        Ok(None)
    }
    async fn enter_standby(&self, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("not in a group")
    }
    async fn detach_from_group(&self, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("not in a group")
    }
    async fn exit_standby(&self, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("not in a group")
    }
    async fn attach_to_group(&self, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("not in a group")
    }
}

impl TargetGroupsPort for NoEstate {
    async fn registrations(
        &self,
        _: &str,
        _: &[String],
        _: &[String],
    ) -> Result<Vec<Registration>, AwsError> {
        Ok(vec![])
    }
    async fn deregister(&self, _: &Registration, _: &str) -> Result<(), AwsError> {
        unreachable!("no registration")
    }
    async fn register(&self, _: &Registration, _: &str) -> Result<(), AwsError> {
        unreachable!("no registration")
    }
}

impl AddressesPort for NoEstate {
    async fn addresses(&self, _: &str) -> Result<Vec<AddressFacts>, AwsError> {
        Ok(vec![])
    }
    async fn disassociate_address(&self, _: &str) -> Result<(), AwsError> {
        unreachable!("no address")
    }
    async fn associate_address(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("no address")
    }
}

/// An instance InService in a group that refuses Standby (or, once detached, in no group), in one
/// target group, with one Elastic IP.
#[derive(Default)]
pub(crate) struct ServingEstate {
    pub(crate) detached: bool,
    pub(crate) calls: Mutex<Vec<String>>,
}

impl ServingEstate {
    fn log(&self, c: String) {
        self.calls.lock().unwrap().push(c);
    }
}

impl AutoScalingPort for ServingEstate {
    async fn auto_scaling_group(&self, _: &str) -> Result<Option<GroupMembership>, AwsError> {
        Ok((!self.detached).then(|| GroupMembership {
            group: "web".into(),
            lifecycle_state: "InService".into(),
        }))
    }
    async fn enter_standby(&self, g: &str, _: &str) -> Result<(), AwsError> {
        self.log(format!("standby {g}"));
        Err(AwsError {
            code: Some("ValidationError".into()),
            message: "standby refused".into(),
        })
    }
    async fn detach_from_group(&self, g: &str, _: &str) -> Result<(), AwsError> {
        self.log(format!("detach {g}"));
        Ok(())
    }
    async fn exit_standby(&self, g: &str, _: &str) -> Result<(), AwsError> {
        self.log(format!("exit-standby {g}"));
        Ok(())
    }
    async fn attach_to_group(&self, g: &str, _: &str) -> Result<(), AwsError> {
        self.log(format!("attach {g}"));
        Ok(())
    }
}

impl TargetGroupsPort for ServingEstate {
    async fn registrations(
        &self,
        _: &str,
        _: &[String],
        _: &[String],
    ) -> Result<Vec<Registration>, AwsError> {
        Ok(vec![Registration {
            target_group_arn: "arn:tg/web".into(),
            port: Some(80),
            ip: None,
        }])
    }
    async fn deregister(&self, r: &Registration, _: &str) -> Result<(), AwsError> {
        self.log(format!("deregister {}", r.target_group_arn));
        Ok(())
    }
    async fn register(&self, r: &Registration, _: &str) -> Result<(), AwsError> {
        self.log(format!("register {} {:?}", r.target_group_arn, r.port));
        Ok(())
    }
}

impl AddressesPort for ServingEstate {
    async fn addresses(&self, _: &str) -> Result<Vec<AddressFacts>, AwsError> {
        Ok(vec![AddressFacts {
            allocation_id: "eipalloc-1".into(),
            association_id: "eipassoc-1".into(),
            public_ip: "198.51.100.7".into(),
            network_interface_id: "eni-1".into(),
            private_ip: "10.0.0.5".into(),
        }])
    }
    async fn disassociate_address(&self, a: &str) -> Result<(), AwsError> {
        self.log(format!("disassociate {a}"));
        Ok(())
    }
    async fn associate_address(&self, a: &str, eni: &str, ip: &str) -> Result<(), AwsError> {
        self.log(format!("associate {a} {eni} {ip}"));
        Ok(())
    }
}
