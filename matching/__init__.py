"""Matching engine: pure Python, no I/O, imports nothing from this project.

Modules, one concept each:

- ``vocabulary``: ISO 3166-1 countries, ISO 639-1 languages, UN M49 regions (``m49`` reads the
  shipped ``data/m49.csv``), expertise tags and partner kinds.
- ``profiles``: ``HrdProfile`` and ``PartnerProfile``.
- ``scoring``: hard rules, ``Weights`` and the explainable ``Score`` of one pair.
- ``assignment``: ``assign`` (exact batch optimum), ``greedy_assign`` and ``candidates``.
- ``problem``, ``features``, ``solver``: the vectorised sub-problems and the exact solver
  behind ``assign``.
"""
