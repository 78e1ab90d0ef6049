"""``manage.py issue_token <username> [--revoke]``: the API token of a user, issued or revoked.

A user has at most one token. Issuing replaces any earlier one (rotation: the old token stops
working at once) and prints the new key once; it is not shown again, so a lost key is replaced
by issuing another. ``--revoke`` deletes the token: requests still sending it get 401.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Issue (or rotate) the API token of a user and print it once; --revoke deletes it."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--revoke", action="store_true", help="Delete the user's token instead of issuing one."
        )

    def handle(self, *args, username: str, revoke: bool = False, **options):
        User = get_user_model()
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not revoke and not user.is_active:
            raise CommandError(f"{username!r} is inactive: a token would not authenticate.")
        with transaction.atomic():
            deleted, _ = Token.objects.filter(user=user).delete()
            if revoke:
                message = "Token revoked." if deleted else "The user had no token."
                self.stdout.write(f"{message} ({username})")
                return
            token = Token.objects.create(user=user)
        verb = "rotated" if deleted else "issued"
        # The one time the key is shown: to stdout alone, so it can be piped into a secret store.
        self.stderr.write(f"Token {verb} for {username}; it is not shown again.")
        self.stdout.write(token.key)
