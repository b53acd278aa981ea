"""``manage.py seed_demo``: realistic Chinese demo data (see ``aftersales.demo.generator``)."""

from __future__ import annotations

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from aftersales.demo import generator as demo


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Create demo customers, orders and after-sales cases in every state, with consistent histories "
        "(bulk inserts; a million cases take minutes on PostgreSQL). Reference data is created idempotently."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--cases", type=_positive, default=demo.DEFAULT_CASES, help="How many cases (default %(default)s)."
        )
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when any case exists (for `make run`).")
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help="Random seed, for repeatable data (default %(default)s).",
        )
        parser.add_argument(
            "--batch",
            type=_positive,
            default=demo.DEFAULT_BATCH,
            help="Cases per chunk; each chunk is one transaction of bulk inserts (default %(default)s).",
        )

        parser.add_argument(
            "--no-copy",
            action="store_true",
            help="Use bulk_create on PostgreSQL too (by default PostgreSQL gets COPY, several times faster).",
        )

        parser.add_argument(
            "--row-fk-checks",
            action="store_true",
            help=(
                "PostgreSQL: keep the row-by-row foreign-key checks at each commit (slower). By default a "
                "superuser's chunks skip them and check every key of the chunk with one query per key instead."
            ),
        )

    def handle(self, *args, cases, if_empty, seed, batch, no_copy, row_fk_checks, **options):
        try:
            counts = demo.seed(
                cases=cases,
                seed=seed,
                batch=batch,
                if_empty=if_empty,
                copy=False if no_copy else None,
                row_fk_checks=row_fk_checks,
                log=self.stdout.write,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if counts and apps.is_installed("reports"):
            # The reports' daily rollups, counted once for the new history (the reports would on their first read).
            call_command("backfill_rollups", stdout=self.stdout)
