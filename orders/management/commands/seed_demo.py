from django.core.management.base import BaseCommand

from orders.demo import demo_seed


class Command(BaseCommand):
    help = "Create a demo operator (stations, chargers, tariffs, a week of orders). Safe to run again."

    def handle(self, *args, **options):
        result = demo_seed()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready: {stations} stations, {connectors} connectors, "
                "{orders_created} new orders.".format(**result)
            )
        )
