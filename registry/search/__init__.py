"""Search: the MLflow filter grammar parsed to an AST, compiled to SQLAlchemy Core; page tokens.

- lexer.py / parser.py: pure text -> AST (frozen dataclasses); errors give a 0-based position.
- runs.py / experiments.py: AST -> one SELECT; every value is a bound parameter.
- clauses.py: shared SQL pieces (LIKE that behaves the same on every dialect, ordering).
- tokens.py: HMAC-signed page tokens bound to a query fingerprint.

Semantics beyond MLflow's documentation, chosen deliberately:
- params and tags also accept `IN (...)` and `NOT IN (...)`;
- in LIKE/ILIKE patterns a backslash takes the next character literally (`'50\\%'`), on all
  three databases (MLflow's behaviour differed per database);
- a numeric literal too large for a double (`1e400`) means +/-infinity;
- NaN matches only `!=`; in order_by, NaN sorts after every number and before runs that lack
  the metric, in both directions; runs lacking a sorted param/tag/end_time sort last.
"""

from __future__ import annotations

from modelyard.registry.search.experiments import experiment_search_statement
from modelyard.registry.search.runs import run_search_statement
from modelyard.registry.search.tokens import PageTokens, query_fingerprint

__all__ = [
    "PageTokens",
    "experiment_search_statement",
    "query_fingerprint",
    "run_search_statement",
]
