//! The per-(account, region) client factory: AWS clients built once from the function's
//! configuration, an account other than the function's own reached through its member role.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::SharedCredentialsProvider;

use crate::aws::autoscaling_elb::{AutoScaling, LoadBalancing};
use crate::aws::ec2::Ec2;
use crate::aws::ecs::Ecs;
use crate::aws::iam::Iam;
use crate::aws::lambda::Lambda;
use crate::aws::rds::Rds;
use crate::aws::s3::S3;
use crate::aws::securityhub::SecurityHub;
use crate::aws::services::{Services, Ssm};
use crate::aws::sns::Sns;
use crate::config::Config;
use crate::incident::ids::Arn;

/// AWS clients built once from the function's configuration, handed out per (account, region).
/// An account other than the function's own is reached through its member role (see
/// [`AwsClients::with_member_role`]).
pub struct AwsClients {
    base: SdkConfig,
    /// The function's own account, learnt from the first invocation's function ARN.
    home_account: std::sync::OnceLock<String>,
    member: Option<MemberRole>,
    /// Per member account: the assumed-role credentials provider (the SDK's identity cache keeps
    /// its credentials until shortly before they expire, for every client of that account).
    assumed: Mutex<HashMap<String, SharedCredentialsProvider>>,
    ec2: Mutex<HashMap<(String, String), aws_sdk_ec2::Client>>,
    iam: Mutex<HashMap<String, aws_sdk_iam::Client>>,
    securityhub: Mutex<HashMap<String, aws_sdk_securityhub::Client>>,
    service: Mutex<HashMap<(String, String), Services>>,
}

/// The role Firebreak assumes in member accounts.
#[derive(Debug, Clone)]
struct MemberRole {
    name: String,
    external_id: Option<String>,
    session_name: String,
}

/// The partition of a region: `aws`, `aws-cn` or `aws-us-gov`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A valid `RoleSessionName` (`[\w+=,.@-]{2,64}`) made from `name`.
fn session_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if cleaned.len() < 2 {
        "firebreak".to_string()
    } else {
        cleaned
    }
}

/// The client cached under `key`, made by `make` the first time.
fn cached<K: std::hash::Hash + Eq, C: Clone>(
    cache: &Mutex<HashMap<K, C>>,
    key: K,
    make: impl FnOnce() -> C,
) -> C {
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    cache.entry(key).or_insert_with(make).clone()
}

impl AwsClients {
    /// Loads the standard configuration (credentials, `AWS_REGION`, `AWS_ENDPOINT_URL`). Each call
    /// is tried up to 5 times (throttling and 5xx, with the SDK's backoff) unless `AWS_MAX_ATTEMPTS`
    /// says otherwise: an incident burst is exactly when EC2 throttles. Each attempt and each call
    /// with its retries has a timeout (the SDK sets none by default): a stalled call must not hold an
    /// interface in the allow-all group until Lambda kills the function.
    pub async fn from_env(config: &Config) -> AwsClients {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(config.call_timeout)
                .operation_timeout(config.operation_timeout)
                .build(),
        );
        if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
            loader = loader
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5));
        }
        AwsClients::new(loader.load().await)
    }

    /// Wraps an already loaded configuration.
    pub fn new(base: SdkConfig) -> AwsClients {
        AwsClients {
            base,
            home_account: std::sync::OnceLock::new(),
            member: None,
            assumed: Mutex::new(HashMap::new()),
            ec2: Mutex::new(HashMap::new()),
            iam: Mutex::new(HashMap::new()),
            securityhub: Mutex::new(HashMap::new()),
            service: Mutex::new(HashMap::new()),
        }
    }

    /// Reach accounts other than the function's own through `arn:<partition>:iam::<account>:role/<name>`,
    /// assumed with `external_id` (when set) and the session name `session` (the function's name, so
    /// the member account's CloudTrail says which Firebreak function acted).
    pub fn with_member_role(
        mut self,
        name: &str,
        external_id: Option<&str>,
        session: &str,
    ) -> AwsClients {
        self.member = Some(MemberRole {
            name: name.to_string(),
            external_id: external_id.map(String::from),
            session_name: session_name(session),
        });
        self
    }

    /// Records the function's own account, from the invoked function's ARN (first call wins).
    pub fn learn_home_account(&self, function_arn: &str) {
        let account = Arn::lenient(function_arn).account;
        if !account.is_empty() {
            let _ = self.home_account.set(account.to_string());
        }
    }

    /// The member role's ARN when `account` is not the function's own (and a member role is set).
    pub fn member_role_arn(&self, account: &str, region: &str) -> Option<String> {
        let member = self.member.as_ref()?;
        let home = self.home_account.get()?;
        (home != account && !account.is_empty()).then(|| {
            format!(
                "arn:{}:iam::{account}:role/{}",
                partition_of(region),
                member.name
            )
        })
    }

    /// The function's own credentials, or the member role's in another account.
    async fn credentials_for(
        &self,
        account: &str,
        region: &str,
    ) -> Option<SharedCredentialsProvider> {
        let role_arn = self.member_role_arn(account, region)?;
        if let Some(p) = self
            .assumed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
        {
            return Some(p.clone());
        }
        let member = self.member.as_ref()?;
        let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn)
            .session_name(member.session_name.clone())
            .region(Region::new(region.to_string()))
            .configure(&self.base);
        if let Some(id) = &member.external_id {
            builder = builder.external_id(id.clone());
        }
        let provider = SharedCredentialsProvider::new(builder.build().await);
        Some(cached(&self.assumed, account.to_string(), || provider))
    }

    /// The configuration for the incident's account and region: the function's own, in that
    /// region, with the member role's credentials in another account. Every client of an account
    /// shares the one credentials provider (and so the SDK's cache of its credentials).
    async fn config_for(&self, account: &str, region: &str) -> SdkConfig {
        let mut conf = self
            .base
            .clone()
            .into_builder()
            .region(Region::new(region.to_string()));
        if let Some(credentials) = self.credentials_for(account, region).await {
            conf = conf.credentials_provider(credentials);
        }
        conf.build()
    }

    /// IAM of the incident's account (a global service: the SDK picks the partition's endpoint
    /// from the region).
    pub async fn iam_for(&self, account: &str, region: &str) -> Iam {
        let conf = self.config_for(account, region).await;
        let client = cached(&self.iam, account.to_string(), || {
            aws_sdk_iam::Client::new(&conf)
        });
        Iam(client, None)
    }

    /// EC2 in the incident's account and region.
    pub async fn ec2_for(&self, account: &str, region: &str) -> Ec2 {
        let conf = self.config_for(account, region).await;
        let key = (account.to_string(), region.to_string());
        Ec2(
            cached(&self.ec2, key, || aws_sdk_ec2::Client::new(&conf)),
            None,
        )
    }

    /// Auto Scaling, load balancers, Elastic IPs and Lambda in the incident's account and region.
    pub async fn service_for(&self, account: &str, region: &str) -> Services {
        let conf = self.config_for(account, region).await;
        let ec2 = self.ec2_for(account, region).await;
        let key = (account.to_string(), region.to_string());
        let home_account = self.home_account.get().is_none_or(|h| h == account);
        let home_region = self.base.region().is_some_and(|r| r.as_ref() == region);
        cached(&self.service, key, || Services {
            ssm: Ssm {
                ssm: aws_sdk_ssm::Client::new(&conf),
            },
            capture_here: home_account && home_region,
            lambda: Lambda {
                lambda: aws_sdk_lambda::Client::new(&conf),
                ec2: ec2.clone(),
                seal: None,
            },
            ecs: Ecs {
                ecs: aws_sdk_ecs::Client::new(&conf),
            },
            rds: Rds {
                rds: aws_sdk_rds::Client::new(&conf),
                seal: None,
            },
            // Path-style addressing behind a custom endpoint (VPC endpoints, emulators), which
            // has no per-bucket host names; virtual-hosted otherwise, as S3 prefers.
            s3: S3 {
                s3: aws_sdk_s3::Client::from_conf(
                    aws_sdk_s3::config::Builder::from(&conf)
                        .force_path_style(conf.endpoint_url().is_some())
                        .build(),
                ),
                seal: None,
            },
            asg: AutoScaling {
                asg: aws_sdk_autoscaling::Client::new(&conf),
            },
            elb: LoadBalancing {
                elb: aws_sdk_elasticloadbalancingv2::Client::new(&conf),
            },
            ec2,
        })
    }

    /// Security Hub in the region that holds the finding, with the function's own credentials
    /// (custom actions run in the Security Hub administrator account).
    pub fn securityhub_for(&self, region: &str) -> SecurityHub {
        SecurityHub(cached(&self.securityhub, region.to_string(), || {
            let conf = aws_sdk_securityhub::config::Builder::from(&self.base)
                .region(Region::new(region.to_string()))
                .build();
            aws_sdk_securityhub::Client::from_conf(conf)
        }))
    }

    /// The function's own configuration (its account and region: the record key's secret).
    pub fn base(&self) -> aws_config::SdkConfig {
        self.base.clone()
    }

    /// SNS in the topic's region.
    pub fn sns_for_topic(&self, topic_arn: &str) -> Sns {
        let region = Some(Arn::lenient(topic_arn).region).filter(|r| !r.is_empty());
        let mut conf = aws_sdk_sns::config::Builder::from(&self.base);
        if let Some(region) = region {
            conf = conf.region(Region::new(region.to_string()));
        }
        Sns {
            client: aws_sdk_sns::Client::from_conf(conf.build()),
            topic_arn: topic_arn.to_string(),
        }
    }
}
