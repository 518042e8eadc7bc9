"""The results: tables on the terminal, and the same figures as JSON in reports/bench/."""

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from bench.servers import SIDES
from bench.throughput import Measurement
from tests.support.server import ROOT

REPORT_DIR = ROOT / "reports" / "bench"
FIGURES = ("requests_per_second", "p50_ms", "p99_ms")


def summarize_throughput(measurements: list[Measurement]) -> list[dict[str, Any]]:
    """Per worker count and operation: each side's medians over the rounds, and ours ÷ mirror."""
    cells = list(dict.fromkeys((m.workers, m.operation) for m in measurements))
    rows = []
    for workers, operation in cells:
        row: dict[str, Any] = {"workers": workers, "operation": operation}
        for side in SIDES:
            rounds = [
                m.result.figures()
                for m in measurements
                if (m.workers, m.operation, m.side) == (workers, operation, side)
            ]
            row[side] = {
                **{key: statistics.median(r[key] for r in rounds) for key in FIGURES},
                "errors": sum(r["errors"] for r in rounds),
                "rounds": rounds,
            }
        row["ours_over_mirror"] = {
            key: round(row["ours"][key] / row["mirror"][key], 2) if row["mirror"][key] else None
            for key in FIGURES
        }
        rows.append(row)
    return rows


def throughput_table(rows: list[dict[str, Any]]) -> str:
    width = max([len("operation"), *(len(row["operation"]) for row in rows)])
    header = (
        f"{'workers':>7}  {'operation':{width}}"
        + "".join(
            f" | {side + ' req/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}" for side in SIDES
        )
        + f" | {'ours÷mirror: req/s':>18} {'p50':>5} {'p99':>5}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        line = f"{row['workers']:>7}  {row['operation']:{width}}"
        for side in SIDES:
            figures = row[side]
            line += (
                f" | {figures['requests_per_second']:>12.0f} {figures['p50_ms']:>8.2f}"
                f" {figures['p99_ms']:>8.2f} {figures['errors']:>6}"
            )
        ratio = row["ours_over_mirror"]
        line += f" | {_number(ratio['requests_per_second']):>18} {_number(ratio['p50_ms']):>5}"
        line += f" {_number(ratio['p99_ms']):>5}"
        lines.append(line)
    return "\n".join(lines)


def scale_text(scale: dict[str, Any]) -> str:
    lines = [f"{'data set':9} {'operation':10} {'req/s':>8} {'p50 ms':>9} {'p99 ms':>9}"]
    for name in ("small", "large"):
        for operation, figures in scale[name].items():
            lines.append(
                f"{name:9} {operation:10} {figures['requests_per_second']:>8.1f}"
                f" {figures['p50_ms']:>9.2f} {figures['p99_ms']:>9.2f}"
                + (f"  ({figures['failure']})" if figures.get("failure") else "")
            )
    for operation, ratio in scale["large_over_small"].items():
        lines.append(
            f"large ÷ small, {operation}: req/s {_number(ratio['requests_per_second'])},"
            f" p50 {_number(ratio['p50_ms'])}, p99 {_number(ratio['p99_ms'])}"
        )
    return "\n".join(lines)


def query_scale_text(figures: dict[str, Any]) -> str:
    """Per user and query: p50 and p99 at each table size, and the large over the baseline."""
    tables = [name for name in figures if name != "large_over_baseline"]
    header = (
        f"{'user':11} {'query':32}"
        + "".join(
            f" | {figures[name]['other_tasks']:>11,} others: p50 ms   p99 ms" for name in tables
        )
        + " | large÷baseline p50   p99"
    )
    lines = [header, "-" * len(header)]
    for user, queries in figures["large_over_baseline"].items():
        for query, ratio in queries.items():
            line = f"{user:11} {query:32}"
            for name in tables:
                cell = figures[name]["users"][user][query]
                line += f" | {'':18} {cell['p50_ms']:>8.2f} {cell['p99_ms']:>8.2f}"
            line += f" | {'':14} {ratio['p50_ms']:>5.2f} {ratio['p99_ms']:>5.2f}"
            lines.append(line)
    for name in tables:
        sizes = ", ".join(f"{relation} {mib:g}" for relation, mib in figures[name]["mib"].items())
        lines.append(f"MiB with {figures[name]['other_tasks']:,} others: {sizes}")
    return "\n".join(lines)


def statements_text(statements: dict[str, Any] | None) -> str:
    """The statements of one benchmark batch on each side, by name."""
    if not statements or not statements.get("counted"):
        return "statements per batch: not counted (pg_stat_statements is not loaded)"
    lines = [f"statements per 20-operation batch (pg_stat_statements), {'ours':>6} {'mirror':>6}"]
    names = sorted({*statements["ours"]["by_name"], *statements["mirror"]["by_name"]})
    for name in [*names, "all"]:
        figures = [
            side["statements"] if name == "all" else side["by_name"].get(name, 0)
            for side in (statements["ours"], statements["mirror"])
        ]
        lines.append(f"  {name:54} {figures[0]:>6g} {figures[1]:>6g}")
    return "\n".join(lines)


def batch_latency_text(figures: dict[str, Any]) -> str:
    """Each series' medians, then each batch's median over the single operation's."""
    lines = [_series_table(figures["series"])]
    for comparison, ratio in figures["batch_over_single"].items():
        lines.append(
            f"{comparison}: p50 {_number(ratio['p50_ms'])}x, p90 {_number(ratio['p90_ms'])}x"
            f" (target ≤ {figures['target']}x)"
        )
    return "\n".join(lines)


def large_user_text(figures: dict[str, Any]) -> str:
    """Each series' medians, then user_large's over the small data set's user's."""
    lines = [_series_table(figures["series"])]
    for comparison, ratio in figures["large_over_small"].items():
        lines.append(
            f"user_large ÷ small, {comparison}: p50 {_number(ratio['p50_ms'])}x,"
            f" p90 {_number(ratio['p90_ms'])}x (target ≤ {figures['target']}x)"
        )
    return "\n".join(lines)


def _series_table(series: dict[str, dict[str, Any]]) -> str:
    header = f"{'series':36} {'requests':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}"
    counted = any("database" in figures for figures in series.values())
    if counted:
        header += f" {'statements':>10} {'db ms':>7}"
    lines = [header]
    for label, figures in series.items():
        line = (
            f"{label:36} {figures['requests']:>8} {figures['p50_ms']:>8.2f}"
            f" {figures['p90_ms']:>8.2f} {figures['p99_ms']:>8.2f}"
        )
        if "database" in figures:
            database = figures["database"]
            line += f" {database['statements']:>10g} {database['exec_ms']:>7.2f}"
        lines.append(line)
    return "\n".join(lines)


def memory_text(memory: dict[str, Any]) -> str:
    rss = memory["rss_kib"]
    lines = []
    for worker in range(memory["workers"]):
        after = ", ".join(
            f"{name}: {values[worker] / 1024:.1f} MiB" for name, values in rss.items()
        )
        lines.append(
            f"worker {worker + 1}: {after}; growth 10k→100k {memory['growth_percent'][worker]}%"
        )
    return "\n".join(lines)


def history_text(history: dict[str, Any]) -> str:
    grown = history["grown_bytes"]
    return (
        f"{history['edits']} edits: {grown['rows']} rows, table +{grown['table_bytes'] / 1024:.0f}"
        f" KiB, indexes +{grown['index_bytes'] / 1024:.0f} KiB,"
        f" total +{grown['total_bytes'] / 1024:.0f} KiB ({history['bytes_per_edit']} bytes an edit)"
    )


def events_text(events: dict[str, Any]) -> str:
    """Memory per stream, the fan-out's delays, and the request path with streams open ÷ none."""
    lines = []
    for memory in events["memory"]:
        rss = memory["rss_kib"]
        lines.append(
            f"memory, {memory['workers']} worker, {memory['streams']:,} streams"
            f" ({memory['layout']}): RSS {rss['before'] / 1024:.1f} →"
            f" {rss['with_streams'] / 1024:.1f} MiB, {memory['kib_per_stream']:.1f} KiB a stream"
            f" ({rss['after_closing'] / 1024:.1f} MiB once closed; opened in"
            f" {memory['opened_seconds']:.1f} s)"
        )
    fanout = events["fanout"]
    lines.append(
        f"fan-out, {fanout['workers']} workers, {fanout['streams']:,} streams"
        f" ({fanout['users']:,} users x {fanout['streams'] // fanout['users']}):"
        f" {fanout['writes']} writes at {_number(fanout['writes_per_second'])}/s, delay to the"
        f" `changed` event on every stream of the user (target p99 < {fanout['target_p99_ms']} ms)"
    )
    lines.append(
        f"  {'from':22} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for label, key in (
        ("the write sent", "from_write_sent_ms"),
        ("its answer", "from_write_answered_ms"),
    ):
        figures = fanout[key]
        if not figures["count"]:
            lines.append(f"  {label:22} {0:>6}")
            continue
        lines.append(
            f"  {label:22} {figures['count']:>6} {figures['p50']:>8.2f} {figures['p95']:>8.2f}"
            f" {figures['p99']:>8.2f} {figures['max']:>8.2f}"
        )
    lines.append(
        f"  missed: {fanout['missed']}; `changed` events received"
        f" {fanout['changed_events_received']} (one per write and stream:"
        f" {fanout['changed_events_expected']}), `resync` {fanout['resync_events_received']}"
    )
    server = fanout["server"]["fanout"]
    if server["count"]:
        lines.append(
            f"  the server's taskapi_event_fanout_seconds: {server['count']:.0f} observations"
            " (one per write and worker holding a stream of its user),"
            f" mean {_number(server['mean_ms'])} ms, p50 {_number(server['p50_ms'])},"
            f" p95 {_number(server['p95_ms'])}, p99 {_number(server['p99_ms'])} ms (from its"
            f" buckets), {100 * server['within_100_ms']:.1f}% within 100 ms"
        )
    else:
        lines.append("  the server's taskapi_event_fanout_seconds: no observations")
    path = events.get("request_path")
    if path:
        lines.append(
            f"request path, {path['workers']} workers, {path['streams']:,} streams open vs none"
            f" (medians of {path['rounds']} rounds of {path['duration_seconds']:g} s,"
            f" {path['connections']} connections)"
        )
        header = (
            f"  {'operation':10}"
            + "".join(
                f" | {state + ' req/s':>12} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs':>7}"
                for state in ("closed", "open")
            )
            + f" | {'open÷closed: req/s':>18} {'p50':>5} {'p99':>5} {'CPU':>5}"
            + " | req/s ratio by round"
        )
        lines += [header, "  " + "-" * (len(header) - 2)]
        for row in path["operations"]:
            line = f"  {row['operation']:10}"
            for state in ("closed", "open"):
                figures = row[state]
                line += (
                    f" | {figures['requests_per_second']:>12.0f} {figures['p50_ms']:>7.2f}"
                    f" {figures['p99_ms']:>7.2f} {figures['worker_cpu_us_per_request']:>7.0f}"
                )
            ratio = row["open_over_closed"]
            line += (
                f" | {_number(ratio['requests_per_second']):>18} {_number(ratio['p50_ms']):>5}"
                f" {_number(ratio['p99_ms']):>5} {_number(ratio['worker_cpu_us_per_request']):>5}"
                f" | {', '.join(_number(ratio) for ratio in row['rounds_open_over_closed'])}"
            )
            lines.append(line)
        lines.append(
            "  CPU µs: the workers' CPU time per request; with the streams open, the events they"
            " heard (and the clients' CPU while they read them):"
            + "".join(
                f" {row['operation']} {row['open']['events_received']}"
                f" ({row['open']['client_cpu_percent']:.0f}%)"
                for row in path["operations"]
            )
        )
    opened: dict[str, int] = {}
    for part in [*events["memory"], fanout, events.get("request_path") or {}]:
        for event, count in part.get("first_events", {}).items():
            opened[event] = opened.get(event, 0) + count
    if set(opened) - {"ready"}:
        lines.append(
            "streams whose first event was not `ready` (a change heard while they opened): "
            + ", ".join(f"{count} {event}" for event, count in opened.items() if event != "ready")
            + f" of {sum(opened.values())}"
        )
    return "\n".join(lines)


def startup_text(startup: dict[str, Any]) -> str:
    runs = ", ".join(f"{ms:.0f}" for ms in startup["runs_ms"])
    return f"median {startup['median_ms']:.0f} ms (runs: {runs} ms)"


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def write_report(report: dict[str, Any]) -> Path:
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
