"""The tables of the ``opsite`` app, defined where they belong: the kernel's in
``opsite/core/models.py``, the rollup store in ``opsite/kpis/models.py``."""

from opsite.core.models import InputDeletion, RecomputeState, TimeStampedModel
from opsite.kpis.models import Rollup

__all__ = ["InputDeletion", "RecomputeState", "Rollup", "TimeStampedModel"]
