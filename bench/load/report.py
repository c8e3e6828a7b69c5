"""Targets next to the figures, and the tables people read (``--json`` prints the dict instead)."""

from __future__ import annotations

__all__ = ["print_tables", "targets"]


def targets(result: dict) -> list[dict]:
    """Issue 14's targets on the measured figures: each with its value and whether it is met."""
    out = []
    runs = result["runs"]
    rows = [r for run in runs for r in run["search"]]
    chats = [run["chat"] for run in runs if run["chat"]]
    errors = sum(r["errors"] for r in rows) + sum(c["errors"] for c in chats)
    fives = sum(r["5xx"] for r in rows) + sum(c["5xx"] for c in chats)
    out.append({"target": "0 errors at every level", "value": errors, "met": errors == 0})
    out.append({"target": "0 5xx at every level", "value": fives, "met": fives == 0})
    for run in runs:
        for index in dict.fromkeys(r["index"] for r in run["search"]):
            by = {r["clients"]: r for r in run["search"] if r["index"] == index}
            if 1 in by and 16 in by and by[1]["p50_ms"] and by[16]["p99_ms"]:
                ratio = by[16]["p99_ms"] / by[1]["p50_ms"]
                out.append({"target": f"p99@16 <= 10x p50@1 ({index}, {run['workers']} workers)",
                            "value": f"{by[16]['p99_ms']:.0f} / {by[1]['p50_ms']:.0f} ms = {ratio:.1f}x",
                            "met": ratio <= 10})
    lost = sum(c["lost_turns"] for c in chats)
    out.append({"target": "no lost chat turn (load runs)", "value": lost, "met": lost == 0})
    soak = result.get("soak")
    if soak:
        out.append({"target": "no failed search in the soak (faults included)", "value": soak["failed_searches"],
                    "met": soak["failed_searches"] == 0})
        out.append({"target": "no lost chat turn in the soak (faults included)", "value": soak["lost_turns"],
                    "met": soak["lost_turns"] == 0})
        out.append({"target": "0 5xx in the soak", "value": soak["search_5xx"] + soak["chat_5xx"],
                    "met": soak["search_5xx"] + soak["chat_5xx"] == 0})
        out.append({"target": f"RSS flat within 10 % over the {soak['seconds']:.0f} s soak",
                    "value": f"{soak['rss_start_mb']} -> {soak['rss_end_max_mb']} MB ({soak['rss_growth_pct']:+.1f} %)",
                    "met": abs(soak["rss_growth_pct"]) <= 10})
    return out


def _table(rows: list[dict], cols: list[str]) -> None:
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) if cells else len(c) for i, c in enumerate(cols)]
    print("  ".join(c.rjust(w) for c, w in zip(cols, widths)))
    for x in cells:
        print("  ".join(v.rjust(w) for v, w in zip(x, widths)))
    print()


def print_tables(result: dict) -> None:
    """Search, chat and soak tables, then the targets."""
    print("  ".join(f"{k}={v}" for k, v in result["config"].items()))
    for name, build in result.get("builds", {}).items():
        print(f"build {name}: " + ", ".join(f"{k}={v}" for k, v in build.items()))
    print()
    search = [{"workers": run["workers"], **r} for run in result["runs"] for r in run["search"]]
    _table(search, ["workers", "index", "clients", "requests", "errors", "5xx", "qps", "p50_ms", "p99_ms"])
    chats = [{"workers": run["workers"], "peak_rss_mb": run["peak_rss_mb"], **(run["chat"] or {})} for run in result["runs"]]
    _table(chats, ["workers", "clients", "turns", "errors", "5xx", "turns_per_min", "p50_ms", "p99_ms",
                   "turns_sent", "turns_stored", "lost_turns", "peak_rss_mb"])
    soak = result.get("soak")
    if soak:
        _table([soak], ["seconds", "workers", "sessions", "searches", "failed_searches", "chat_turns", "chat_errors",
                        "turns_sent", "turns_stored", "lost_turns", "rss_start_mb", "rss_end_max_mb", "rss_growth_pct"])
        for fault in soak["faults"]:
            print("fault: " + ", ".join(f"{k}={v}" for k, v in fault.items()))
        for err in soak["search_first_errors"] + soak["chat_first_errors"]:
            print("soak error: " + err)
        print()
    for run in result["runs"]:
        for r in run["search"]:
            for err in r["first_errors"]:
                print(f"error ({run['workers']} workers, {r['index']}, {r['clients']} clients): {err}")
        for err in (run["chat"] or {}).get("first_errors", []):
            print(f"chat error ({run['workers']} workers): {err}")
    _table([{"target": t["target"], "value": t["value"], "met": "yes" if t["met"] else "NO"} for t in result["targets"]],
           ["target", "value", "met"])
