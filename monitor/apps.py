from django.apps import AppConfig


class MonitorConfig(AppConfig):
    name = "monitor"
    verbose_name = "Process monitor"

    def ready(self) -> None:
        from monitor import bulk, delivery, tasks
        from processes.services import runtime

        runtime.register_after_step(delivery.instance_changed)
        bulk.register_job_runner(tasks.run_bulk_job.delay)
