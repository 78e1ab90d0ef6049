"""Admin for impact stories: Operations writes them, the gallery and the public API show the
published ones. Saves and deletes go through :mod:`opsite.kpis.services` (the kernel's admin
base calls them); the action "Download as Markdown" gives the files a static site publishes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from opsite.core.admin import OpsiteAdmin

from .markdown import stories_zip, story_filename, story_markdown
from .models import MAX_TAGS, MIN_TAGS, ImpactStory
from .resources import ImpactStoryResource
from .selectors import impact_story_list


class TagsField(forms.CharField):
    """Tags typed as one line separated by commas; the model keeps (and checks) them as a list."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(tag) for tag in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return [tag.strip() for tag in text.split(",") if tag.strip()]

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


class ImpactStoryForm(forms.ModelForm):
    tags = TagsField(
        help_text=f"{MIN_TAGS} to {MAX_TAGS} tags separated by commas, such as: education, cloud-costs.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    url = forms.URLField(
        required=False,
        max_length=300,
        assume_scheme="https",
        help_text=ImpactStory._meta.get_field("url").help_text,
    )

    class Meta:
        model = ImpactStory
        fields = (
            "title",
            "slug",
            "published_on",
            "category",
            "community",
            "tags",
            "summary",
            "url",
            "featured",
            "published",
        )


@admin.register(ImpactStory)
class ImpactStoryAdmin(OpsiteAdmin):
    form = ImpactStoryForm
    list_display = ("title", "category", "community", "published_on", "featured", "published")
    list_filter = ("published", "featured", "category", "published_on")
    search_fields = ("title", "slug", "summary", "community__name", "community__slug")
    list_select_related = ("community",)
    autocomplete_fields = ("community",)
    prepopulated_fields = {"slug": ("title",)}
    date_hierarchy = "published_on"
    readonly_fields = ("created_at", "updated_at")
    actions = ("download_markdown",)
    resource_classes = [ImpactStoryResource]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImpactStory]:
        return impact_story_list()

    @admin.action(description="Download as Markdown (front matter for a static site)", permissions=["view"])
    def download_markdown(self, request: HttpRequest, queryset: QuerySet[ImpactStory]) -> HttpResponse:
        stories = list(queryset.select_related("community").order_by("-published_on", "slug"))
        if len(stories) == 1:
            response = HttpResponse(story_markdown(stories[0]), content_type="text/markdown; charset=utf-8")
            filename = story_filename(stories[0])
        else:
            response = HttpResponse(stories_zip(stories), content_type="application/zip")
            filename = "impact-stories.zip"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
