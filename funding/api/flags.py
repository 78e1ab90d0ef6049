"""The collection flags API (docs/api.md "Collection flags"): Finance, Leadership and superusers.

``GET flags/`` answers :func:`funding.collection.collection_flags`, optionally narrowed to one flag
(``?flag=``) or one kind of record (``?kind=``), as of the latest cash position's date or
``?as_of=``. The flags tell what was received on each grant, which Operations may not see
(docs/roles.md): the view asks for ``view`` on every model it reads.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from opsite.core.api.serializers import OpsiteSerializer
from opsite.core.dates import PlausibleDateValidator

from ..collection import FlagCode, RecordKind, collection_as_of, collection_flags
from .runway import Money

# What the flags read: contracts and their payments, grants and their disbursements, and the date
# of the cash position.
FLAGS_PERMISSIONS = (
    "contracts.view_servicecontract",
    "contracts.view_contractpayment",
    "funding.view_grant",
    "funding.view_disbursement",
    "funding.view_cashposition",
)


class CanSeeCollectionFlags(BasePermission):
    message = "You do not have permission to see the collection flags."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(FLAGS_PERMISSIONS))


class CollectionFlagsQuerySerializer(OpsiteSerializer):
    """The query parameters; an unknown value is a 400 naming the parameter."""

    flag = serializers.ChoiceField(
        choices=FlagCode.choices,
        required=False,
        help_text="Only this flag; every flag when left out.",
        error_messages={
            "invalid_choice": f'"{{input}}" is not a flag; use one of {", ".join(FlagCode.values)}.'
        },
    )
    kind = serializers.ChoiceField(
        choices=RecordKind.choices,
        required=False,
        help_text="Only contracts or only grants.",
        error_messages={
            "invalid_choice": f'"{{input}}" is not a kind of record; use one of {", ".join(RecordKind.values)}.'
        },
    )
    as_of = serializers.DateField(
        required=False,
        validators=[PlausibleDateValidator()],
        help_text="The date the flags are read at; the latest cash position's date when left out.",
    )


class CollectionFlagSerializer(serializers.Serializer):
    """One flag on one record; a record raising several flags appears once for each."""

    kind = serializers.ChoiceField(choices=RecordKind.choices)
    key = serializers.CharField(help_text="The contract's or the grant's reference.")
    counterparty = serializers.CharField(help_text="The contract's community, or the grant's funder.")
    status = serializers.CharField(help_text="The record's status: signed, awarded, proposed, ...")
    flag = serializers.ChoiceField(choices=FlagCode.choices)
    label = serializers.CharField(help_text="The flag in words.")
    amount = Money(help_text="The contract's value or the grant's amount, in its own currency.")
    outstanding = Money(help_text="The amount minus what is marked paid or received, never below 0.")
    currency = serializers.CharField(help_text="The record's own currency (ISO 4217).")
    start_on = serializers.DateField()
    end_on = serializers.DateField()
    due_on = serializers.DateField(
        allow_null=True, help_text="For overdue: the oldest open row's date; null for the other flags."
    )
    reason = serializers.CharField(help_text="Why the flag is raised, in words, with its dates.")


class CollectionFlagsSerializer(serializers.Serializer):
    as_of = serializers.DateField(help_text="The date the flags were read at.")
    count = serializers.IntegerField()
    results = CollectionFlagSerializer(many=True)


class CollectionFlagsDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class CollectionFlagsErrorSerializer(serializers.Serializer):
    """A bad parameter: each parameter at fault, with what is wrong with it."""

    flag = serializers.ListField(child=serializers.CharField(), required=False)
    kind = serializers.ListField(child=serializers.CharField(), required=False)
    as_of = serializers.ListField(child=serializers.CharField(), required=False)


class CollectionFlagsView(APIView):
    permission_classes = [CanSeeCollectionFlags]

    @extend_schema(
        operation_id="funding_flags_list",
        tags=["collection flags"],
        summary="Contracts and grants whose collection looks wrong",
        parameters=[CollectionFlagsQuerySerializer],
        responses={
            200: CollectionFlagsSerializer,
            400: CollectionFlagsErrorSerializer,
            401: CollectionFlagsDetailSerializer,
            403: CollectionFlagsDetailSerializer,
            404: CollectionFlagsDetailSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        query = CollectionFlagsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        as_of = collection_as_of(wanted.get("as_of"))
        if as_of is None:
            return Response(
                {"detail": "no cash position yet to date the flags by; give ?as_of=YYYY-MM-DD"},
                status=status.HTTP_404_NOT_FOUND,
            )
        flags = [
            flag
            for flag in collection_flags(as_of)
            if wanted.get("flag", flag.flag) == flag.flag and wanted.get("kind", flag.kind) == flag.kind
        ]
        return Response(
            CollectionFlagsSerializer({"as_of": as_of, "count": len(flags), "results": flags}).data
        )
