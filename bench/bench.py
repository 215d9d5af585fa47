#!/usr/bin/env python3
"""keyplane's benchmark: every figure is a ratio to a baseline measured in the same run.

The baseline of the first workloads is GET /ping, a static answer through the same HTTP stack
(router, logging, metrics, headers). Rounds alternate baseline and keyplane so drift on a
shared machine hits both. Load comes from wrk on loopback; every loop is bounded in time.

The intake gate workloads (gate_nginx, gate_haproxy) and validate_bare run keyplane with its
default flags and log level, against bench/baseline, a bare axum server (same axum, hyper and
tokio, no middleware): gate_nginx puts nginx auth_request in front of a static backend and
compares keyplane's /intake/authorize with the bare server's static one in its place;
gate_haproxy compares HAProxy checking keys in the map keyplane keeps (deploy/haproxy) with
plain HAProxy proxying to the same backend; validate_bare compares /api/v1/validate and /ping
with the bare server's static JSON.

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
GATE_WORKLOADS = ("gate_nginx", "gate_haproxy", "validate_bare")
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
REAL_KEYS = 10_000
FILLER_KEYS = 90_000
MEMORY_KEYS = 1_000_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, path, what, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


class Server:
    """keyplane. `defaults`: its default flags and log level (only the data directory, the
    listener and the per-organization key cap are set), plus `extra` arguments."""

    def __init__(self, binary, data_dir, max_keys, defaults=False, extra=(), port=None):
        self.binary, self.data_dir, self.max_keys = binary, data_dir, max_keys
        self.defaults, self.extra, self.fixed_port = defaults, list(extra), port
        self.proc = None
        self.port = None

    def start(self):
        self.port = self.fixed_port or free_port()
        args = [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", self.data_dir, "--max-api-keys-per-org", str(self.max_keys)]
        env = dict(os.environ)
        if self.defaults:
            env.pop("RUST_LOG", None)
        else:
            env["RUST_LOG"] = "warn"
            # The load generator is one source sending thousands of requests per second,
            # 10 % of them with unknown keys: abuse limits would measure themselves.
            args += ["--rate-limit", "0", "--auth-failure-burst", "0"]
        self.proc = subprocess.Popen(args + self.extra, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=env)
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


class Process:
    """A helper process (bare axum, nginx, HAProxy) stopped at the end of its `with`."""

    def __init__(self, args, port, what, path="/"):
        self.args, self.port, self.what, self.path = args, port, what, path
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_http(self.port, self.path, self.what)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def bare_server(binary, keyplane_headers=False):
    port = free_port()
    extra = ["--keyplane-headers"] if keyplane_headers else []
    return Process([binary, f"127.0.0.1:{port}"] + extra, port, "the bare axum server")


def nginx(tmp, name, auth_port, backend_port):
    prefix = os.path.join(tmp, name)
    os.makedirs(prefix, exist_ok=True)
    port = free_port()
    with open(os.path.join(BENCH_DIR, "nginx.conf")) as f:
        text = f.read()
    for k, v in {"PREFIX": prefix, "LISTEN_ADDR": f"127.0.0.1:{port}",
                 "AUTH_ADDR": f"127.0.0.1:{auth_port}",
                 "BACKEND_ADDR": f"127.0.0.1:{backend_port}"}.items():
        text = text.replace(k, v)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(text)
    return Process(["nginx", "-p", prefix, "-c", conf], port, f"nginx ({name})")


def haproxy_config(tmp, name, backend_port, keyplane_port, plain=False, no_map=False):
    """deploy/haproxy/haproxy.cfg with its placeholders filled in; `plain`: the same frontend
    and backend with every keyplane line left out (a pass-through proxy); `no_map`: every rule
    kept but the digest and map lookup, replaced by a constant tenant (what the rest costs)."""
    prefix = os.path.join(tmp, name)
    os.makedirs(prefix, exist_ok=True)
    port = free_port()
    socket_path, map_path = os.path.join(prefix, "admin.sock"), os.path.join(prefix, "kp.map")
    with open(os.path.join(REPO_DIR, "deploy", "haproxy", "haproxy.cfg")) as f:
        text = f.read()
    for k, v in {"@LISTEN_ADDR@": f"127.0.0.1:{port}",
                 "@BACKEND_ADDR@": f"127.0.0.1:{backend_port}",
                 "@KEYPLANE_ADDR@": f"127.0.0.1:{keyplane_port}",
                 "@ADMIN_SOCKET@": socket_path, "@MAP_FILE@": map_path}.items():
        text = text.replace(k, v)
    if no_map:
        text, n = re.subn(r"var\(txn\.kp_key\),sha2\(256\),hex,lower,map\([^)]*\)",
                          "str(00000000-0000-4000-8000-000000000001)", text)
        if n != 1:
            raise RuntimeError("deploy/haproxy/haproxy.cfg: the map lookup was not found")
    if plain:
        keep, section = [], None
        for line in text.splitlines():
            stripped = line.strip()
            if line and not line[0].isspace():
                section = stripped
            if section and section.startswith("frontend") and (not line or line[:1].isspace()) and \
                    not stripped.startswith(("bind", "default_backend")):
                continue
            keep.append(line)
        text = "\n".join(keep) + "\n"
    conf = os.path.join(prefix, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write(text)
    return conf, port, socket_path, map_path


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


def measure(name, base_url, target_url, script, seconds, rounds, connections,
            base_script=None):
    """`script` is a path, or a function of the round number returning one."""
    base, ours = [], []
    for r in range(rounds):
        base.append(wrk(base_url, seconds, connections, base_script))
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
    row["base_non2xx"] = sum(run["non2xx"] for run in base)
    row["rps_ratios"] = sorted(o["rps"] / b["rps"] for o, b in zip(ours, base))
    row["p99_ratios"] = sorted(o["p99"] / b["p99"] for o, b in zip(ours, base))
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
    ap.add_argument("--baseline-bin",
                    help="bench/baseline's binary (needed by " + ",".join(GATE_WORKLOADS) + ")")
    ap.add_argument("--out", help="write the results here (only when every workload ran)")
    every = WORKLOADS + GATE_WORKLOADS
    ap.add_argument("--only", default=",".join(every),
                    help="comma-separated subset of " + ",".join(every) + " (for quick checks)")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    only = set(args.only.split(","))
    unknown = only - set(every)
    if unknown:
        ap.error(f"unknown workloads: {sorted(unknown)}")
    if only & set(GATE_WORKLOADS) and not args.baseline_bin:
        ap.error("--baseline-bin is needed by " + ",".join(sorted(only & set(GATE_WORKLOADS))))

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

        gate = {}
        if only & set(GATE_WORKLOADS):
            gate = run_gate(args, only, tmp, data, made, scripts["validate"])

        memory = None
        if "memory" in only:
            memory = measure_memory(args.bin, tmp)

    if results or memory:
        report(args, results, memory, rss_100k, seed_rate)
    if gate:
        report_gate(args, gate)


def http_status(port, path, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def check_gate(port, what, live_key):
    """The proxy lets a live key through and refuses an unknown one, so the figures measure
    a working gate (a 403 or 500 answered fast would flatter it)."""
    for key, want in ((live_key, 200), (secrets.token_hex(16), 403)):
        deadline = time.time() + 10
        got = http_status(port, "/api/v2/series", {"DD-API-KEY": key})
        while got != want and time.time() < deadline:
            time.sleep(0.2)
            got = http_status(port, "/api/v2/series", {"DD-API-KEY": key})
        if got != want:
            raise RuntimeError(f"{what}: {'live' if want == 200 else 'unknown'} key answered "
                               f"{got}, not {want}")


def run_gate(args, only, tmp, data, made, validate_script):
    """The intake gate and the bare-axum baseline, keyplane with its default flags."""
    live_file = os.path.join(tmp, "live-keys.txt")
    with open(live_file, "w") as f:
        for _, key in made[:9000]:
            f.write(key + "\n")
    script = os.path.join(tmp, "gate.lua")
    with open(script, "w") as f:
        f.write(LUA_ROTATE % {"file": live_file, "path": "/api/v2/series",
                              "header": "DD-API-KEY"})
    validate_live = os.path.join(tmp, "validate-live.lua")
    with open(validate_live, "w") as f:
        f.write(LUA_ROTATE % {"file": live_file, "path": "/api/v1/validate",
                              "header": "DD-API-KEY"})
    live = made[0][1]
    s, r = args.seconds, args.rounds
    url = lambda port, path="": f"http://127.0.0.1:{port}{path}"
    out = {}
    with bare_server(args.baseline_bin) as static_auth, bare_server(args.baseline_bin) as backend:
        if only & {"gate_nginx", "validate_bare"}:
            kp = Server(args.bin, data, 2_000_000, defaults=True)
            kp.start()
            try:
                if "gate_nginx" in only:
                    with nginx(tmp, "nginx-static", static_auth.port, backend.port) as plain, \
                            nginx(tmp, "nginx-keyplane", kp.port, backend.port) as gated:
                        check_gate(gated.port, "nginx with keyplane", live)
                        out["gate_nginx"] = measure("gate_nginx", url(plain.port),
                                                    url(gated.port), script, s, r, 32,
                                                    base_script=script)
                    # Attribution: a static service answering keyplane's response headers.
                    with bare_server(args.baseline_bin, keyplane_headers=True) as heavy, \
                            nginx(tmp, "nginx-static", static_auth.port, backend.port) as plain, \
                            nginx(tmp, "nginx-headers", heavy.port, backend.port) as padded:
                        out["nginx_headers"] = measure("nginx_headers", url(plain.port),
                                                       url(padded.port), script, s, r, 32,
                                                       base_script=script)
                if "validate_bare" in only:
                    out["validate_live"] = measure(
                        "validate_live", url(static_auth.port, "/validate"),
                        url(kp.port, "/api/v1/validate"), validate_live, s, r, 32)
                    out["validate_bare"] = measure(
                        "validate_bare", url(static_auth.port, "/validate"),
                        url(kp.port, "/api/v1/validate"), validate_script, s, r, 32)
                    out["ping_bare"] = measure("ping_bare", url(static_auth.port, "/"),
                                               url(kp.port, "/ping"), None, s, r, 32)
            finally:
                kp.stop()
        if "gate_haproxy" in only:
            kp_port = free_port()
            conf_plain, port_plain, _, _ = haproxy_config(tmp, "haproxy-plain", backend.port,
                                                          kp_port, plain=True)
            conf, port, sock, map_file = haproxy_config(tmp, "haproxy-map", backend.port,
                                                        kp_port, plain=False)
            conf_nomap, port_nomap, _, _ = haproxy_config(tmp, "haproxy-nomap", backend.port,
                                                          kp_port, no_map=True)
            with open(map_file, "w") as f:
                subprocess.run([args.bin, "haproxy-map", "--data-dir", data], stdout=f,
                               stderr=subprocess.DEVNULL, check=True, timeout=120)
            with Process(["haproxy", "-db", "-f", conf_plain], port_plain, "plain HAProxy"), \
                    Process(["haproxy", "-db", "-f", conf_nomap], port_nomap,
                            "HAProxy without the map"), \
                    Process(["haproxy", "-db", "-f", conf], port, "HAProxy with the map"):
                kp = Server(args.bin, data, 2_000_000, defaults=True, port=kp_port,
                            extra=["--haproxy-socket", sock, "--haproxy-map", map_file])
                kp.start()
                try:
                    check_gate(port, "HAProxy with the map", live)
                    out["gate_haproxy"] = measure("gate_haproxy", url(port_plain), url(port),
                                                  script, s, r, 32, base_script=script)
                    out["haproxy_rules"] = measure("haproxy_rules", url(port_plain),
                                                   url(port_nomap), script, s, r, 32,
                                                   base_script=script)
                finally:
                    kp.stop()
    return out


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
        write_section(args.out, text, gate=False)
    elif args.out:
        print(f"not writing {args.out}: only {sorted(results)} ran", file=sys.stderr)
    print(text)


GATE_MARK = "<!-- bench.py: intake gate and bare-axum baseline -->"


def write_section(path, text, gate):
    """results.md holds two sections: the first workloads' and, after GATE_MARK, the gate's;
    each run replaces only the one it measured."""
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    main, _, gate_text = old.partition(GATE_MARK)
    if gate:
        gate_text = "\n" + text
    else:
        main = text
    with open(path, "w") as f:
        f.write(main.rstrip("\n") + "\n\n" + GATE_MARK + gate_text if gate_text else main)


def report_gate(args, gate):
    spread = lambda row, k: f"{row[k][0]:.2f}–{row[k][-1]:.2f}"
    labels = {
        "gate_nginx": ("nginx `auth_request` → keyplane `/intake/authorize` → static backend",
                       "same nginx, bare axum static authorization service", ">= 0.95"),
        "gate_haproxy": ("HAProxy with keyplane's synced map (deploy/haproxy) → static backend",
                         "plain HAProxy (same bind and backend, no keyplane lines)", ">= 0.85"),
        "nginx_headers": ("(attribution) same nginx, the static service answering keyplane's "
                          "response headers (`--keyplane-headers`)", "the static service", None),
        "haproxy_rules": ("(attribution) the same HAProxy rules, digest and map lookup "
                          "replaced by a constant", "plain HAProxy", None),
        "validate_live": ("keyplane `/api/v1/validate`, 9,000 live keys, 0 % unknown",
                          "bare axum `/validate`", ">= 0.90"),
        "validate_bare": ("keyplane `/api/v1/validate`, 10,000 keys, 10 % unknown",
                          "bare axum `/validate`", ">= 0.90"),
        "ping_bare": ("keyplane `/ping` (the whole middleware stack)", "bare axum `/`", None),
    }
    lines = [
        "## Intake gate and bare-axum baseline",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bash bench/run.sh "
        f"--only {','.join(k for k in GATE_WORKLOADS if k in gate)} --rounds {args.rounds} "
        f"--seconds {args.seconds}` ({args.rounds} alternating rounds of {args.seconds} s, "
        "wrk -t2 -c32; medians; a ratio is the median of the ratios within each pair of "
        "neighbouring rounds, the spread is their lowest–highest).",
        "",
        f"Machine: {machine()}.",
        "",
        "keyplane runs with its default flags and log level (`--data-dir`, `--listen` and "
        "`--max-api-keys-per-org` only; log lines go to /dev/null), holding 100,000 API keys; "
        "the gate workloads rotate over 9,000 live keys in `DD-API-KEY` (0 % unknown) on "
        "`GET /api/v2/series`. The baseline is `bench/baseline`, a bare axum server (same axum, "
        "hyper and tokio, no middleware), which is also the static backend behind the proxies.",
        "",
        "| workload | req/s | p50 ms | p99 ms | baseline | baseline req/s | baseline p50 ms | "
        "baseline p99 ms | throughput ratio (spread) | p99 ratio (spread) | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k, row in gate.items():
        label, base, _ = labels[k]
        lines.append(
            f"| {label} | {row['rps']:.0f} | {row['p50']:.2f} | {row['p99']:.2f} | {base} | "
            f"{row['base_rps']:.0f} | {row['base_p50']:.2f} | {row['base_p99']:.2f} | "
            f"{row['rps_ratio']:.2f} ({spread(row, 'rps_ratios')}) | "
            f"{row['p99_ratio']:.2f} ({spread(row, 'p99_ratios')}) | "
            f"{row['non2xx']} / {row['base_non2xx']} |")
    lines += ["", "| target | measured | goal | met |", "|---|---|---|---|"]
    for k, row in gate.items():
        label, _, rule = labels[k]
        if rule:
            ok = row["rps_ratio"] >= float(rule.split()[1])
            lines.append(f"| {label}: throughput / baseline | {row['rps_ratio']:.2f} | {rule} | "
                         f"{'yes' if ok else 'NO'} |")
    lines.append("")
    text = "\n".join(lines)
    if args.out:
        write_section(args.out, text, gate=True)
    print(text)


if __name__ == "__main__":
    main()
