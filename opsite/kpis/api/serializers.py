"""Serializers of the impact-story records API (``/api/v1/kpis/``) and of the public stories."""

from __future__ import annotations

from rest_framework import serializers

from communities.models import Community
from opsite.core.api.serializers import OpsiteModelSerializer

from ..models import TAG_MAX_LENGTH, ImpactStory

TIMESTAMPS = ("created_at", "updated_at")
STORY_FIELDS = ("slug", "title", "published_on", "category", "tags", "summary", "url", "featured")


class ImpactStorySerializer(OpsiteModelSerializer):
    community = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Community.objects.all(),
        allow_null=True,
        required=False,
        help_text="The community's slug, or null for a story of the organization as a whole.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_MAX_LENGTH + 20),
        help_text="2 to 5 tags: lower-case words joined by hyphens (spaces become hyphens).",
    )

    class Meta:
        model = ImpactStory
        fields = (*STORY_FIELDS[:3], "community", *STORY_FIELDS[3:], "published", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class PublicCommunitySerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class PublicStorySerializer(serializers.Serializer):
    """A published story as the public API shows it (drafts never are)."""

    slug = serializers.SlugField()
    title = serializers.CharField()
    published_on = serializers.DateField()
    community = PublicCommunitySerializer(
        allow_null=True, help_text="Null for a story of the whole organization."
    )
    category = serializers.ChoiceField(choices=ImpactStory._meta.get_field("category").choices)
    tags = serializers.ListField(child=serializers.CharField())
    summary = serializers.CharField()
    url = serializers.URLField(help_text="Where the whole story is read.")
    featured = serializers.BooleanField(help_text="Shown first.")


class PublicStoryPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Published stories matching the filters.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PublicStorySerializer(many=True)
