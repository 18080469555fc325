"""Scores: ``performance`` (NAV series: returns, drawdowns, ratios) and ``accuracy``
(direction accuracy with counts, Wilson intervals and naive baselines)."""
