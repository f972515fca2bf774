"""Auto Scaling fidelity patch: Standby instances and the group's target groups."""


def patch_standby_target_groups():
    """Real Auto Scaling: Standby instances are not registered in the group's target groups.

    moto 5.2.5 leaves an instance registered in the group's target groups when it enters
    Standby, and registers *every* instance of the group, Standby ones included, whenever the
    group's capacity changes. Real Auto Scaling deregisters an instance that enters Standby and
    registers only instances in service. We do the same."""
    from moto.autoscaling.models import AutoScalingBackend

    def update_attached_target_groups(self, group_name):
        group = self.autoscaling_groups[group_name]
        if not group.target_group_arns:
            return
        in_service = {
            s.instance.id
            for s in group.instance_states
            if s.lifecycle_state in ("InService", "Pending")
        }
        for tg in self.elbv2_backend.describe_target_groups(
            target_group_arns=group.target_group_arns, load_balancer_arn=None, names=None
        ):
            targets = [{"Id": i, "Port": tg.port} for i in in_service]
            self.elbv2_backend.register_targets(tg.arn, targets)

    AutoScalingBackend.update_attached_target_groups = update_attached_target_groups

    original_enter = AutoScalingBackend.enter_standby_instances

    def enter_standby_instances(self, group_name, instance_ids, should_decrement):
        activities = original_enter(self, group_name, instance_ids, should_decrement)
        group = self.autoscaling_groups[group_name]
        for arn in group.target_group_arns or []:
            tg = self.elbv2_backend.describe_target_groups(
                target_group_arns=[arn], load_balancer_arn=None, names=None
            )[0]
            self.elbv2_backend.deregister_targets(
                arn, [{"Id": i, "Port": tg.port} for i in instance_ids]
            )
        return activities

    AutoScalingBackend.enter_standby_instances = enter_standby_instances
