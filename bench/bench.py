#!/usr/bin/env python3
"""keyplane's benchmark: every figure is a ratio to a baseline measured in the same run.

The baseline is bench/baseline, a bare axum server (same axum, hyper and tokio, no
middleware): the most an HTTP server on keyplane's stack can answer. keyplane's own GET /ping
(a static answer through keyplane's whole stack: router, logging, metrics, headers) is a
second reference, so each ratio to bare axum can be split into what the stack costs and what
the route's work costs. Each round runs bare axum, /ping and keyplane once, in that order, so
drift on a shared machine hits all three. Load comes from wrk on loopback; every loop is
bounded in time. keyplane runs with its default flags and log level, but for the rate limit
on management endpoints (see common.NO_RATE_LIMIT).

Setup: 10,000 real API keys and 1,008 client tokens are created through the API (validate
rotates over 9,000 of the keys plus 1,000 unknown keys, i.e. 10 % unknown); 90,000 filler API
keys, 100,000 filler application keys and 98,992 filler client tokens are bulk-inserted into
the SQLite file while the server is stopped. The memory figure comes from a second
installation holding 1,000,000 bulk-inserted API keys.

The intake gate workloads are in gate.py, the scaling table (10k to 5M keys, 1 to 4 nodes on
one PostgreSQL) in scaling.py.
"""

import argparse
import os
import secrets
import sys
import tempfile
import time

import gate
import scaling
from common import NO_RATE_LIMIT, Server, bare_server, key_pair, log, request
from load import (LUA_GET, LUA_KEY_PAIR, compare, create_script, pair_row, ratio, rotate_script,
                  summary, write_file, write_lines)
from results import machine, now_utc, spread, target_rows, write_section
from seed import bulk_insert, create_keys

WORKLOADS = ("validate", "get", "list", "app_key_list", "client_token_list", "create", "memory")
REAL_KEYS = 10_000
FILLER_KEYS = 90_000
# Application keys and client tokens, listed like the API keys. Lists show client tokens in
# full (they are published in web pages), so the listed ones must be real: REAL_TOKENS are
# made through the API and the filter matches only them, as the API-key list's does.
FILLER_OTHERS = 100_000
REAL_TOKENS = 1008
MEMORY_KEYS = 1_000_000
# A filtered, sorted page: the filter matches up to a few thousand names out of 100,000 (the
# API keys made by seeding threads 1 and 10-15; filler 0010000-0019999; the real client
# tokens), so every row's name is checked and the matches sorted.
LIST_QUERY = "filter=%s&sort=-created_at&page%%5Bsize%%5D=20"
LISTS = {
    "list": "/api/v2/api_keys?" + LIST_QUERY % "bench-1-",
    "app_key_list": "/api/v2/application_keys?" + LIST_QUERY % "filler-001",
    "client_token_list": "/api/v2/client_tokens?" + LIST_QUERY % "token-",
}


def seed(args, tmp):
    """The installation every workload here and in gate.py uses; returns (data dir,
    credentials, the real keys [(id, key)], creates/s while seeding)."""
    data = os.path.join(tmp, "data")
    server = Server(args.bin, data, extra=NO_RATE_LIMIT)
    server.start()
    creds = server.creds()
    log(f"creating {REAL_KEYS} keys through the API ...")
    started = time.time()
    made = create_keys(server.port, creds, REAL_KEYS)
    seed_rate = len(made) / (time.time() - started)
    tokens = create_keys(server.port, creds, REAL_TOKENS, prefix="token",
                         resource="client_tokens")
    server.stop()
    log(f"bulk-inserting {FILLER_KEYS} API keys, {FILLER_OTHERS} application keys and "
        f"{FILLER_OTHERS - len(tokens)} client tokens ...")
    bulk_insert(data, FILLER_KEYS, "api_keys")
    bulk_insert(data, FILLER_OTHERS, "application_keys")
    bulk_insert(data, FILLER_OTHERS - len(tokens), "client_tokens")
    return data, creds, made, seed_rate


def write_scripts(tmp, creds, made):
    """The wrk scripts of the first table (validate's is the gate section's too)."""
    keys_file = write_lines(os.path.join(tmp, "keys.txt"),
                            [key for _, key in made[:9000]] +
                            [secrets.token_hex(16) for _ in range(1000)])
    ids_file = write_lines(os.path.join(tmp, "ids.txt"), [key_id for key_id, _ in made[:1000]])
    pair = {"api": creds["DD_API_KEY"], "app": creds["DD_APP_KEY"]}
    return {
        "validate": rotate_script(os.path.join(tmp, "validate.lua"), keys_file,
                                  "/api/v1/validate"),
        "get": write_file(os.path.join(tmp, "get.lua"), LUA_GET % {"file": ids_file, **pair}),
        "list": write_file(os.path.join(tmp, "list.lua"), LUA_KEY_PAIR % pair),
    }


def run_workloads(args, only, tmp, data, creds, scripts):
    """The first table: each workload against bare axum and keyplane's /ping."""
    # (path, script, connections); the list paths carry their query.
    plans = {
        "validate": ("/api/v1/validate", scripts["validate"], 32),
        "get": ("/", scripts["get"], 32),
        "create": ("/api/v2/api_keys", create_script(tmp, creds), 16),
    }
    plans.update({name: (path, scripts["list"], 8) for name, path in LISTS.items()})
    results = {}
    server = Server(args.bin, data, extra=NO_RATE_LIMIT)
    server.start()
    try:
        for name, path in LISTS.items():
            status, body = request(server.port, "GET", path, key_pair(creds), timeout=60)
            if status != 200:
                raise RuntimeError(f"{name}: {path} answered {status} {body[:200]}")
        with bare_server(args.baseline_bin) as bare:
            for name in (n for n in WORKLOADS if n in only and n in plans):
                path, script, connections = plans[name]
                runs = compare(name, [("bare", bare.url(path), script),
                                      ("ping", server.url("/ping"), None),
                                      ("keyplane", server.url(path), script)],
                               args.seconds, args.rounds, connections)
                row = pair_row(runs["keyplane"], runs["bare"])
                row["ping"] = summary(runs["ping"])
                row["ping_ratio"] = ratio(runs["keyplane"], runs["ping"])
                results[name] = row
        rss_100k = server.rss_mib()
    finally:
        server.stop()
    return results, rss_100k


def measure_memory(binary, tmp):
    """Resident memory of an idle installation, then of one holding MEMORY_KEYS keys, after a
    list over all of them (so the list index is built and touched too)."""
    log(f"memory: bulk-inserting {MEMORY_KEYS} keys ...")
    mem_dir = os.path.join(tmp, "memory")
    mem = Server(binary, mem_dir, extra=NO_RATE_LIMIT)
    mem.start()
    idle = mem.rss_mib()
    mem.stop()
    bulk_insert(mem_dir, MEMORY_KEYS)
    mem.start()
    try:
        status, _ = request(mem.port, "GET", "/api/v2/api_keys?filter=filler-00&sort=name",
                            key_pair(mem.creds()), timeout=60)
        if status != 200:
            raise RuntimeError(f"list over {MEMORY_KEYS} keys failed: {status}")
        return idle, mem.rss_mib()
    finally:
        mem.stop()


LABELS = {
    "validate": "`/api/v1/validate`, 10,000 keys, 10 % unknown",
    "get": "authenticated `GET /api/v2/api_keys/{id}`",
    "list": "filtered, sorted API-key list page (100,000 keys)",
    "app_key_list": "filtered, sorted application-key list page (100,000 keys)",
    "client_token_list": "filtered, sorted client-token list page (100,000 tokens)",
    "create": "durable `POST /api/v2/api_keys`",
}


def report(args, results, memory, rss_100k, seed_rate):
    rows = {
        "validate": lambda v: [
            ("validate throughput / bare axum", v["rps_ratio"][0], ">= 0.90"),
            ("validate p99 / bare axum p99", v["p99_ratio"][0], "<= 1.5")],
        "get": lambda g: [
            ("authenticated GET throughput / bare axum", g["rps_ratio"][0], ">= 0.80")],
        "list": lambda l: [("API-key list page p50 at 100,000 keys (ms)", l["p50"], "<= 10")],
        "app_key_list": lambda l: [
            ("application-key list page p50 at 100,000 keys (ms)", l["p50"], "<= 10")],
        "client_token_list": lambda l: [
            ("client-token list page p50 at 100,000 tokens (ms)", l["p50"], "<= 10")],
        "create": lambda c: [("durable creates per second (SQLite)", c["rps"], ">= 1000")],
    }
    checks = [c for name, row in results.items() for c in rows[name](row)]
    if memory:
        checks.append((f"resident memory with {MEMORY_KEYS:,} API keys (MiB)", memory[1],
                       "<= 150"))
    lines = [
        "# keyplane benchmark results",
        "",
        f"Run {now_utc()} by `bench/run.sh` ({args.rounds} alternating rounds of "
        f"{args.seconds} s, each round bare axum, keyplane's `/ping`, keyplane; medians; a "
        "ratio is the median of the ratios within each round, the spread is their "
        "lowest–highest).",
        "",
        f"Machine: {machine()}.",
        "",
        "keyplane runs with its default flags and log level but `--rate-limit 0` (the "
        "management routes would answer 429 to one client at these rates; validate is never "
        "rate limited). Bare axum is `bench/baseline` answering the same requests with static "
        "JSON; `/ping` is keyplane's whole HTTP stack without a route's work.",
        "",
        "| workload | keyplane req/s | p50 ms | p99 ms | bare axum req/s | bare axum p99 ms | "
        "`/ping` req/s | throughput / bare axum (spread) | p99 / bare axum | "
        "throughput / `/ping` (spread) | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k, row in results.items():
        lines.append(f"| {LABELS[k]} | {row['rps']:.0f} | {row['p50']:.2f} | {row['p99']:.2f} | "
                     f"{row['base_rps']:.0f} | {row['base_p99']:.2f} | {row['ping']['rps']:.0f} "
                     f"| {spread(row['rps_ratio'])} | {row['p99_ratio'][0]:.2f} | "
                     f"{spread(row['ping_ratio'])} | {row['non2xx']} |")
    lines += [""] + target_rows(checks)
    lines += ["", f"Resident memory with 100,000 keys of each kind after the load: "
              f"{rss_100k:.0f} MiB. Seeding through the API ran at {seed_rate:.0f} creates/s "
              "(16 clients)."]
    if memory:
        lines[-1] += (f" Idle: {memory[0]:.0f} MiB; with {MEMORY_KEYS:,} keys cached and listed: "
                      f"{memory[1]:.0f} MiB.")
    lines.append("")
    text = "\n".join(lines)
    complete = len(results) == len(WORKLOADS) - 1 and memory is not None
    if args.out and complete:
        write_section(args.out, text, "main")
    elif args.out:
        log(f"not writing the first section of {args.out}: only {sorted(results)} ran")
    print(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--baseline-bin", required=True, help="bench/baseline's binary")
    ap.add_argument("--out", help="write the results here (a section when all of it ran)")
    every = WORKLOADS + gate.WORKLOADS + scaling.WORKLOADS
    ap.add_argument("--only", default=",".join(every),
                    help="comma-separated subset of " + ",".join(every) + " (for quick checks)")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    scaling.add_arguments(ap)
    args = ap.parse_args()
    only = set(args.only.split(","))
    unknown = only - set(every)
    if unknown:
        ap.error(f"unknown workloads: {sorted(unknown)}")

    with tempfile.TemporaryDirectory() as tmp:
        results, rss_100k, seed_rate, gate_rows, memory = {}, None, None, {}, None
        if only & (set(WORKLOADS + gate.WORKLOADS) - {"memory"}):
            data, creds, made, seed_rate = seed(args, tmp)
            scripts = write_scripts(tmp, creds, made)
            if only & set(WORKLOADS):
                results, rss_100k = run_workloads(args, only, tmp, data, creds, scripts)
            if only & set(gate.WORKLOADS):
                gate_rows = gate.run_gate(args, only, tmp, data, made, scripts["validate"])
        if "memory" in only:
            memory = measure_memory(args.bin, tmp)
        if results or memory:
            report(args, results, memory, rss_100k or float("nan"), seed_rate or float("nan"))
        if gate_rows:
            gate.report_gate(args, gate_rows)
        if "scaling" in only:
            scaling.report(args, scaling.run(args, tmp))


if __name__ == "__main__":
    sys.exit(main())
