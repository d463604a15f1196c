"""IAM roles and inline policies; CloudWatch log groups."""
from __future__ import annotations

from typing import TYPE_CHECKING

import json

from botocore.exceptions import ClientError

from relay.local.emulated.base import Outputs, code_of, tag_list

if TYPE_CHECKING:  # pragma: no cover - for annotations only (the package imports this module)
    from relay.local.emulated import EmulatedResources


def _role(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    iam = r.client("iam")
    rname = i.get("name") or name
    assume = i["assumeRolePolicy"] if isinstance(i["assumeRolePolicy"], str) else json.dumps(i["assumeRolePolicy"])
    try:
        role = iam.create_role(RoleName=rname, AssumeRolePolicyDocument=assume, Path=i.get("path") or "/",
                               Tags=tag_list(i.get("tags")))["Role"]
    except ClientError as err:
        if code_of(err) != "EntityAlreadyExists":
            raise
        role = iam.get_role(RoleName=rname)["Role"]
        iam.update_assume_role_policy(RoleName=rname, PolicyDocument=assume)
    return rname, {"name": rname, "arn": role["Arn"], "uniqueId": role["RoleId"]}


def _role_policy(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    pname = i.get("name") or name
    policy = i["policy"] if isinstance(i["policy"], str) else json.dumps(i["policy"])
    r.client("iam").put_role_policy(RoleName=i["role"], PolicyName=pname, PolicyDocument=policy)
    return f"{i['role']}:{pname}", {"name": pname}


def _log_group(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    logs = r.client("logs")
    gname = i.get("name") or name
    try:
        logs.create_log_group(logGroupName=gname, tags=dict(i.get("tags") or {}))
    except ClientError as err:
        if code_of(err) != "ResourceAlreadyExistsException":
            raise
    if i.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=gname, retentionInDays=int(i["retentionInDays"]))
    return gname, {"name": gname, "arn": r.arn("logs", f"log-group:{gname}")}


HANDLERS = {
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
}
