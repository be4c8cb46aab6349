from django.apps import AppConfig


class AdministrationConfig(AppConfig):
    name = "administration"
    verbose_name = "Administration (directory, licenses, rights, security)"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import post_delete, post_save
        from rest_framework.authtoken.models import Token

        from administration import checks, logins, presence  # noqa: F401 - checks registers itself
        from administration.models import User

        user_logged_in.connect(presence.on_logged_in, dispatch_uid="administration.presence.logged_in")
        user_logged_out.connect(presence.on_logged_out, dispatch_uid="administration.presence.logged_out")
        user_logged_out.connect(logins.on_logged_out, dispatch_uid="administration.logins.logged_out")
        post_delete.connect(logins.on_token_deleted, sender=Token, dispatch_uid="administration.logins.token")
        post_save.connect(logins.on_user_saved, sender=User, dispatch_uid="administration.logins.user")
