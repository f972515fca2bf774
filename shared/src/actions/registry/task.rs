//! An ECS task's action: stopped.

use crate::actions::registry::kind::{ActionKind::*, ActionSpec};

pub(super) const STOP_TASK: ActionSpec = ActionSpec {
    kind: StopTask,
    name: "stop-task",
    contains: true,
    permissions: &["ecs:DescribeTasks", "ecs:StopTask"],
    tags: &[],
    undo_permissions: &[],
};
