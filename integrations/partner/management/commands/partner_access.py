"""Set a partner's access from the command line: its interface, callback URL, cities, and a secret it already holds."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from integrations.partnerkit.access import partner_access_get, partner_secret_issue
from integrations.partnerkit.models import city_codes_parse
from orders.models import Partner


class Command(BaseCommand):
    help = ("Set the access of the partner with organisation code --org: --callback-url, --cities (six-digit codes, "
            "comma-separated), and --secret (one the partner holds already; without it, a new secret is printed "
            "once with --new-secret). A new secret rotates: the one before it works for PARTNER_SECRET_OVERLAP_HOURS "
            "more.")

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--callback-url")
        parser.add_argument("--cities")
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument("--secret", help="at least 16 characters")
        secret.add_argument("--new-secret", action="store_true", help="issue a new random secret and print it")

    def handle(self, *args, org, callback_url, cities, secret, new_secret, **options):
        partner = Partner.objects.filter(org_code=org).first()
        if partner is None:
            raise CommandError(f"No partner has the organisation code {org!r}; create it in the admin first.")
        try:
            with transaction.atomic():
                access = partner_access_get(partner=partner)
                if callback_url is not None:
                    access.callback_url = callback_url
                if cities is not None:
                    access.city_codes = ",".join(city_codes_parse(cities))
                access.full_clean()
                access.save()
                if secret is not None or new_secret:
                    issued = partner_secret_issue(partner=partner, secret=secret)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"{partner.org_code}: callback {access.callback_url or '-'}, "
                          f"cities {access.city_codes or '-'}")
        if new_secret:
            self.stdout.write(f"New secret (shown once, not kept): {issued}")
        if secret is not None or new_secret:
            access.refresh_from_db()
            if access.previous_secret_works(timezone.now()):
                until = timezone.localtime(access.previous_secret_valid_until).strftime("%Y-%m-%d %H:%M:%S")
                self.stdout.write(f"The secret before it (ending with {access.previous_secret_hint}) works until "
                                  f"{until}; retire it from the partner's page once the partner uses the new one.")
