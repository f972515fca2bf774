"""Firebreak's local AWS: moto 5.2.5's server on a loopback port, with fidelity patches on moto's
own backend and test controls in front of it.

Started by `scripts/local_aws.py` (`python scripts/local_aws.py --port 0 --ready-file PATH`, see
server.py). The patches change moto's own backend state and behaviour (never the Rust code's view
of it); each patch's docstring says what moto does, what AWS does (and the AWS doc that says so)
and what the patch does. `tests/fidelity/` covers them (a module per service, and `faults.rs` for
the test controls): they fail against plain moto.

    server       LocalAwsServer, the ordered PATCHES list, apply_patches, main (the command line)
    ec2          EC2: ENI groups, instance attributes, addresses, tags, security group visibility,
                 network ACLs, launch addresses, snapshot permissions, interface types
    autoscaling  Auto Scaling: Standby instances out of the group's target groups
    securityhub  Security Hub: BatchUpdateFindings, Create/DescribeActionTargets
    sns          SNS: Publish checks; e-mail deliveries recorded and read back (SnsDeliveries)
    iam          IAM: the inline policy size quota
    awslambda    Lambda: functions, update outcomes, provisioned concurrency, mapping states
    ecs          ECS: a task runs until it is stopped
    faults       the /_firebreak/faults control API, its rules, and the fault-injecting patches
"""
