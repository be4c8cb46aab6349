from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "processes"
    verbose_name = "Processes (definitions, instances, the engine)"

    def ready(self) -> None:
        from processes.services import nodes  # noqa: F401 - registers the takeover sweep hook
