"""How keyplane's costs grow: with the number of API keys (one node on SQLite, filler keys
bulk-inserted) and with the number of nodes on one PostgreSQL.

Keys: for each size, a fresh installation gets 1,008 keys through the API and the rest as
filler; then resident memory, the start-up time (from the process's start until the first
/api/v1/validate of a real key answers 200: opening the database and loading the index),
validate throughput against bare axum in short alternating rounds, the API-key list page's p50
and the durable create rate.

Nodes: 1, 2 and 4 keyplane nodes on a fresh PostgreSQL database each, with their default
settings. A revocation's propagation is timed from node 1's answer to the DELETE until every
other node refuses the key on /api/v1/validate (with one node: until node 1 itself refuses
it); then each node's validate throughput while all of them run (the machine's cores are
shared by every node, PostgreSQL and wrk).
"""

import os
import secrets
import shutil
import subprocess
import time
import http.client
import urllib.parse

from common import NO_RATE_LIMIT, Server, bare_server, key_pair, log, request
from load import (LUA_KEY_PAIR, compare, create_script, pair_row, percentile, rotate_script, wrk,
                  write_file, write_lines)
from results import machine, now_utc, spread, target_rows, write_section
from seed import bulk_insert, create_keys

WORKLOADS = ("scaling",)
REAL_KEYS = 1008  # a multiple of create_keys' 16 threads
LIST_PATH = "/api/v2/api_keys?filter=bench-1-&sort=-created_at&page%5Bsize%5D=20"
STARTUP_LIMIT = 1.5  # s per million keys
MEMORY_LIMIT = 150  # MiB per million keys
# Below this the fixed part (an idle process, opening the database) dominates the
# per-million figures, so the targets are judged from here up.
JUDGED_FROM = 1_000_000


def add_arguments(ap):
    ap.add_argument("--scale", default="10000,100000,1000000,5000000",
                    help="scaling: comma-separated API-key counts ('' for none)")
    ap.add_argument("--nodes", default="1,2,4",
                    help="scaling: comma-separated node counts on PostgreSQL ('' for none)")
    ap.add_argument("--scale-seconds", type=int, default=3)
    ap.add_argument("--scale-rounds", type=int, default=2)
    ap.add_argument("--revocations", type=int, default=60,
                    help="scaling: keys revoked per node count (samples per other node)")
    ap.add_argument("--pg-url", default=os.environ.get(
        "KEYPLANE_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="scaling: a PostgreSQL database from which a fresh one is created per run")


def counts(text):
    return [int(v.replace("_", "")) for v in text.split(",") if v.strip()]


def run(args, tmp):
    out = {"keys": [], "nodes": [], "nodes_skipped": None}
    with bare_server(args.baseline_bin) as bare:
        for n in counts(args.scale):
            out["keys"].append(at_scale(args, tmp, bare, n))
        node_counts = counts(args.nodes)
        if node_counts:
            reason = postgres_missing(args.pg_url)
            if reason:
                log(f"scaling: nodes skipped: {reason}")
                out["nodes_skipped"] = reason
            else:
                for k in node_counts:
                    out["nodes"].append(on_postgres(args, tmp, bare, k))
    return out


def startup_seconds(server, key, seconds=600):
    """Launches `server`; how long until `key` validates."""
    started = time.monotonic()
    server.launch()
    deadline = started + seconds
    while time.monotonic() < deadline:
        try:
            status, _ = request(server.port, "GET", "/api/v1/validate", {"DD-API-KEY": key},
                                timeout=5)
            if status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        if server.proc.poll() is not None:
            raise RuntimeError(f"keyplane exited with {server.proc.returncode} at start-up")
        time.sleep(0.005)
    raise RuntimeError("keyplane did not validate a real key in time")


def at_scale(args, tmp, bare, n):
    data = os.path.join(tmp, f"scale-{n}")
    server = Server(args.bin, data, extra=NO_RATE_LIMIT)
    server.start()
    creds = server.creds()
    made = create_keys(server.port, creds, min(REAL_KEYS, n))
    server.stop()
    log(f"scaling: {n:,} keys: bulk-inserting {n - len(made):,} ...")
    started = time.monotonic()
    bulk_insert(data, n - len(made))
    fill_s = time.monotonic() - started
    live = write_lines(os.path.join(tmp, f"scale-{n}-keys.txt"), [k for _, k in made])
    script = rotate_script(os.path.join(tmp, f"scale-{n}-validate.lua"), live,
                           "/api/v1/validate")
    list_script = write_file(os.path.join(tmp, f"scale-{n}-list.lua"), LUA_KEY_PAIR % {
        "api": creds["DD_API_KEY"], "app": creds["DD_APP_KEY"]})
    try:
        startup = startup_seconds(server, made[0][1])
        status, _ = request(server.port, "GET", LIST_PATH, key_pair(creds), timeout=120)
        if status != 200:
            raise RuntimeError(f"scaling: list at {n} keys answered {status}")
        rss_loaded = server.rss_mib()
        s, r = args.scale_seconds, args.scale_rounds
        runs = compare(f"scale {n} validate", [
            ("bare", bare.url("/api/v1/validate"), script),
            ("keyplane", server.url("/api/v1/validate"), script)], s, r, 32)
        validate = pair_row(runs["keyplane"], runs["bare"])
        listing = wrk(server.url(LIST_PATH), s, 8, list_script)
        create = wrk(server.url("/api/v2/api_keys"), s, 16, create_script(tmp, creds)(n))
        rss_after = server.rss_mib()
    finally:
        if server.proc.poll() is None:
            server.stop()
    shutil.rmtree(data, ignore_errors=True)
    row = {"keys": n, "fill_s": fill_s, "startup_s": startup, "rss_loaded": rss_loaded,
           "rss": rss_after, "validate": validate, "list_p50": listing["p50"],
           "list_non2xx": listing["non2xx"], "create_rps": create["rps"],
           "create_non2xx": create["non2xx"]}
    log(f"scaling: {n:,} keys: start-up {startup:.2f} s, {rss_after:.0f} MiB, validate "
        f"{validate['rps_ratio'][0]:.2f} of bare axum, list p50 {listing['p50']:.2f} ms, "
        f"{create['rps']:.0f} creates/s")
    return row


def psql(url, sql):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                          capture_output=True, text=True, timeout=60)


def postgres_missing(url):
    if not shutil.which("psql"):
        return "no psql (apt-get install postgresql-client)"
    done = psql(url, "SELECT 1")
    return None if done.returncode == 0 else f"{url}: {done.stderr.strip()}"


def database_url(base, name):
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def on_postgres(args, tmp, bare, k):
    name = f"keyplane_bench_{secrets.token_hex(4)}"
    done = psql(args.pg_url, f"CREATE DATABASE {name}")
    if done.returncode != 0:
        raise RuntimeError(f"CREATE DATABASE {name}: {done.stderr.strip()}")
    url = database_url(args.pg_url, name)
    nodes = []
    try:
        # The first node creates the organization and the master key the others share.
        first_dir = os.path.join(tmp, f"nodes-{k}", "node-1")
        nodes.append(Server(args.bin, first_dir, extra=NO_RATE_LIMIT + ["--database-url", url]))
        nodes[0].start()
        master = os.path.join(first_dir, "master.key")
        for i in range(2, k + 1):
            nodes.append(Server(args.bin, os.path.join(tmp, f"nodes-{k}", f"node-{i}"),
                                extra=NO_RATE_LIMIT + ["--database-url", url,
                                                       "--master-key-file", master]))
            nodes[-1].start()
        creds = nodes[0].creds()
        live = create_keys(nodes[0].port, creds, 512, prefix="live")
        victims = create_keys(nodes[0].port, creds, args.revocations, threads=1,
                              prefix="victim")
        watchers = nodes[1:] or nodes[:1]
        for _, key in victims:
            for node in watchers:
                wait_status(node.port, key, 200, 30)
        log(f"scaling: {k} node(s): revoking {len(victims)} keys ...")
        delays = revoke(nodes[0], watchers, creds, victims)
        keys_file = write_lines(os.path.join(tmp, f"nodes-{k}-keys.txt"), [v for _, v in live])
        script = rotate_script(os.path.join(tmp, f"nodes-{k}-validate.lua"), keys_file,
                               "/api/v1/validate")
        per_node = []
        for i, node in enumerate(nodes, 1):
            runs = compare(f"{k} node(s), node {i} validate", [
                ("bare", bare.url("/api/v1/validate"), script),
                ("keyplane", node.url("/api/v1/validate"), script)],
                args.scale_seconds, args.scale_rounds, 32)
            per_node.append(pair_row(runs["keyplane"], runs["bare"]))
    finally:
        for node in nodes:
            if node.proc and node.proc.poll() is None:
                node.stop()
        psql(args.pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return {"nodes": k, "samples": len(delays), "p50": percentile(delays, 50),
            "p99": percentile(delays, 99), "max": max(delays), "per_node": per_node}


def wait_status(port, key, want, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, _ = request(port, "GET", "/api/v1/validate", {"DD-API-KEY": key})
        if status == want:
            return
        time.sleep(0.01)
    raise RuntimeError(f"a key did not answer {want} on port {port} within {seconds} s")


def revoke(first, watchers, creds, victims, seconds=30):
    """Milliseconds from each DELETE's answer on `first` until each watcher refuses the key,
    over kept-alive connections polled in turn."""
    admin = http.client.HTTPConnection("127.0.0.1", first.port, timeout=30)
    conns = [http.client.HTTPConnection("127.0.0.1", n.port, timeout=30) for n in watchers]
    delays = []
    for key_id, key in victims:
        admin.request("DELETE", f"/api/v2/api_keys/{key_id}", headers=key_pair(creds))
        resp = admin.getresponse()
        resp.read()
        if resp.status != 204:
            raise RuntimeError(f"DELETE answered {resp.status}")
        deleted = time.perf_counter()
        pending = list(range(len(conns)))
        while pending:
            for i in list(pending):
                conns[i].request("GET", "/api/v1/validate", headers={"DD-API-KEY": key})
                got = conns[i].getresponse()
                got.read()
                if got.status == 403:
                    delays.append((time.perf_counter() - deleted) * 1000)
                    pending.remove(i)
                elif got.status != 200:
                    raise RuntimeError(f"validate of a revoked key answered {got.status}")
            if time.perf_counter() - deleted > seconds:
                raise RuntimeError(f"a revoked key still validated after {seconds} s")
    for conn in [admin] + conns:
        conn.close()
    return delays


def report(args, out):
    lines = [
        "## Scaling",
        "",
        f"Run {now_utc()} by `bash bench/run.sh --only scaling` (alternating rounds "
        f"against bare axum for validate: {args.scale_rounds} of {args.scale_seconds} s; one "
        f"round of {args.scale_seconds} s for the list and the creates; medians).",
        "",
        f"Machine: {machine()}.",
        "",
        "One node on SQLite with its default flags and log level but `--rate-limit 0`; "
        f"{REAL_KEYS:,} API keys made through the API (validate rotates over them), the rest "
        "bulk-inserted. Start-up is from the process's start until the first "
        "`/api/v1/validate` of a real key answers 200; resident memory is read after the "
        "workloads (in parentheses: after start-up and one list, before them). "
        "The list page is the first table's (`filter=bench-1-`, sorted by `-created_at`, 20 "
        "a page), over every key.",
        "",
        "| API keys | resident MiB (just loaded) | MiB per million | start-up s | "
        "s per million | validate / bare axum (spread) | validate req/s | list page p50 ms | "
        "durable creates/s | non-2xx (validate / list / create) | bulk insert s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    checks = []
    for row in out["keys"]:
        m = row["keys"] / 1_000_000
        v = row["validate"]
        lines.append(
            f"| {row['keys']:,} | {row['rss']:.0f} ({row['rss_loaded']:.0f}) | "
            f"{row['rss'] / m:.0f} | {row['startup_s']:.2f} | {row['startup_s'] / m:.2f} | "
            f"{spread(v['rps_ratio'])} | {v['rps']:.0f} | {row['list_p50']:.2f} | "
            f"{row['create_rps']:.0f} | {v['non2xx']} / {row['list_non2xx']} / "
            f"{row['create_non2xx']} | {row['fill_s']:.1f} |")
        if row["keys"] >= JUDGED_FROM:
            checks += [
                (f"start-up at {row['keys']:,} keys (s per million)", row["startup_s"] / m,
                 f"<= {STARTUP_LIMIT}"),
                (f"resident memory at {row['keys']:,} keys (MiB per million)", row["rss"] / m,
                 f"<= {MEMORY_LIMIT}"),
            ]
    if checks:
        lines += ["", f"Targets are judged from {JUDGED_FROM:,} keys up; below, the fixed part "
                  "(an idle process, opening the database) dominates the per-million figures.",
                  ""] + target_rows(checks)
    if out["nodes"] or out["nodes_skipped"]:
        lines += [
            "",
            "Nodes on one PostgreSQL (a fresh database each, default settings but "
            f"`--rate-limit 0`): {args.revocations} keys revoked through node 1, each timed "
            "from node 1's answer to the DELETE until every other node refuses it on "
            "`/api/v1/validate` (one node: until node 1 itself does), one sample per key and "
            "other node; then validate throughput of each node in turn while all run, against "
            "bare axum (all nodes, PostgreSQL and wrk share the machine's cores).",
            "",
        ]
        if out["nodes_skipped"]:
            lines.append(f"Skipped: {out['nodes_skipped']}.")
        else:
            lines += [
                "| nodes | samples | propagation p50 ms | p99 ms | max ms | validate req/s per "
                "node | validate / bare axum per node |",
                "|---|---|---|---|---|---|---|",
            ]
            for row in out["nodes"]:
                lines.append(
                    f"| {row['nodes']} | {row['samples']} | {row['p50']:.2f} | "
                    f"{row['p99']:.2f} | {row['max']:.2f} | "
                    + ", ".join(f"{n['rps']:.0f}" for n in row["per_node"]) + " | "
                    + ", ".join(f"{n['rps_ratio'][0]:.2f}" for n in row["per_node"]) + " |")
    lines.append("")
    text = "\n".join(lines)
    if args.out:
        write_section(args.out, text, "scaling")
    print(text)
