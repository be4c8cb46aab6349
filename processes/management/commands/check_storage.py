from django.core.management.base import BaseCommand, CommandError

from processes.storage import check_storage


class Command(BaseCommand):
    help = "Check the workflow storage and print the message that applies: 41043 no storage configured in " \
           "production mode, 41044 default embedded storage, 41045 connection failed, 41046 migrations missing."

    def handle(self, *args, **options):
        found = check_storage()
        for message in found:
            (self.stderr if message.is_error else self.stdout).write(str(message))
        if not found:
            self.stdout.write("The workflow storage is configured, reachable and migrated.")
        errors = [m for m in found if m.is_error]
        if errors:
            raise CommandError(f"workflow storage not ready ({', '.join(str(m.number) for m in errors)})")
