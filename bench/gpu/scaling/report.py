#!/usr/bin/env python3
"""Turns scaling-results.json into ratios, verdicts, a markdown table and a PNG plot.

    python3 report.py scaling-results.json [OUT_DIR]     # redo the report and plot from the JSON
"""
import json
import os
import sys

from metrics import ideal_makespan

METHODS = ("direct", "scheme1", "scheme2", "gpupool", "gpupool_predict")
LABELS = {"direct": "direct loop (limit)", "scheme1": "scheme 1: shards", "scheme2": "scheme 2: mp queue", "gpupool": "gpupool run",
          "gpupool_predict": "gpupool run, plain predict"}
TITLES = {"resnet50": "ResNet-50 fp16", "encoder": "12-layer encoder, skewed lengths", "mlp": "MLP (dispatch-bound)"}
UNITS = {"resnet50": "images/s", "encoder": "tokens/s", "mlp": "items/s"}
# issue 7: gpupool / direct loop at the same N; and the encoder's makespan / ideal.
TARGET_VS_DIRECT = {"resnet50": 0.97, "encoder": 0.97, "mlp": 0.90}
TARGET_MAKESPAN = 1.05


def _index(results):
    ok = {}
    for p in results.get("phases", []):
        if not p.get("error") and p.get("items_per_s") is not None:
            ok[(p["workload"], p["method"], p["n"])] = p
    return ok


def _limit(ok, w, n):
    """The direct loop's cost/s at N, and the phases it comes from: with --bracket the mean of the
    runs before and after gpupool's, so a drift of the card during the run is split evenly."""
    runs = [p for p in (ok.get((w, "direct", n)), ok.get((w, "direct_after", n))) if p]
    if not runs:
        return None, runs
    return sum(p["cost_per_s"] for p in runs) / len(runs), runs


def derive(results):
    ok = _index(results)
    workloads = sorted({k[0] for k in ok} | {p["workload"] for p in results.get("phases", [])},
                       key=lambda w: list(TITLES).index(w) if w in TITLES else 9)
    ns = sorted({p["n"] for p in results.get("phases", [])})
    rows, targets = [], []
    for w in workloads:
        one, _ = _limit(ok, w, 1)
        for n in ns:
            d, runs = _limit(ok, w, n)
            row = {"workload": w, "n": n}
            for m in METHODS:
                p = ok.get((w, m, n))
                if not p:
                    continue
                # Ratios use cost/s: tokens/s for the encoder (the direct loop's batch sample and the
                # input differ slightly in mean length), items/s for the others (cost = 1 per item).
                cell = {"items_per_s": p["items_per_s"], "rate": p["cost_per_s"], "capped": bool(p.get("capped")),
                        "gpu_util": p.get("gpu_util"), "rss_tree_peak": p.get("rss_tree_peak"),
                        "rss_root_peak": p.get("rss_root_peak"), "in_batch_fraction": p.get("in_batch_fraction"),
                        "cpu_root_cores": p.get("cpu_root_cores"), "cpu_tree_cores": p.get("cpu_tree_cores")}
                if d:
                    cell["vs_direct"] = p["cost_per_s"] / d
                if one:
                    cell["scaling_eff"] = p["cost_per_s"] / (n * one)
                if m == "direct" and len(runs) == 2:
                    cell.update({"rate_after": runs[1]["cost_per_s"], "limit": d})
                if w == "encoder" and d and m != "direct":
                    per_card = d / n
                    ideal = ideal_makespan(p["cost"], per_card, p.get("worker_starts") or [p["first_start"]] * n)
                    cell.update({"makespan_s": p["makespan_s"], "ideal_makespan_s": ideal,
                                 "ideal_simple_s": p["cost"] / (n * per_card),
                                 "makespan_vs_ideal": p["makespan_s"] / ideal if ideal else None,
                                 "complete": not p.get("capped"), "items": p["items"], "tokens": p["cost"]})
                row[m] = cell
            rows.append(row)
            g = row.get("gpupool")
            if g and "vs_direct" in g:
                goal = TARGET_VS_DIRECT.get(w)
                targets.append({"what": "%s N=%d: gpupool / direct loop" % (w, n), "value": g["vs_direct"], "target": ">= %.2f" % goal,
                                "met": g["vs_direct"] >= goal})
            if g and g.get("makespan_vs_ideal") is not None:
                met = g["complete"] and g["makespan_vs_ideal"] <= TARGET_MAKESPAN
                targets.append({"what": "%s N=%d: gpupool makespan / ideal" % (w, n), "value": g["makespan_vs_ideal"],
                                "target": "<= %.2f" % TARGET_MAKESPAN, "met": met,
                                "scheme1": (row.get("scheme1") or {}).get("makespan_vs_ideal")})
    failed = [{"workload": p["workload"], "method": p["method"], "n": p["n"],
               "error": (p.get("error") or "").strip().splitlines()[-1:] or ["?"]}
              for p in results.get("phases", []) if p.get("error")]
    extra = {}
    for p in results.get("phases", []):
        if p.get("full_batch_items_per_s"):
            extra["mlp_direct_full_batch_items_per_s"] = p["full_batch_items_per_s"]
    return {"rows": rows, "targets": targets, "failed": failed, **extra}


def _n(x, digits=0):
    if x is None:
        return "–"
    return ("{:,.%df}" % digits).format(x)


def _pct(x):
    return "–" if x is None else "%.1f%%" % (100 * x)


def _mib(b):
    return "–" if b is None else "%.0f MiB" % (b / 2 ** 20)


def write_markdown(results, path):
    der = results.get("derived") or derive(results)
    meta = results.get("meta", {})
    out = []
    gpus = meta.get("gpus") or []
    hw = "%d× %s" % (len(gpus), gpus[0]) if gpus else ("CPU smoke test" if meta.get("smoke") else "no NVML")
    out.append("# Scaling: gpupool against the direct loop and the hand-rolled schemes\n")
    out.append("Host: %s, %s CPUs, torch %s, Python %s; started %s.  " % (hw, meta.get("cpus"), meta.get("torch", "?"),
                                                                           meta.get("python"), meta.get("started")))
    out.append("Command: `%s`.  " % meta.get("command"))
    scales = [p.get("scale", 1.0) for p in results.get("phases", [])] or [1.0]
    out.append("Direct loop timed %.1f s; other inputs sized for %.1f s at the direct rate%s.\n" % (
        meta.get("direct_s", 0), meta.get("work_s", 0),
        "" if min(scales) >= 1.0 else " (shrunk to %.0f%% for some phases to fit the time budget)" % (100 * min(scales))))
    out.append("Rates are measured in the steady window (every card started, none out of work); in brackets: "
               "share of the direct loop at the same N. Scaling eff. = rate ÷ (N × one-card direct loop). "
               "GPU % is NVML utilisation averaged over the cards and the phase. RSS: gpupool's Node process / its whole tree "
               "(workers included).\n")
    rows = der.get("rows", [])
    for w in [w for w in TITLES if any(r["workload"] == w for r in rows)]:
        out.append("\n## %s\n" % TITLES[w])
        out.append("%s, in the steady window.\n" % UNITS[w].capitalize())
        wpd = sorted({p["workers_per_device"] for p in results.get("phases", []) if p.get("workload") == w and p.get("workers_per_device")})
        if wpd:
            out.append("gpupool ran %s resident worker(s) per card (`workers_per_device`); the schemes and the direct loop one "
                       "process per card.\n" % " / ".join(str(x) for x in wpd))
        out.append("| N | direct loop (limit) | scheme 1 | scheme 2 | gpupool (launch/collect) | gpupool (plain predict) | gpupool scaling eff. | GPU % direct / s1 / s2 / gpupool / predict | gpupool RSS |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for r in [r for r in rows if r["workload"] == w]:
            cells = []
            for m in METHODS:
                c = r.get(m)
                if not c:
                    cells.append("failed" if any(f["workload"] == w and f["method"] == m and f["n"] == r["n"] for f in der.get("failed", [])) else "–")
                elif m == "direct" and c.get("rate_after") is not None:
                    cells.append("%s, after: %s (limit: the mean, %s)" % (_n(c["rate"]), _n(c["rate_after"]), _n(c["limit"])))
                elif m == "direct":
                    cells.append(_n(c["rate"]))
                else:
                    cells.append("%s (%s)%s" % (_n(c["rate"]), _pct(c.get("vs_direct")), " capped" if c["capped"] else ""))
            g = r.get("gpupool") or {}
            utils = " / ".join(_n((r.get(m) or {}).get("gpu_util")) for m in METHODS)
            rss = "%s / %s" % (_mib(g.get("rss_root_peak")), _mib(g.get("rss_tree_peak"))) if g else "–"
            out.append("| %d | %s | %s | %s |" % (r["n"], " | ".join(cells), _pct(g.get("scaling_eff")), utils + " | " + rss))
        if w == "mlp" and der.get("mlp_direct_full_batch_items_per_s"):
            out.append("\nReference: the direct loop calling the MLP on whole %s-row batches does %s items/s on one card "
                       "(the table's limit calls it %s rows at a time, as every method does)." % (
                           _n(meta.get("sizes", {}).get("mlp", {}).get("batch")), _n(der["mlp_direct_full_batch_items_per_s"]),
                           _n(meta.get("sizes", {}).get("mlp", {}).get("model_batch"))))
        if w == "encoder":
            out.append("\nMakespan (first batch → last result) against the ideal (total tokens ÷ the direct loop's per-card rate, "
                       "each card counted from its first batch):\n")
            out.append("| N | items | tokens | scheme 1 | scheme 2 | gpupool | gpupool, plain predict |")
            out.append("|---|---|---|---|---|---|---|")
            for r in [r for r in rows if r["workload"] == w]:
                cells, items, tokens = [], None, None
                for m in ("scheme1", "scheme2", "gpupool", "gpupool_predict"):
                    c = r.get(m) or {}
                    if c.get("makespan_vs_ideal") is None:
                        cells.append("–")
                        continue
                    items, tokens = c["items"], c["tokens"]
                    cells.append("%.2f s / %.2f s = %.3f×%s" % (c["makespan_s"], c["ideal_makespan_s"], c["makespan_vs_ideal"],
                                                                 "" if c["complete"] else " (capped: incomplete)"))
                out.append("| %d | %s | %s | %s |" % (r["n"], _n(items), _n(tokens), " | ".join(cells)))
    cpu_rows = [(r, m) for r in rows for m in ("gpupool", "gpupool_predict") if (r.get(m) or {}).get("cpu_root_cores") is not None]
    if cpu_rows:
        out.append("\n## Host CPU of gpupool\n")
        out.append("Cores kept busy in the steady window (1.00 = one core all the time), from /proc: gpupool's Node "
                   "process, and its workers together. A figure near 1.00 for Node, or near N for the workers, names what "
                   "bounds the rate.\n")
        out.append("| workload | N | method | Node | workers |")
        out.append("|---|---|---|---|---|")
        for r, m in cpu_rows:
            c = r[m]
            out.append("| %s | %d | %s | %.2f | %.2f |" % (r["workload"], r["n"], m, c["cpu_root_cores"], c["cpu_tree_cores"]))
    out.append("\n## Targets (issue 7)\n")
    for t in der.get("targets", []):
        extra = " (scheme 1: %.3f×)" % t["scheme1"] if t.get("scheme1") is not None else ""
        out.append("- %s = %.3f, target %s: **%s**%s" % (t["what"], t["value"], t["target"], "met" if t["met"] else "MISSED", extra))
    if der.get("failed"):
        out.append("\n## Failed phases\n")
        for f in der["failed"]:
            out.append("- %s %s N=%d: %s" % (f["workload"], f["method"], f["n"], f["error"][0][:300]))
    for s in results.get("skipped", []):
        out.append("- N=%d skipped: %s" % (s["n"], s["why"]))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def write_plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    der = results.get("derived") or derive(results)
    rows = der.get("rows", [])
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    styles = {"direct": ("k", "o"), "scheme1": ("tab:orange", "s"), "scheme2": ("tab:green", "^"), "gpupool": ("tab:blue", "D"),
              "gpupool_predict": ("tab:purple", "v")}
    for ax, w in zip(axes.flat, TITLES):
        mine = [r for r in rows if r["workload"] == w]
        for m in METHODS:
            pts = [(r["n"], r[m].get("limit") or r[m]["rate"]) for r in mine if r.get(m)]
            if pts:
                color, marker = styles[m]
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, color=color, label=LABELS[m])
        one = next((r["direct"].get("limit") or r["direct"]["rate"] for r in mine if r["n"] == 1 and r.get("direct")), None)
        if one:
            ns = [r["n"] for r in mine]
            ax.plot(ns, [n * one for n in ns], "k:", label="N × one-card limit")
        ax.set_title(TITLES[w])
        ax.set_xlabel("cards (N)")
        ax.set_ylabel(UNITS[w])
        ax.set_xticks(sorted({r["n"] for r in mine}) or [1])
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    ax = axes.flat[3]
    enc = [r for r in rows if r["workload"] == "encoder"]
    width = 0.2
    for k, m in enumerate(("scheme1", "scheme2", "gpupool", "gpupool_predict")):
        pts = [(i, r[m]["makespan_vs_ideal"]) for i, r in enumerate(enc) if r.get(m) and r[m].get("makespan_vs_ideal")]
        if pts:
            ax.bar([p[0] + (k - 1.5) * width for p in pts], [p[1] for p in pts], width, color=styles[m][0], label=LABELS[m])
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhline(TARGET_MAKESPAN, color="r", ls="--", lw=0.8, label="target %.2f×" % TARGET_MAKESPAN)
    ax.set_xticks(range(len(enc)))
    ax.set_xticklabels(["N=%d" % r["n"] for r in enc])
    ax.set_title("Encoder (skewed lengths): makespan ÷ ideal")
    ax.set_ylim(bottom=0)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
    meta = results.get("meta", {})
    gpus = meta.get("gpus") or []
    fig.suptitle("gpupool scaling%s" % (" — %d× %s" % (len(gpus), gpus[0]) if gpus else " — CPU smoke test"))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    src = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(src))
    with open(src) as f:
        results = json.load(f)
    results["derived"] = derive(results)
    write_markdown(results, os.path.join(out, "scaling-report.md"))
    write_plot(results, os.path.join(out, "scaling.png"))
    print(open(os.path.join(out, "scaling-report.md")).read())


if __name__ == "__main__":
    main()
