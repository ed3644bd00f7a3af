"""Files for people, the use cases the CLI shares with any other adapter: a concentration-time
plot (PNG, ``ifxdose simulate --plot``, ``estimate --plot``, ``demo``) and a trial report (HTML,
``ifxdose trial --report``). The drawing is ``ifxdose.adapters.plots`` and
``ifxdose.adapters.report`` (matplotlib: the ``[plot]`` extra, imported only when a file is
drawn); this module only routes to them, so the CLI does not import those adapters itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ifxdose.adapters.plots import plot_profile

if TYPE_CHECKING:  # the trials package is imported only by the command that writes a report
    from ifxdose.domain.trials.runner import TrialResult

__all__ = ["plot_profile", "write_trial_report"]


def write_trial_report(results: Sequence["TrialResult"], folder: Path, command: str = "") -> Path:
    """The HTML report of ``results`` (forest plots, published vs simulated) in ``folder``;
    ``command``: the command line shown in the report. Returns the HTML file's path."""
    from ifxdose.adapters.report.trials import write_html

    return write_html(list(results), folder, command)
