"""Person and family linkage: council extracts' records → persons → families.

Modules, one job each: settings (linkage.yaml, name_variants.yaml and the configuration tables),
decisions (analysts' clerical decisions), comparisons (linkage.yaml's comparison levels as Splink
comparisons), prediction (blocking, training and scoring with Splink), clustering (records into
persons, strongest pair first, with the guards), writers (the int_person_link tables), link (the
whole person step, link_persons), families (persons into families) and evaluation (pairwise
precision, recall and F1).

The names the rest of the code uses are re-exported here; link_persons and LinkageRun on first
use, as they bring Splink, which the app's pages need not load.
"""

from typing import Any

from data_model.linkage.clustering import ClusterRecords, cluster_strongest_first, connected_groups
from data_model.linkage.decisions import (
    ACCEPT,
    DECISIONS_FILE_NAME,
    REJECT,
    Decision,
    pair_key,
)
from data_model.linkage.settings import create_linkage_reference_tables, linkage_settings

__all__ = [
    "ACCEPT",
    "DECISIONS_FILE_NAME",
    "REJECT",
    "ClusterRecords",
    "Decision",
    "LinkageRun",
    "cluster_strongest_first",
    "connected_groups",
    "create_linkage_reference_tables",
    "link_persons",
    "linkage_settings",
    "pair_key",
]


def __getattr__(name: str) -> Any:
    if name == "link_persons":
        from data_model.linkage.link import link_persons

        return link_persons
    if name == "LinkageRun":
        from data_model.linkage.prediction import LinkageRun

        return LinkageRun
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
