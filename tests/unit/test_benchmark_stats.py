"""The failover benchmark's arithmetic: what is lost, where an outage ends, medians, tables."""

from __future__ import annotations

import pytest

from benchmarks.stats import (
    CellSummary,
    FlowResult,
    analyse_flow,
    fmt_cell,
    markdown_table,
    median,
    percentile,
    ratio,
    summarise,
    summarise_cell,
    verdict_below,
    verdict_carrier,
    verdict_lost,
    verdict_silent,
    verdict_table,
)


def times(n: int, start: float = 100.0, step: float = 0.001) -> list[float]:
    return [start + i * step for i in range(n)]


def flow(outage: float | None, lost: int = 1, recovered: bool = True) -> FlowResult:
    return FlowResult(sent=1000, lost_before=0, lost=lost, outage_ms=outage, recovered=recovered)


def cell(outages: list[float | None], lost: list[int] | None = None) -> CellSummary:
    lost = lost or [1] * len(outages)
    reps = [
        (flow(o, n, o is not None), flow(o, n, o is not None))
        for o, n in zip(outages, lost, strict=True)
    ]
    return summarise_cell(reps)


# -- one direction --------------------------------------------------------------------------------


def test_nothing_lost_is_a_zero_outage():
    result = analyse_flow(times(2000), [True] * 2000, fault=100.5)
    assert result == FlowResult(2000, 0, 0, 0.0, True)


def test_outage_runs_from_the_fault_to_the_last_lost_packet():
    sent = times(2000)
    got = [not (500 <= i < 540) for i in range(2000)]  # lost from the fault on, 40 packets
    result = analyse_flow(sent, got, fault=sent[500])
    assert result.lost == 40 and result.recovered
    assert result.outage_ms == pytest.approx(39.0)


def test_a_packet_in_flight_at_the_fault_is_the_faults_loss():
    sent = times(2000)
    got = [i != 495 for i in range(2000)]  # sent 5 ms before the fault
    result = analyse_flow(sent, got, fault=sent[500])
    assert result.lost == 1 and result.lost_before == 0
    assert result.outage_ms == 0.0  # lost before the fault: no time after it


def test_loss_long_before_the_fault_is_background_noise():
    sent = times(2000)
    got = [i != 100 for i in range(2000)]
    result = analyse_flow(sent, got, fault=sent[500])
    assert result.lost_before == 1 and result.lost == 0 and result.outage_ms == 0.0


def test_loss_that_lasts_into_the_tail_is_not_recovered():
    sent = times(2000)
    got = [i < 500 for i in range(2000)]
    result = analyse_flow(sent, got, fault=sent[500])
    assert not result.recovered and result.outage_ms is None and result.lost == 1500


def test_a_late_burst_is_timed_by_when_it_really_left():
    sent = times(500) + [100.6] * 50 + times(1450, start=100.601)  # a stall, then a burst
    got = [not (500 <= i < 510) for i in range(2000)]
    result = analyse_flow(sent, got, fault=100.499)
    assert result.outage_ms == pytest.approx(101.0)


def test_lengths_must_match_and_an_empty_flow_never_recovered():
    with pytest.raises(ValueError):
        analyse_flow([1.0, 2.0], [True], fault=1.5)
    assert analyse_flow([], [], fault=1.0) == FlowResult(0, 0, 0, None, False)


# -- aggregates -----------------------------------------------------------------------------------


def test_percentile_interpolates_like_numpy():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 5.0
    assert percentile(values, 99) == pytest.approx(4.96)
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_median_and_ratio_handle_the_unknown():
    assert median([3, 1, 2]) == 2 and median([1, 2, 3, 4]) == 2.5 and median([]) is None
    assert ratio(5, 100) == 0.05
    assert ratio(None, 1) is None and ratio(1, None) is None and ratio(1, 0) is None


def test_summary_takes_outages_only_from_recovered_repetitions():
    reps = [flow(10.0, 10), flow(30.0, 30), flow(None, 1500, False), flow(20.0, 20)]
    summary = summarise(reps)
    assert summary.reps == 4 and summary.recovered == 3 and not summary.all_recovered
    assert summary.outage_median == 20.0 and summary.outage_max == 30.0
    assert summary.lost_median == 25.0 and summary.lost_max == 1500


def test_a_cell_is_as_good_as_its_worse_direction():
    up = [flow(10.0), flow(12.0), flow(14.0)]
    down = [flow(20.0), flow(22.0), flow(24.0)]
    both = summarise_cell(list(zip(up, down, strict=True)))
    assert both.outage_median == 22.0 and both.outage_max == 24.0 and both.all_recovered
    broken = summarise_cell([(flow(1.0), flow(None, 5, False))])
    assert broken.outage_median is None and broken.outage_max is None


# -- verdicts -------------------------------------------------------------------------------------


def test_carrier_verdicts_compare_with_teamd_and_a_twentieth_of_miimon():
    ours, teamd, miimon = cell([2.0, 3.0, 4.0]), cell([3.0, 3.0, 3.0]), cell([80.0, 90.0, 100.0])
    same, twentieth = verdict_carrier(ours, teamd, miimon)
    assert same.met is True and twentieth.met is True and "1/30" in twentieth.measured
    slower = verdict_carrier(cell([5.0]), cell([1.0]), cell([90.0]))
    assert [v.met for v in slower] == [False, False]
    unknown = verdict_carrier(cell([None]), teamd, None)
    assert [v.met for v in unknown] == [None, None]


def test_silent_failure_must_recover_every_time_within_the_bound():
    assert verdict_silent("arp", cell([300.0, 350.0, 390.0]), 100, 3).met is True
    assert verdict_silent("arp", cell([300.0, 410.0]), 100, 3).met is False
    missed = verdict_silent("arp", cell([300.0, None]), 100, 3)
    assert missed.met is False and "1/2 recovered" in missed.measured
    assert verdict_silent("arp", None, 100, 3).met is None


def test_loss_and_bound_verdicts():
    assert verdict_lost("planned", cell([0.0, 0.0, 5.0], lost=[0, 1, 3]), 1).met is True
    assert verdict_lost("planned", cell([5.0, 5.0, 5.0], lost=[2, 2, 0]), 1).met is False
    assert verdict_lost("restart", None, 0).met is None
    assert verdict_below("cpu", 0.05, 0.1, "%").met is True
    assert verdict_below("cpu", 0.1, 0.1, "%").met is False
    assert verdict_below("cpu", None, 0.1, "%").met is None


# -- rendering ------------------------------------------------------------------------------------


def test_cells_show_both_directions_and_missed_recoveries():
    assert fmt_cell(cell([12.0])) == "↑ 12.0 ms, 1 lost<br>↓ 12.0 ms, 1 lost"
    assert "not recovered 1/1" in fmt_cell(cell([None], lost=[1500]))
    assert fmt_cell(None) == "n/a"


def test_markdown_tables_have_a_row_per_system_and_a_column_per_fault():
    table = markdown_table(
        [("a", "system A"), ("b", "system B")],
        [("carrier", "carrier loss"), ("restart", "daemon restart")],
        {("a", "carrier"): cell([1.0]), ("b", "carrier"): cell([2.0]), ("a", "restart"): None},
    )
    lines = table.splitlines()
    assert lines[0] == "| system | carrier loss | daemon restart |"
    assert lines[1] == "|---|---|---|"
    assert lines[2].startswith("| system A | ↑ 1.0 ms") and lines[2].endswith("| n/a |")
    assert lines[3].startswith("| system B | ↑ 2.0 ms") and lines[3].endswith("| n/a |")
    verdicts = verdict_table(
        [verdict_below("cpu", 0.05, 0.1, "%"), verdict_below("rss", 70, 60, "MB")]
    ).splitlines()
    assert verdicts[2] == "| cpu | 0.05 % | yes |" and verdicts[3] == "| rss | 70 MB | **no** |"
