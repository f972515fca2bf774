"""Security Hub fidelity patch: BatchUpdateFindings and custom action targets, which moto 5.2.5
lacks, added on moto's own Security Hub backend."""

WORKFLOW_STATUSES = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")


def utc_now():
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def patch_securityhub_updates():
    """BatchUpdateFindings and custom action targets, on moto's Security Hub backend state.

    moto 5.2.5 has none of BatchUpdateFindings, CreateActionTarget and DescribeActionTargets
    (HTTP 404). We add them on moto's own Security Hub backend: BatchUpdateFindings changes the
    stored findings (Note, Workflow, and the fields Security Hub updates with them) so
    GetFindings reads the change back; unknown findings come back as UnprocessedFindings, as in
    Security Hub. Action targets live on the backend next to the findings."""
    import json
    import re

    from moto.securityhub import urls
    from moto.securityhub.exceptions import InvalidInputException
    from moto.securityhub.models import SecurityHubBackend
    from moto.securityhub.responses import SecurityHubResponse
    from moto.core.exceptions import JsonRESTError

    class ResourceConflict(JsonRESTError):
        code = 409

        def __init__(self, msg):
            super().__init__("ResourceConflictException", msg)

    def invalid(op, msg):
        return InvalidInputException(op=op, msg=msg)

    def batch_update_findings(self, identifiers, note, workflow):
        if not identifiers:
            raise invalid("BatchUpdateFindings", "FindingIdentifiers must not be empty")
        if len(identifiers) > 100:
            raise invalid("BatchUpdateFindings", "at most 100 FindingIdentifiers")
        if note is not None:
            text, by = note.get("Text"), note.get("UpdatedBy")
            if not text or not by:
                raise invalid("BatchUpdateFindings", "Note requires Text and UpdatedBy")
            if len(text) > 512:
                raise invalid("BatchUpdateFindings", "Note.Text is longer than 512 characters")
            if len(by) > 128:
                raise invalid("BatchUpdateFindings", "Note.UpdatedBy is longer than 128 characters")
        if workflow is not None and workflow.get("Status") not in WORKFLOW_STATUSES:
            raise invalid("BatchUpdateFindings", f"Workflow.Status must be one of {WORKFLOW_STATUSES}")
        processed, unprocessed = [], []
        now = utc_now()
        for ident in identifiers:
            found = next(
                (
                    f
                    for f in self.findings
                    if f.id == ident.get("Id")
                    and f.data.get("ProductArn") == ident.get("ProductArn")
                ),
                None,
            )
            if found is None:
                unprocessed.append(
                    {
                        "FindingIdentifier": ident,
                        "ErrorCode": "FindingNotFound",
                        "ErrorMessage": "Finding Not Found",
                    }
                )
                continue
            if note is not None:
                found.data["Note"] = {
                    "Text": note["Text"],
                    "UpdatedBy": note["UpdatedBy"],
                    "UpdatedAt": now,
                }
            if workflow is not None:
                found.data["Workflow"] = {"Status": workflow["Status"]}
                # The legacy field Security Hub keeps in step with Workflow.Status.
                found.data["WorkflowState"] = {
                    "NEW": "NEW",
                    "NOTIFIED": "ASSIGNED",
                    "RESOLVED": "RESOLVED",
                    "SUPPRESSED": "DEFERRED",
                }[workflow["Status"]]
            found.data["UpdatedAt"] = now
            processed.append({"Id": ident["Id"], "ProductArn": ident["ProductArn"]})
        return processed, unprocessed

    def action_targets(self):
        if not hasattr(self, "_firebreak_action_targets"):
            self._firebreak_action_targets = {}
        return self._firebreak_action_targets

    def create_action_target(self, name, description, target_id):
        if not name or not description or not target_id:
            raise invalid("CreateActionTarget", "Name, Description and Id are required")
        if len(name) > 20 or len(target_id) > 20 or not re.fullmatch(r"[A-Za-z0-9]+", target_id):
            raise invalid("CreateActionTarget", "Id must be 1-20 letters or digits, Name at most 20 characters")
        arn = f"arn:{self.partition}:securityhub:{self.region_name}:{self.account_id}:action/custom/{target_id}"
        targets = action_targets(self)
        if arn in targets:
            raise ResourceConflict(f"ActionTarget {arn} already exists")
        targets[arn] = {"ActionTargetArn": arn, "Name": name, "Description": description}
        return arn

    SecurityHubBackend.batch_update_findings = batch_update_findings
    SecurityHubBackend.create_action_target = create_action_target
    SecurityHubBackend.action_targets = action_targets

    def r_batch_update_findings(self):
        params = json.loads(self.body) if self.body else {}
        processed, unprocessed = self.securityhub_backend.batch_update_findings(
            params.get("FindingIdentifiers", []), params.get("Note"), params.get("Workflow")
        )
        return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})

    def r_create_action_target(self):
        params = json.loads(self.body) if self.body else {}
        arn = self.securityhub_backend.create_action_target(
            params.get("Name"), params.get("Description"), params.get("Id")
        )
        return json.dumps({"ActionTargetArn": arn})

    def r_describe_action_targets(self):
        params = json.loads(self.body) if self.body else {}
        targets = self.securityhub_backend.action_targets()
        wanted = params.get("ActionTargetArns") or list(targets)
        return json.dumps({"ActionTargets": [targets[a] for a in wanted if a in targets]})

    SecurityHubResponse.batch_update_findings = r_batch_update_findings
    SecurityHubResponse.create_action_target = r_create_action_target
    SecurityHubResponse.describe_action_targets = r_describe_action_targets
    urls.url_paths["{0}/findings/batchupdate$"] = SecurityHubResponse.dispatch
    urls.url_paths["{0}/actionTargets$"] = SecurityHubResponse.dispatch
    urls.url_paths["{0}/actionTargets/get$"] = SecurityHubResponse.dispatch
