"""The demo organization: its generator (``data``) and its loader (``loader``)."""
