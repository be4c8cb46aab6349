from django.apps import AppConfig


class AdministrationConfig(AppConfig):
    name = "administration"
    verbose_name = "Administration (directory, licenses, rights, security)"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from administration import presence

        user_logged_in.connect(presence.on_logged_in, dispatch_uid="administration.presence.logged_in")
        user_logged_out.connect(presence.on_logged_out, dispatch_uid="administration.presence.logged_out")
