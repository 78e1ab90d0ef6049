"""The site's front door: ``/`` sends each person to the page of their role.

* Whoever may see the leadership dashboard (Finance, Leadership, superusers: the permission the
  dashboard itself checks) goes to ``/leadership/``.
* Other staff (Operations) go to the records, ``/admin/``.
* An anonymous visitor goes to the public figures, ``/kpis/`` (its header links to the sign-in,
  which brings them back here once signed in).
* A signed-in account with neither (an API-only account) gets the 403 page, which says why.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from opsite.dashboard.views import VIEW_PERMISSION


def may_see_dashboard(user) -> bool:
    """Whether ``user`` may open the leadership dashboard (the dashboard's own test)."""
    return user.is_active and user.has_perm(VIEW_PERMISSION)


def start_page(user) -> str | None:
    """The path of the page ``user``'s role starts from, or ``None`` when the site has none for them."""
    if not user.is_authenticated:
        return None
    if may_see_dashboard(user):
        return reverse("leadership:dashboard")
    if user.is_active and user.is_staff:
        return reverse("admin:index")
    return None


@require_safe
@never_cache  # the answer depends on who asks
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("kpis:page"))
    page = start_page(request.user)
    if page is None:
        raise PermissionDenied("This account has no page on the site.")
    return HttpResponseRedirect(page)
