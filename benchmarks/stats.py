"""Pure arithmetic of the failover benchmark: sequence logs in, losses, outages and verdicts out.

Kept free of I/O and of the kernel so that the numbers the benchmark publishes can be checked by
unit tests: what counts as lost, where an outage ends, when a flow has recovered, how repetitions
are summarised and how the results table is written.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# A packet sent this long before the fault can still be in flight when it strikes: its loss is
# the fault's, not background noise.
IN_FLIGHT_S = 0.010
# A flow has recovered when nothing was lost in this last stretch of the measuring window.
TAIL_S = 0.5


@dataclass(frozen=True)
class FlowResult:
    """One direction of one repetition."""

    sent: int
    lost_before: int  # lost before the fault: background noise, expected 0
    lost: int  # lost from the fault on
    outage_ms: float | None  # fault to the last lost packet (0 when none); None: not recovered
    recovered: bool


def analyse_flow(
    send_times: Sequence[float],
    received: Sequence[bool],
    fault: float,
    tail_s: float = TAIL_S,
    in_flight_s: float = IN_FLIGHT_S,
) -> FlowResult:
    """Losses and outage of one direction.

    `send_times[i]` is when packet `i` left (seconds, any monotonic clock shared with `fault`);
    `received[i]` whether it arrived. Timing uses the real send time rather than the schedule,
    because a busy CPU delays packets in bursts and a packet that left late was not lost early.
    """
    if len(send_times) != len(received):
        raise ValueError("one send time and one received flag per packet")
    sent = len(send_times)
    if sent == 0:
        return FlowResult(0, 0, 0, None, False)
    start = fault - in_flight_s
    end = send_times[-1]
    lost_before = 0
    lost = 0
    last_lost: float | None = None
    for when, got in zip(send_times, received, strict=True):
        if got:
            continue
        if when < start:
            lost_before += 1
            continue
        lost += 1
        last_lost = when if last_lost is None else max(last_lost, when)
    recovered = last_lost is None or last_lost < end - tail_s
    if not recovered:
        outage: float | None = None
    elif last_lost is None:
        outage = 0.0
    else:
        outage = max(0.0, (last_lost - fault) * 1000)
    return FlowResult(sent, lost_before, lost, outage, recovered)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between ranks, numpy's default."""
    if not values:
        raise ValueError("percentile of nothing")
    if not 0 <= q <= 100:
        raise ValueError("q is a percentage")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Iterable[float]) -> float | None:
    """The median, or None for no values (a cell with nothing to show)."""
    values = list(values)
    return statistics.median(values) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator; None when either is unknown or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


@dataclass(frozen=True)
class DirectionSummary:
    """One direction of one (system, fault) over all its repetitions."""

    reps: int
    recovered: int
    lost_median: float | None
    lost_max: int | None
    outage_median: float | None  # over the recovered repetitions
    outage_max: float | None

    @property
    def all_recovered(self) -> bool:
        return self.reps > 0 and self.recovered == self.reps


def summarise(flows: Sequence[FlowResult]) -> DirectionSummary:
    """Medians over repetitions; outages only of the repetitions that recovered."""
    outages = [f.outage_ms for f in flows if f.outage_ms is not None]
    losses = [f.lost for f in flows]
    return DirectionSummary(
        reps=len(flows),
        recovered=sum(f.recovered for f in flows),
        lost_median=median(losses),
        lost_max=max(losses) if losses else None,
        outage_median=median(outages),
        outage_max=max(outages) if outages else None,
    )


@dataclass(frozen=True)
class CellSummary:
    """A (system, fault) pair: both directions, `up` from the server, `down` towards it."""

    up: DirectionSummary
    down: DirectionSummary

    @property
    def all_recovered(self) -> bool:
        return self.up.all_recovered and self.down.all_recovered

    @property
    def outage_median(self) -> float | None:
        """The worse direction's median outage: a failover is over when both directions are."""
        if not self.all_recovered:
            return None
        values = [d.outage_median for d in (self.up, self.down) if d.outage_median is not None]
        return max(values) if values else None

    @property
    def outage_max(self) -> float | None:
        if not self.all_recovered:
            return None
        values = [d.outage_max for d in (self.up, self.down) if d.outage_max is not None]
        return max(values) if values else None

    @property
    def lost_max(self) -> int | None:
        values = [d.lost_max for d in (self.up, self.down) if d.lost_max is not None]
        return max(values) if values else None


def summarise_cell(reps: Sequence[tuple[FlowResult, FlowResult]]) -> CellSummary:
    """Repetitions of (up, down) results into one table cell."""
    return CellSummary(summarise([r[0] for r in reps]), summarise([r[1] for r in reps]))


# -- verdicts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A target from the issue, what was measured, and whether it is met (None: not measured)."""

    target: str
    measured: str
    met: bool | None


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def verdict_carrier(
    ours: CellSummary | None, teamd: CellSummary | None, miimon: CellSummary | None
) -> list[Verdict]:
    """Carrier loss: no worse than teamd's ethtool watcher, at most 1/20 of miimon 100."""
    mine = ours.outage_median if ours else None
    theirs = teamd.outage_median if teamd else None
    bond = miimon.outage_median if miimon else None
    out = []
    met = None if mine is None or theirs is None else mine <= theirs
    out.append(
        Verdict(
            "carrier loss outage <= teamd (ethtool watcher)",
            f"{_ms(mine)} vs {_ms(theirs)}",
            met,
        )
    )
    share = ratio(mine, bond)
    met = None if mine is None or bond is None else mine * 20 <= bond
    shown = "n/a" if share is None else f"1/{1 / share:.0f}" if share > 0 else "0"
    out.append(
        Verdict(
            "carrier loss outage <= 1/20 of bonding miimon 100",
            f"{_ms(mine)} vs {_ms(bond)} ({shown})",
            met,
        )
    )
    return out


def verdict_silent(
    name: str, cell: CellSummary | None, interval_ms: int, missed_max: int
) -> Verdict:
    """Silent failure: recovered in every repetition within interval * missed_max + interval."""
    bound = interval_ms * missed_max + interval_ms
    target = f"silent failure ({name}) recovers every time within {bound} ms"
    if cell is None:
        return Verdict(target, "not measured", None)
    worst = cell.outage_max
    reps = cell.up.reps
    recovered = min(cell.up.recovered, cell.down.recovered)
    measured = f"{recovered}/{reps} recovered, worst {_ms(worst)}"
    return Verdict(target, measured, cell.all_recovered and worst is not None and worst <= bound)


def verdict_lost(target: str, cell: CellSummary | None, limit: int) -> Verdict:
    """A loss target per direction, judged on the median; the worst repetition is shown too."""
    if cell is None:
        return Verdict(target, "not measured", None)
    up, down = cell.up.lost_median, cell.down.lost_median
    if up is None or down is None:
        return Verdict(target, "not measured", None)
    measured = f"median {up:g} up / {down:g} down, worst {cell.lost_max}"
    return Verdict(target, measured, max(up, down) <= limit)


def verdict_below(target: str, value: float | None, limit: float, unit: str) -> Verdict:
    """A plain upper bound (CPU share, RSS, latency)."""
    if value is None:
        return Verdict(target, "not measured", None)
    return Verdict(target, f"{value:.3g} {unit}", value < limit)


# -- rendering ------------------------------------------------------------------------------------


def fmt_cell(cell: CellSummary | None) -> str:
    """One table cell: median outage and lost packets per direction, recoveries when short."""
    if cell is None:
        return "n/a"
    parts = []
    for arrow, side in (("↑", cell.up), ("↓", cell.down)):
        if not side.all_recovered:
            outage = f"not recovered {side.reps - side.recovered}/{side.reps}"
        else:
            outage = _ms(side.outage_median)
        lost = "?" if side.lost_median is None else f"{side.lost_median:g}"
        parts.append(f"{arrow} {outage}, {lost} lost")
    return "<br>".join(parts)


def markdown_table(
    systems: Sequence[tuple[str, str]],
    faults: Sequence[tuple[str, str]],
    cells: Mapping[tuple[str, str], CellSummary | None],
) -> str:
    """Systems as rows, faults as columns; `systems` and `faults` are (key, label) pairs."""
    head = "| system | " + " | ".join(label for _, label in faults) + " |"
    rule = "|---|" + "---|" * len(faults)
    rows = [head, rule]
    for key, label in systems:
        row = [fmt_cell(cells.get((key, fault))) for fault, _ in faults]
        rows.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(rows)


def verdict_table(verdicts: Sequence[Verdict]) -> str:
    """The targets, each with its measured value and whether it is met."""
    rows = ["| target | measured | met |", "|---|---|---|"]
    for v in verdicts:
        met = "not measured" if v.met is None else "yes" if v.met else "**no**"
        rows.append(f"| {v.target} | {v.measured} | {met} |")
    return "\n".join(rows)
