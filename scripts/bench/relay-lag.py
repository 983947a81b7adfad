#!/usr/bin/env python3
"""Samples the order-service's outbox relay while a load runs: every 100 ms, its
relay_lag_seconds, relay_lag_rows and relay_events_total from /metrics. On SIGTERM (or SIGINT)
prints the lag's p50/p95/max and the events relayed per second over the run. Usage:
relay-lag.py http://127.0.0.1:PORT/metrics"""
import signal, sys, time, urllib.request

url = sys.argv[1]
lags, rows, first, last = [], [], None, None
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def read():
    text = urllib.request.urlopen(url, timeout=2).read().decode()
    lag = rows_ = total = 0.0
    for line in text.splitlines():
        if line.startswith("relay_lag_seconds"):
            lag = float(line.rsplit(" ", 1)[1])
        elif line.startswith("relay_lag_rows"):
            rows_ = float(line.rsplit(" ", 1)[1])
        elif line.startswith("relay_events_total"):
            total += float(line.rsplit(" ", 1)[1])
    return lag, rows_, total


while running:
    try:
        lag, r, total = read()
        now = time.monotonic()
        lags.append(lag)
        rows.append(r)
        first = first or (now, total)
        last = (now, total)
    except Exception:
        pass
    time.sleep(0.1)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else 0.0


rate = (last[1] - first[1]) / (last[0] - first[0]) if first and last and last[0] > first[0] else 0.0
print(
    f"relay: lag p50 {pct(lags, 50):.2f} s, p95 {pct(lags, 95):.2f} s, max {max(lags or [0]):.2f} s; "
    f"rows behind p95 {pct(rows, 95):.0f}; relayed {rate:.0f} events/s ({len(lags)} samples)"
)
