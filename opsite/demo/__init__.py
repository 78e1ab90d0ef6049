"""The demo organization: its published history and the months since (see ``loader``)."""
