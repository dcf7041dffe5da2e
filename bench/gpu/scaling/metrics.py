"""From batch-log rows to the numbers of the report, the same way for every method.

Per worker w, rows are (start, end, items, cost). Let s_w be its first start and e_w its last end.
- makespan: max e_w - min s_w (model loading is not in it: it starts at the first batch);
- steady window: [max s_w, min e_w], the time when every card had started and none had run out
  of work; throughput is the work done inside it (each batch counted by the share of its time
  inside) over its length. Gaps between batches (orchestration) count as time without work;
- ideal makespan: every card working at the direct loop's per-card rate r from the moment its
  worker started, until the total cost W is done: solve sum_w r * max(0, t - s_w) = W.
"""


def by_worker_summary(workers):
    """workers: list of row lists (one per worker; empty lists are workers that did nothing)."""
    active = [rows for rows in workers if rows]
    if not active:
        return None
    starts = [min(r[0] for r in rows) for rows in active]
    ends = [max(r[1] for r in rows) for rows in active]
    first, last = min(starts), max(ends)
    items = sum(r[2] for rows in active for r in rows)
    cost = sum(r[3] for rows in active for r in rows)
    w0, w1 = max(starts), min(ends)
    if w1 - w0 < max(0.5, 0.2 * (last - first)):  # too short to mean anything: use the whole span
        w0, w1 = first, last
    span = max(w1 - w0, 1e-9)
    win_items = win_cost = busy = 0.0
    for rows in active:
        for t0, t1, n, c in rows:
            d = t1 - t0
            overlap = min(t1, w1) - max(t0, w0)
            if d <= 0:
                share = 1.0 if w0 <= t0 <= w1 else 0.0
            else:
                share = max(0.0, overlap) / d
            win_items += n * share
            win_cost += c * share
            busy += max(0.0, overlap)
    makespan = max(last - first, 1e-9)
    return {
        "workers": len(active),
        "items": items,
        "cost": cost,
        "batches": sum(len(rows) for rows in active),
        "first_start": first,
        "last_end": last,
        "start_spread_s": max(starts) - first,
        "makespan_s": makespan,
        "window_s": span,
        "items_per_s": win_items / span,
        "cost_per_s": win_cost / span,
        "items_per_s_makespan": items / makespan,
        # Share of the window the workers spent inside predict/the timed loop: 1 - orchestration gaps.
        "in_batch_fraction": busy / (span * len(active)),
        "worker_starts": starts,
    }


def ideal_makespan(total_cost, per_card_rate, starts):
    """Time from min(starts) until total_cost is done by cards at per_card_rate, each from its start."""
    if not starts or per_card_rate <= 0:
        return None
    s = sorted(starts)
    done_rate, t = 0.0, s[0]
    remaining = float(total_cost)
    for k, start in enumerate(s):
        # between t and start, k cards work
        if k > 0:
            can = done_rate * (start - t)
            if can >= remaining:
                return t + remaining / done_rate - s[0]
            remaining -= can
            t = start
        done_rate += per_card_rate
    return t + remaining / done_rate - s[0]


def gpu_util(samples, cards, t0, t1):
    """Mean NVML utilisation (%) of the first `cards` cards over [t0, t1], and per card."""
    rows = [s[1] for s in samples if t0 <= s[0] <= t1 and s[1]]
    if not rows:
        return None, None
    per = []
    for c in range(cards):
        vals = [r[c] for r in rows if c < len(r) and r[c] is not None]
        per.append(sum(vals) / len(vals) if vals else None)
    known = [p for p in per if p is not None]
    return (sum(known) / len(known) if known else None), per


def peak_rss(samples, t0, t1):
    """(peak RSS of the root process, peak RSS of its tree) over [t0, t1], bytes."""
    rows = [s for s in samples if t0 <= s[0] <= t1 and s[3] is not None]
    if not rows:
        return None, None
    return max(s[2] for s in rows), max(s[3] for s in rows)


def cpu_cores(samples, t0, t1):
    """(cores the root process kept busy, cores its descendants kept busy) between t0 and t1,
    from the first and last samples inside: 1.0 is one core all the time. A process that
    exits inside the window takes its CPU time along, so the descendants' figure is a floor."""
    rows = [s for s in samples if t0 <= s[0] <= t1 and len(s) > 5 and s[4] is not None]
    if len(rows) < 2 or rows[-1][0] <= rows[0][0]:
        return None, None
    dt = rows[-1][0] - rows[0][0]
    return (rows[-1][4] - rows[0][4]) / dt, (rows[-1][5] - rows[0][5]) / dt
