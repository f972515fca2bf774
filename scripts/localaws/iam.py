"""IAM fidelity patch: the inline policy size quota. (The injected IAM read faults are in
faults.py.)"""

# IAM User Guide, "IAM and AWS STS quotas" (IAM and STS character quotas, inline policies): "the
# total aggregate policy size (the sum size of all inline policies) per entity cannot exceed" 2,048
# characters for a user, 10,240 for a role, 5,120 for a group, and "IAM does not count white space
# when calculating the size of a policy against these quotas".
INLINE_POLICY_QUOTAS = {"user": 2048, "role": 10240}
# What IAM answers past it: HTTP 409 LimitExceeded (the status from botocore's model of
# LimitExceededException), "Maximum policy size of 10240 bytes exceeded for role <name>" (the
# message as the AWS CLI and CloudFormation print IAM's answer).
INLINE_POLICY_LIMIT_MESSAGE = "Maximum policy size of {quota} bytes exceeded for {kind} {name}"


def inline_policy_size(document):
    """A policy document's size as IAM counts it: its characters, white space left out."""
    return sum(1 for c in document if c not in " \t\n\r")


def patch_inline_policy_size():
    """PutRolePolicy / PutUserPolicy: LimitExceeded when the role's or user's inline policies,
    the new document in place of the one of the same name, would exceed IAM's quota.

    moto 5.2.5 takes any number of inline policies of any size on a role or user. Real IAM caps
    the sum of an entity's inline policy documents, white space not counted (IAM User Guide,
    "IAM and AWS STS quotas": 10,240 characters for a role, 2,048 for a user) and answers
    PutRolePolicy / PutUserPolicy past it with HTTP 409 LimitExceeded "Maximum policy size of
    10240 bytes exceeded for role <name>". We do the same on moto's own stored policies."""
    from moto.iam.exceptions import LimitExceededException
    from moto.iam.models import IAMBackend

    def guarded(original, kind, entity_of):
        def method(self, name, policy_name, policy_json):
            entity = entity_of(self, name)
            quota = INLINE_POLICY_QUOTAS[kind]
            others = sum(
                inline_policy_size(d) for p, d in entity.policies.items() if p != policy_name
            )
            if others + inline_policy_size(policy_json) > quota:
                raise LimitExceededException(
                    INLINE_POLICY_LIMIT_MESSAGE.format(quota=quota, kind=kind, name=entity.name)
                )
            return original(self, name, policy_name, policy_json)

        return method

    IAMBackend.put_role_policy = guarded(
        IAMBackend.put_role_policy, "role", IAMBackend.get_role
    )
    IAMBackend.put_user_policy = guarded(
        IAMBackend.put_user_policy, "user", IAMBackend.get_user
    )
