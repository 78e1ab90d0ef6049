"""Benchmarks: ``make bench`` runs every module here with a ``main()`` (see ``bench/run.py``)."""
