"""The Python peer of the benchmark: the classic "GuardDuty -> quarantine security group -> snapshot"
Lambda, written for the benchmark with boto3 and run under the official runtime interface client
(`python -m awslambdaric quarantine.lambda_handler`), on the same emulated Lambda Runtime API, the
same latency proxy and the same events as guardduty-responder.

It does what the widely copied samples do (AWS blog posts and aws-samples incident-response
Lambdas): clients made once at import; look the instance up; find or create a "quarantine" group in
its VPC (no inbound rules, the default outbound rule revoked); swap the instance's groups for it
with ModifyInstanceAttribute; snapshot every EBS volume, tagged with the finding; tag the instance;
publish to SNS. Like them it is not idempotent (a redelivery snapshots again) and it changes only
the primary interface; the benchmark compares speed on the work both do, not those gaps.
"""

import json
import os

import boto3

ec2 = boto3.client("ec2")
sns = boto3.client("sns")
TOPIC_ARN = os.environ["FIREBREAK_TOPIC_ARN"]
GROUP_NAME = "GuardDuty-Quarantine"


def quarantine_group(vpc_id):
    found = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": [GROUP_NAME]},
        ]
    )["SecurityGroups"]
    if found:
        return found[0]["GroupId"]
    group_id = ec2.create_security_group(
        GroupName=GROUP_NAME,
        Description="Quarantine: no inbound, no outbound",
        VpcId=vpc_id,
    )["GroupId"]
    ec2.revoke_security_group_egress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    return group_id


def lambda_handler(event, context):
    detail = event["detail"]
    resource = detail["resource"]
    if resource.get("resourceType") != "Instance":
        return {"verdict": "ignored"}
    instance_id = resource["instanceDetails"]["instanceId"]
    finding_id = detail["id"]
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    group_id = quarantine_group(instance["VpcId"])
    ec2.modify_instance_attribute(InstanceId=instance_id, Groups=[group_id])
    snapshots = []
    for mapping in instance.get("BlockDeviceMappings", []):
        volume_id = mapping["Ebs"]["VolumeId"]
        snapshot = ec2.create_snapshot(
            VolumeId=volume_id,
            Description=f"GuardDuty finding {finding_id} on {instance_id}",
            TagSpecifications=[
                {
                    "ResourceType": "snapshot",
                    "Tags": [{"Key": "GuardDutyFindingId", "Value": finding_id}],
                }
            ],
        )
        snapshots.append(snapshot["SnapshotId"])
    ec2.create_tags(
        Resources=[instance_id],
        Tags=[
            {"Key": "GuardDutyStatus", "Value": "quarantined"},
            {"Key": "GuardDutyFindingId", "Value": finding_id},
        ],
    )
    sns.publish(
        TopicArn=TOPIC_ARN,
        Subject=f"GuardDuty: {instance_id} quarantined",
        Message=json.dumps(
            {"finding": finding_id, "type": detail.get("type"), "instance": instance_id,
             "group": group_id, "snapshots": snapshots}
        ),
    )
    return {"verdict": "contained", "instance": instance_id, "snapshots": snapshots}
