"""The error a plan raises when it cannot be used."""

from __future__ import annotations


class PlanError(ValueError):
    """A plan that cannot be used. The message names the plan file and the line."""
