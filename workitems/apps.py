from django.apps import AppConfig


class WorkitemsConfig(AppConfig):
    name = "workitems"
    verbose_name = "Work items"

    def ready(self) -> None:
        from processes.services import runtime
        from workitems import conversion, routing, services, sockets

        services.register()
        conversion.register()
        runtime.register_sweep_hook(routing.route_queued_items)
        runtime.register_sweep_hook(sockets.drop_absent_agents)
