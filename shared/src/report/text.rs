//! The notification of a report: the text a person reads at 3 a.m., the structured report, the
//! chat notification, the SNS subject and attributes.

use std::fmt::Write;

use crate::chat::{self, ChatMetadata, ChatNotification};
use crate::incident::asff::CustomAction;
use crate::incident::Incident;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::Notification;
use crate::report::verdict::Verdict;
use crate::report::Report;

impl Report {
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
        if let Some(t) = &self.ticket {
            let _ = writeln!(b, "{}\n", t.line());
        }
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
            additional_context: context
                .map(|(k, v)| (k.to_string(), v))
                .into_iter()
                .chain(self.chat_buttons.clone())
                .collect(),
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
            Verdict::Contained if self.plan.has(ActionKind::IsolateDatabase) => vec![
                "Lock the database user and end its sessions: WARNING gives the SQL".into(),
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
mod tests {
    use super::*;

    use crate::ports::REPORT_MARKER;
    use crate::report::tests::contained;
    use serde_json::Value;

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
    fn subjects_are_short_ascii_single_lines() {
        let s = subject(&format!("Firebreak CONTAINED: {}\n é", "x".repeat(200)));
        assert!(s.len() < 100);
        assert!(s.is_ascii() && !s.contains('\n'));
        assert_eq!(subject("short"), "short");
    }
}
