from django.core.management.base import BaseCommand, CommandError

from purchases.access.facts import reconcile_access_facts


class Command(BaseCommand):
    help = (
        "Recompute every contact's access summary, every Product and Offer holder and every "
        "counter from the grants, Products' accesses and completions, and report each "
        "difference; with --fix, repair them. Exits with status 1 when it found any (without "
        "--fix)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Repair what differs.")

    def handle(self, *args, fix=False, **options):
        differences = reconcile_access_facts(fix=fix)
        for line in differences[:100]:
            self.stdout.write(line)
        if len(differences) > 100:
            self.stdout.write(f"... and {len(differences) - 100} more")
        if not differences:
            self.stdout.write("The access facts equal their recomputation: 0 differences.")
        elif fix:
            self.stdout.write(f"{len(differences)} differences found and repaired.")
        else:
            raise CommandError(f"{len(differences)} differences found: run with --fix to repair.")
