"""ECS fidelity patch: a running task runs until it is stopped."""


def patch_ecs_tasks():
    """moto 5.2.5 advances a task's status on every DescribeTasks (DEACTIVATING, STOPPING, ...,
    STOPPED after four reads) while its desired status is still RUNNING, so a task nobody stopped
    "stops itself". A real task runs until it is stopped (or exits). We make the progression
    manual, so StopTask is the only way to STOPPED."""
    from moto.moto_api import state_manager

    state_manager.set_transition(
        model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
    )
