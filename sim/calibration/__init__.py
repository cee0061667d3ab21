"""Calibration against targets files (``experiments/targets/*.toml``).

Define → simulate → compare: :func:`load_targets` reads and checks a targets file,
:func:`simulated_moments` reduces a run to the statistics its targets name, and
:func:`distance` and :func:`fit_table` compare the two::

    from sim.calibration import load_targets, simulated_moments, fit_table
    targets = load_targets("experiments/targets/report_2024_2030.toml")
    result = sim.run(scenario)
    fit_table(targets, simulated_moments(targets, result.quarterly, result.groups))

:class:`~sim.calibration.simulate.Simulator` turns parameter values and a seed into those
moments, and :mod:`sim.calibration.inference` gives what an estimate is worth: the moment
covariance, the Jacobian by central differences on common random numbers, sandwich
standard errors and identification. ``sim calibrate`` (:mod:`sim.calibration.search`)
searches and reports; :func:`load_result` reads its folder back.
"""

from sim.calibration.moments import distance, fit_table, gaps, simulated_moments
from sim.calibration.targets import Moment, Target, TargetsError, TargetsFile, load_targets

__all__ = ["Moment", "Target", "TargetsError", "TargetsFile", "distance", "fit_table",
           "folder_hash", "gaps", "load_result", "load_targets", "simulated_moments"]


def load_result(folder):
    """A calibration folder as a :class:`~sim.calibration.result.CalibrationResult`."""
    from sim.calibration.result import load_result as load

    return load(folder)


def folder_hash(folder):
    """The hash a scenario's ``[provenance]`` quotes of a calibration folder
    (:func:`sim.calibration.result.folder_hash`)."""
    from sim.calibration.result import folder_hash as digest

    return digest(folder)
