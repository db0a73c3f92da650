"""The quick-wins tests' synthetic district: built once per test session, whichever test module
asks first, and removed when the session ends.

Size: QUICKWINS_HOUSEHOLDS (40,000) households, seed QUICKWINS_SEED: a district whose later
cohort (families attached in the 12 months before follow-up was last complete) holds at least
300 families (641 at this size; test_quickwins_ranking checks the 300), so the model-against-rule
and calibration tests have families enough to be more than noise. At 22,000 households (348
families) the top 60 are a sixth of the cohort, and the 95% interval of a precision difference
is about ±0.12: the model's lead over the rule (+13 points) did not clear it.
FFI_QUICKWINS_MODEL names a model built already (read, never changed).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

QUICKWINS_HOUSEHOLDS = 40_000
QUICKWINS_SEED = 2016
MINIMUM_LATER_COHORT = 300


@cache
def quickwins_district() -> Path:
    """The built model's path (its ranking trained by the build)."""
    given = os.environ.get("FFI_QUICKWINS_MODEL")
    if given:
        return Path(given).resolve()
    from data_model.build import build_synthetic

    folder = Path(tempfile.mkdtemp(prefix="ffi-quickwins-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    out = folder / "model.duckdb"
    build_synthetic(out, households=QUICKWINS_HOUSEHOLDS, seed=QUICKWINS_SEED)
    return out


def copy_of_district(into: Path) -> Path:
    """A copy of the district's model to change or retrain."""
    target = Path(into) / "model.duckdb"
    shutil.copyfile(quickwins_district(), target)
    return target
