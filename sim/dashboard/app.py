"""The dashboard page (Solara): pick a shipped scenario, move its levers, run it against
itself unmoved and watch the quarterly paths grow.

``sim dashboard`` serves it (``sim.dashboard.server``); ``solara run sim.dashboard.app``
does too, on Solara's own defaults.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

import solara
import solara.lab

from sim.config import ScenarioError
from sim.dashboard import catalogue, charts, folders
from sim.dashboard import form as forms
from sim.dashboard.levers import LEVERS, Lever
from sim.dashboard.runner import Snapshot, Stopped, run_pair
from sim.errors import SimError

logger = logging.getLogger(__name__)

HEADLINE_ID = "headline-new-loans"  # the element a test reads the headline number from
STAGES = {"starting": "starting", "waiting": "waiting", "kernels": "loading the kernels",
          "burn-in": "burn-in (before the reported quarters)", "running": "running",
          "writing": "writing the run folder", "done": "done", "stopped": "stopped",
          "failed": "failed"}


@solara.component
def LeverControl(item: Lever, value, default, on_value):
    """One lever's slider or switch, in an element of class ``xw-lever-<key>``."""
    with solara.Div(classes=["xw-lever", item.css_class]):
        if item.switch:
            solara.Switch(label=item.label, value=bool(value), on_value=on_value)
            return
        low, high, step = item.grid(default)
        moved = " (moved)" if item.moved(default, value) else ""
        solara.SliderFloat(f"{item.label}: {value:g} {item.unit}{moved}", value=value,
                           min=low, max=high, step=step, on_value=on_value,
                           thumb_label=False)


@solara.component
def Controls(state: solara.Reactive, names: list[str], on_pick, on_run, on_stop,
             running: bool):
    """The sidebar: scenario, size, seed, horizon, levers, shock, run and stop."""
    form: forms.Form = state.value
    defaults = solara.use_memo(lambda: forms.defaults(form.scenario), [form.scenario])
    shipped = solara.use_memo(lambda: forms.shipped(form.scenario)[1], [form.scenario])
    # the quarters of the horizon chosen: a lever or shock can start in any of them
    choices = [q for q in forms.quarters(shipped) if int(q[:4]) <= form.last_year]
    first_year, last_year = forms.years(shipped)

    def update(**changes) -> None:
        state.set(dataclasses.replace(state.value, **changes))

    def set_lever(key: str, value) -> None:
        update(levers={**state.value.levers, key: value})

    solara.Select("Scenario", values=names, value=form.scenario, on_value=on_pick,
                  classes=["xw-scenario"])
    with solara.Div(classes=["xw-agents"]):
        solara.SliderInt(f"SMEs simulated: {form.agents:,}", value=form.agents,
                         min=forms.AGENTS_MIN, max=forms.AGENTS_MAX, step=forms.AGENTS_STEP,
                         on_value=lambda v: update(agents=v), thumb_label=False)
    with solara.Div(classes=["xw-last-year"]):
        solara.SliderInt(f"Last year: {form.last_year}", value=form.last_year,
                         min=first_year, max=last_year, on_value=lambda v: update(last_year=v),
                         thumb_label=False)
    solara.InputInt("Seed", value=form.seed, on_value=lambda v: update(seed=v),
                    classes=["xw-seed"])
    # headings as plain text: solara.Markdown loads KaTeX from a CDN, which an offline
    # machine cannot reach
    solara.Text("Levers (one left where the scenario has it is not moved)",
                style={"font-weight": "bold"})
    for item in LEVERS:
        LeverControl(item, form.levers.get(item.key, defaults.levers[item.key]),
                     defaults.levers[item.key],
                     lambda v, key=item.key: set_lever(key, v)).key(item.key)
    solara.Select("Levers move in (the first quarter: from the start)", values=choices,
                  value=form.lever_at, on_value=lambda v: update(lever_at=v),
                  classes=["xw-lever-at"])
    solara.Text("Revenue shock (0 % is none)", style={"font-weight": "bold"})
    with solara.Div(classes=["xw-shock"]):
        solara.SliderFloat(f"Revenue change: {form.shock_pct:+g} %", value=form.shock_pct,
                           min=forms.SHOCK_MIN_PCT, max=forms.SHOCK_MAX_PCT, step=1.0,
                           on_value=lambda v: update(shock_pct=v), thumb_label=False)
    solara.Select("Shock starts in", values=choices, value=form.shock_at,
                  on_value=lambda v: update(shock_at=v), classes=["xw-shock-at"])
    solara.SliderInt(f"Shock lasts: {form.shock_quarters} quarter(s)",
                     value=form.shock_quarters, min=1, max=forms.SHOCK_QUARTERS_MAX,
                     on_value=lambda v: update(shock_quarters=v), thumb_label=False)
    with solara.Row():
        solara.Button("Run", on_click=on_run, color="primary", disabled=running,
                      classes=["xw-run"])
        solara.Button("Stop", on_click=on_stop, disabled=not running, classes=["xw-stop"])
        solara.Button("Reset", on_click=lambda: on_pick(form.scenario), text=True,
                      classes=["xw-reset"])


@solara.component
def Headline(snapshot: Snapshot):
    """The last simulated quarter's new loans, moved and baseline, as text."""
    moved = charts.last_value(snapshot.lever.get("new_loans", ()))
    base = charts.last_value(snapshot.baseline.get("new_loans", ()))
    if moved is None or not snapshot.quarters:
        return
    # only numbers the model produced and a quarter label go into the markup
    text = (f'New loans in {snapshot.quarters[-1]}: <b><span id="{HEADLINE_ID}" '
            f'class="xw-headline" data-value="{moved!r}">{moved:,.1f}</span></b> '
            "(100m yuan)")
    if base is not None and base > 0:
        text += f"; baseline {base:,.1f} ({moved / base - 1:+.1%})"
    solara.HTML(tag="div", unsafe_innerHTML=text, classes=["xw-headline-line"])


@solara.component
def Charts(snapshot: Snapshot | None):
    """The six headline series so far, three charts a row."""
    # the same paths give the same options: nothing is sent while the burn-in runs
    key = (snapshot.quarters, tuple(map(repr, snapshot.lever.get("new_loans", ()))),
           tuple(map(repr, snapshot.baseline.get("new_loans", ())))) if snapshot else ()
    options = solara.use_memo(lambda: charts.options(snapshot), [key])
    with solara.Div(classes=["xw-charts"]):
        with solara.GridFixed(columns=3):
            for number, option in enumerate(options):
                solara.FigureEcharts(option=option,
                                     attributes={"style": "height: 300px; width: 100%;"},
                                     responsive=True).key(f"chart-{number}")


@solara.component
def Results(snapshot: Snapshot | None):
    """Progress, the headline number, the charts and the download."""
    if snapshot is None:
        solara.Info("Pick a scenario, move the levers and press Run. The dashed line is "
                    "the scenario as shipped, with the same seed.")
    else:
        progress = (100.0 * snapshot.steps_done / snapshot.steps_total
                    if snapshot.steps_total else True)
        stage = STAGES.get(snapshot.stage, snapshot.stage)
        where = (f": {snapshot.steps_done} of {snapshot.steps_total} quarters"
                 if snapshot.steps_total else "")
        solara.Text(f"Status: {stage}{where}" + (f" ({snapshot.message})"
                                                 if snapshot.message else ""),
                    classes=["xw-status", f"xw-stage-{snapshot.stage}"])
        if not snapshot.finished:
            solara.ProgressLinear(progress)
        if snapshot.stage == "failed":
            solara.Error(snapshot.message, classes=["xw-run-error"])
        Headline(snapshot)
    # keyed: the elements above it come and go, and a chart re-created while the browser
    # is still loading ECharts fails to draw
    Charts(snapshot).key("charts")
    if snapshot is not None and snapshot.stage == "done" and snapshot.run_dir:
        folder = Path(snapshot.run_dir)
        solara.Text(f"Run folder: {folder}", classes=["xw-run-dir"])
        # the folder comes from the run, never from the page; zip_run checks it anyway
        solara.FileDownload(lambda: folders.zip_run(folders.results_root(), folder),
                            filename=folders.zip_name(folder),
                            label="Download the run folder (.zip)")


@solara.component
def Page():
    names = solara.use_memo(catalogue.scenario_names, [])
    first = solara.use_memo(lambda: forms.defaults(catalogue.DEFAULT_SCENARIO), [])
    state = solara.use_reactive(first)
    snapshot = solara.use_reactive(None)
    error = solara.use_reactive("")
    note = solara.use_reactive("")
    stop_ref = solara.use_ref(threading.Event())

    def work(plan: forms.Plan, stop: threading.Event) -> None:
        def report(update: Snapshot) -> None:
            # a run stopped or replaced draws nothing more, but a finished one is shown
            if not stop.is_set() or update.finished and stop is stop_ref.current:
                snapshot.set(update)

        def finish(update: Snapshot) -> None:
            if stop is stop_ref.current:  # not replaced by a newer run meanwhile
                snapshot.set(update)

        try:
            run_pair(plan, folders.results_root(), report, stop)
        except Stopped:
            finish(dataclasses.replace(snapshot.value or Snapshot("stopped"),
                                       stage="stopped", message=""))
        except (ScenarioError, SimError) as exc:
            finish(Snapshot("failed", message=str(exc)))
        except OSError as exc:  # a full disk, a folder without permission: in words
            from sim.output_paths import describe_os_error

            finish(Snapshot("failed", message=describe_os_error(exc)))
        except Exception as exc:  # shown on the page; the traceback goes to the log
            logger.exception("dashboard run failed")
            finish(Snapshot("failed", message=f"the run failed: {exc!r}"))

    task = solara.lab.use_task(work, dependencies=None, raise_error=False)

    def pick(name) -> None:
        try:
            state.set(forms.defaults(name))
            error.set("")
        except ScenarioError as exc:
            error.set(str(exc))

    def run() -> None:
        try:
            plan = forms.plan(state.value)
        except ScenarioError as exc:
            error.set(str(exc))
            return
        error.set("")
        note.set("" if not plan.reset_later else
                 "The scenario sets these again itself later, and from then its values "
                 "hold: " + ", ".join(plan.reset_later))
        stop_ref.current.set()
        stop_ref.current = threading.Event()
        snapshot.set(Snapshot("starting"))
        task(plan, stop_ref.current)

    def stop() -> None:
        stop_ref.current.set()

    # a closed page stops its run
    solara.use_effect(lambda: (lambda: stop_ref.current.set()), [])

    running = snapshot.value is not None and not snapshot.value.finished
    solara.Title("xiaowei: live dashboard")
    with solara.Sidebar():
        Controls(state, names, pick, run, stop, running)
    with solara.Column(classes=["xw-main"]):
        solara.HTML(tag="h2", unsafe_innerHTML="SME credit market: levers against the baseline")
        if error.value:
            solara.Error(error.value, classes=["xw-error"], style_="white-space: pre-wrap")
        if note.value:
            solara.Warning(note.value, classes=["xw-note"])
        Results(snapshot.value)
