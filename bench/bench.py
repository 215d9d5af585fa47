#!/usr/bin/env python3
"""keyplane's benchmark: every figure is a ratio to a baseline measured in the same run.

The baseline is GET /ping, a static answer through the same HTTP stack (router, logging,
metrics, headers). Rounds alternate baseline and keyplane so drift on a shared machine hits
both. Load comes from wrk on loopback; every loop is bounded in time.

Setup: 10,000 real API keys are created through the API (validate rotates over 9,000 of
them plus 1,000 unknown keys, i.e. 10 % unknown); 90,000 filler keys are bulk-inserted into
the SQLite file while the server is stopped, for 100,000 keys in all. The memory figure
comes from a second installation holding 1,000,000 bulk-inserted keys.
"""

import argparse
import http.client
import json
import os
import platform
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

WORKLOADS = ("validate", "get", "list", "create", "memory")
REAL_KEYS = 10_000
FILLER_KEYS = 90_000
MEMORY_KEYS = 1_000_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, data_dir, max_keys):
        self.binary, self.data_dir, self.max_keys = binary, data_dir, max_keys
        self.proc = None
        self.port = None

    def start(self):
        self.port = free_port()
        env = dict(os.environ, RUST_LOG="warn")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", self.data_dir, "--max-api-keys-per-org", str(self.max_keys),
             # The load generator is one source sending thousands of requests per second,
             # 10 % of them with unknown keys: abuse limits would measure themselves.
             "--rate-limit", "0", "--auth-failures-before-delay", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/ping")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("keyplane did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def creds(self):
        values = {}
        with open(os.path.join(self.data_dir, "initial-credentials")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                values[k] = v
        return values


def create_keys(port, creds, count, threads=16):
    """Creates `count` keys through the API; returns [(id, key)]."""
    made, lock = [], threading.Lock()
    per_thread = count // threads

    def work(t):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(per_thread):
            body = json.dumps({"data": {"type": "api_keys",
                                        "attributes": {"name": f"bench-{t}-{i}"}}})
            conn.request("POST", "/api/v2/api_keys", body, {
                "Content-Type": "application/json",
                "DD-API-KEY": creds["DD_API_KEY"], "DD-APPLICATION-KEY": creds["DD_APP_KEY"]})
            resp = conn.getresponse()
            data = json.loads(resp.read())
            if resp.status != 201:
                raise RuntimeError(f"create failed: {resp.status} {data}")
            with lock:
                made.append((data["data"]["id"], data["data"]["attributes"]["key"]))

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return made


def bulk_insert(data_dir, count):
    """Filler keys straight into the SQLite file (server stopped): indexable, never usable."""
    db = sqlite3.connect(os.path.join(data_dir, "keyplane.db"))
    org_id, admin = db.execute("SELECT org_id, id FROM users LIMIT 1").fetchone()
    now = int(time.time() * 1_000_000)
    rows = ((str(uuid.uuid4()), org_id, f"filler-{i:07d}", f"filler-{i:07d}",
             secrets.token_bytes(32), secrets.token_bytes(60), "fill", "default", 1,
             admin, admin, now + i, now + i) for i in range(count))
    db.executemany(
        "INSERT INTO api_keys (id, org_id, name, name_folded, digest, sealed_key, last4, "
        "category, remote_config_read_enabled, created_by, modified_by, created_at, "
        "modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute("UPDATE orgs SET api_key_count = (SELECT COUNT(*) FROM api_keys WHERE org_id = ?) "
               "WHERE id = ?", (org_id, org_id))
    db.commit()
    db.close()


LUA_ROTATE = """
keys = {}
for line in io.lines("%(file)s") do keys[#keys + 1] = line end
i = 0
request = function()
  i = i %% #keys + 1
  return wrk.format("GET", "%(path)s", { ["%(header)s"] = keys[i] })
end
"""

LUA_GET = """
ids = {}
for line in io.lines("%(file)s") do ids[#ids + 1] = line end
i = 0
wrk.headers["DD-API-KEY"] = "%(api)s"
wrk.headers["DD-APPLICATION-KEY"] = "%(app)s"
request = function()
  i = i %% #ids + 1
  return wrk.format("GET", "/api/v2/api_keys/" .. ids[i])
end
"""

LUA_LIST = """
wrk.headers["DD-API-KEY"] = "%(api)s"
wrk.headers["DD-APPLICATION-KEY"] = "%(app)s"
"""

LUA_CREATE = """
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["DD-API-KEY"] = "%(api)s"
wrk.headers["DD-APPLICATION-KEY"] = "%(app)s"
thread_no = 0
function setup(thread) thread_no = thread_no + 1; thread:set("tid", thread_no) end
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil,
    '{"data":{"type":"api_keys","attributes":{"name":"c-%(round)s-' .. tid .. '-' .. counter .. '"}}}')
end
"""


def unit_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, seconds, connections, script=None):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))

    def ms(text):
        m = re.match(r"([\d.]+)(us|ms|s)$", text)
        return unit_ms(m.group(1), m.group(2))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": ms(lat["50"]), "p99": ms(lat["99"]),
            "non2xx": int(errors.group(1)) if errors else 0}


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def measure(name, base_url, target_url, script, seconds, rounds, connections):
    """`script` is a path, or a function of the round number returning one."""
    base, ours = [], []
    for r in range(rounds):
        base.append(wrk(base_url, seconds, connections))
        path = script(r) if callable(script) else script
        ours.append(wrk(target_url, seconds, connections, path))
        print(f"  {name} round {r + 1}: baseline {base[-1]['rps']:.0f}/s, "
              f"keyplane {ours[-1]['rps']:.0f}/s", file=sys.stderr)
    pick = lambda runs, k: median([run[k] for run in runs])
    row = {k: pick(ours, k) for k in ("rps", "p50", "p99")}
    row.update({f"base_{k}": pick(base, k) for k in ("rps", "p50", "p99")})
    # Ratios are taken within each pair of neighbouring rounds, then the median: drift on a
    # shared machine moves both rounds of a pair together.
    row["rps_ratio"] = median([o["rps"] / b["rps"] for o, b in zip(ours, base)])
    row["p99_ratio"] = median([o["p99"] / b["p99"] for o, b in zip(ours, base)])
    row["non2xx"] = sum(run["non2xx"] for run in ours)
    return row


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024 // 1024
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({model}), {mem} GiB, {platform.system()} "
            f"{platform.release()}, {rustc}, wrk -t2 on loopback")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", help="write the results here (only when every workload ran)")
    ap.add_argument("--only", default=",".join(WORKLOADS),
                    help="comma-separated subset of " + ",".join(WORKLOADS) + " (for quick checks)")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    only = set(args.only.split(","))
    unknown = only - set(WORKLOADS)
    if unknown:
        ap.error(f"unknown workloads: {sorted(unknown)}")

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        server = Server(args.bin, data, 2_000_000)
        server.start()
        creds = server.creds()
        print(f"creating {REAL_KEYS} keys through the API ...", file=sys.stderr)
        started = time.time()
        made = create_keys(server.port, creds, REAL_KEYS)
        seed_rate = len(made) / (time.time() - started)
        server.stop()
        print(f"bulk-inserting {FILLER_KEYS} filler keys ...", file=sys.stderr)
        bulk_insert(data, FILLER_KEYS)
        server.start()
        base = f"http://127.0.0.1:{server.port}"
        keys_file = os.path.join(tmp, "keys.txt")
        with open(keys_file, "w") as f:
            for _, key in made[:9000]:
                f.write(key + "\n")
            for _ in range(1000):
                f.write(secrets.token_hex(16) + "\n")
        ids_file = os.path.join(tmp, "ids.txt")
        with open(ids_file, "w") as f:
            for key_id, _ in made[:1000]:
                f.write(key_id + "\n")
        scripts = {}
        for name, text in [
            ("validate", LUA_ROTATE % {"file": keys_file, "path": "/api/v1/validate",
                                       "header": "DD-API-KEY"}),
            ("get", LUA_GET % {"file": ids_file, "api": creds["DD_API_KEY"],
                               "app": creds["DD_APP_KEY"]}),
            ("list", LUA_LIST % {"api": creds["DD_API_KEY"], "app": creds["DD_APP_KEY"]}),
        ]:
            scripts[name] = os.path.join(tmp, f"{name}.lua")
            with open(scripts[name], "w") as f:
                f.write(text)
        def create_script(round_no):
            # Names must be new in every round: wrk restarts its Lua state each time.
            path = os.path.join(tmp, f"create-{round_no}.lua")
            with open(path, "w") as f:
                f.write(LUA_CREATE % {"api": creds["DD_API_KEY"], "app": creds["DD_APP_KEY"],
                                      "round": uuid.uuid4().hex[:8]})
            return path

        ping = base + "/ping"
        s, r = args.seconds, args.rounds
        plans = {
            "validate": lambda: measure("validate", ping, base + "/api/v1/validate",
                                        scripts["validate"], s, r, 32),
            "get": lambda: measure("get", ping, base, scripts["get"], s, r, 32),
            "list": lambda: measure("list", ping, base + "/api/v2/api_keys?filter=bench-1-"
                                    "&sort=-created_at&page%5Bsize%5D=20", scripts["list"], s, r, 8),
            "create": lambda: measure("create", ping, base + "/api/v2/api_keys", create_script,
                                      s, r, 16),
        }
        results = {name: plan() for name, plan in plans.items() if name in only}
        rss_100k = server.rss_mib()
        server.stop()

        memory = None
        if "memory" in only:
            memory = measure_memory(args.bin, tmp)

    report(args, results, memory, rss_100k, seed_rate)


def measure_memory(binary, tmp):
    """Resident memory of an idle installation, then of one holding MEMORY_KEYS keys, after a
    list over all of them (so the list index is built and touched too)."""
    print(f"memory: bulk-inserting {MEMORY_KEYS} keys ...", file=sys.stderr)
    mem_dir = os.path.join(tmp, "memory")
    mem = Server(binary, mem_dir, 2_000_000)
    mem.start()
    idle = mem.rss_mib()
    mem.stop()
    bulk_insert(mem_dir, MEMORY_KEYS)
    mem.start()
    creds = mem.creds()
    conn = http.client.HTTPConnection("127.0.0.1", mem.port, timeout=60)
    conn.request("GET", "/api/v2/api_keys?filter=filler-00&sort=name", headers={
        "DD-API-KEY": creds["DD_API_KEY"], "DD-APPLICATION-KEY": creds["DD_APP_KEY"]})
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        raise RuntimeError(f"list over {MEMORY_KEYS} keys failed: {resp.status}")
    rss_1m = mem.rss_mib()
    mem.stop()
    return idle, rss_1m


def report(args, results, memory, rss_100k, seed_rate):
    rows = {
        "validate": lambda v: [
            ("validate throughput / baseline", v["rps_ratio"], ">= 0.90"),
            ("validate p99 / baseline p99", v["p99_ratio"], "<= 2.0")],
        "get": lambda g: [
            ("authenticated GET throughput / baseline", g["rps_ratio"], ">= 0.70")],
        "list": lambda l: [("list page p50 at 100,000 keys (ms)", l["p50"], "<= 10")],
        "create": lambda c: [("durable creates per second (SQLite)", c["rps"], ">= 1000")],
    }
    checks = [c for name, row in results.items() for c in rows[name](row)]
    if memory:
        checks.append(("resident memory with 1,000,000 keys (MiB)", memory[1], "<= 300"))

    def met(value, rule):
        op, bound = rule.split()
        return value >= float(bound) if op == ">=" else value <= float(bound)

    lines = [
        "# keyplane benchmark results",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/run.sh` "
        f"({args.rounds} alternating rounds of {args.seconds} s; medians; ratios are medians of "
        "the ratio within each baseline/keyplane pair of rounds).",
        "",
        f"Machine: {machine()}.",
        "",
        "| workload | keyplane req/s | p50 ms | p99 ms | baseline req/s | baseline p50 ms | baseline p99 ms | throughput ratio | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    labels = {"validate": "`/api/v1/validate`, 10,000 keys, 10 % unknown",
              "get": "authenticated `GET /api/v2/api_keys/{id}`",
              "list": "filtered, sorted list page (100,000 keys)",
              "create": "durable `POST /api/v2/api_keys`"}
    for k, row in results.items():
        lines.append(f"| {labels[k]} | {row['rps']:.0f} | {row['p50']:.2f} | {row['p99']:.2f} | "
                     f"{row['base_rps']:.0f} | {row['base_p50']:.2f} | {row['base_p99']:.2f} | "
                     f"{row['rps_ratio']:.2f} | {row['non2xx']} |")
    lines += ["", "| target | measured | goal | met |", "|---|---|---|---|"]
    for label, value, rule in checks:
        lines.append(f"| {label} | {value:.2f} | {rule} | {'yes' if met(value, rule) else 'NO'} |")
    lines += ["", f"Resident memory with 100,000 keys after the load: {rss_100k:.0f} MiB. "
              f"Seeding through the API ran at {seed_rate:.0f} creates/s (16 clients)."]
    if memory:
        lines[-1] += (f" Idle: {memory[0]:.0f} MiB; with {MEMORY_KEYS:,} keys cached and listed: "
                      f"{memory[1]:.0f} MiB.")
    lines.append("")
    text = "\n".join(lines)
    complete = len(results) == 4 and memory is not None
    if args.out and complete:
        with open(args.out, "w") as f:
            f.write(text)
    elif args.out:
        print(f"not writing {args.out}: only {sorted(results)} ran", file=sys.stderr)
    print(text)


if __name__ == "__main__":
    main()
