from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "processes"
    verbose_name = "Processes (definitions, instances, the engine)"

    def ready(self) -> None:
        """Plug this app's parts into the runtime, which imports none of them (docs/architecture.md)."""
        from celery.signals import worker_ready, worker_shutdown

        from processes import engine, tasks
        from processes.external import recovery, runner
        from processes.services import instances, nodes, runtime

        runtime.register_event_dispatcher(tasks.dispatch_events)
        runtime.register_effect(engine.LaunchSubprocess, instances.create_child_instance)
        runtime.register_effect(engine.RunExternal, runner.start_external_call)
        runtime.register_end_hook(runner.cancel_pending_calls)
        runner.register_call_dispatcher(tasks.dispatch_external_call)
        runtime.register_sweep_hook(recovery.redispatch_stalled_calls)
        runtime.register_sweep_hook(recovery.restore_calls_of_gone_processes)
        runtime.register_sweep_hook(nodes.take_over_in_sweep)
        # A Celery worker is an engine node: it registers, beats, and hands over when it stops warm.
        worker_ready.connect(nodes.start_worker_node, dispatch_uid="processes.nodes.start_worker_node")
        worker_shutdown.connect(nodes.stop_worker_node, dispatch_uid="processes.nodes.stop_worker_node")
