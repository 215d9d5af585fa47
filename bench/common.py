"""What every part of the benchmark shares: the processes it runs (keyplane, the bare axum
server), seeding (through the API and straight into SQLite), wrk and the alternating rounds,
and the results file's sections."""

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
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
# Above every installation the benchmark builds (5,000,000 filler keys and the creates).
MAX_KEYS = 10_000_000


def log(text):
    print(text, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, headers=None, body=None, timeout=10):
    """(status, body) of one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body, headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_http(port, path, what, seconds=120, want=None):
    """Until `path` answers (with `want`, when given); `what` names it in the error."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            status, _ = request(port, "GET", path, timeout=2)
            if want is None or status == want:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


class Server:
    """keyplane with its default flags and log level: only the data directory, the listener
    and the per-organization key cap are set, plus `extra` (e.g. a database URL)."""

    def __init__(self, binary, data_dir, extra=(), port=None):
        self.binary, self.data_dir, self.extra = binary, data_dir, list(extra)
        self.fixed_port = port
        self.proc = None
        self.port = None

    def launch(self):
        """Starts the process without waiting for it (start-up is timed by the caller)."""
        self.port = self.fixed_port or free_port()
        args = [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", self.data_dir, "--max-api-keys-per-org", str(MAX_KEYS)]
        env = dict(os.environ)
        env.pop("RUST_LOG", None)
        self.proc = subprocess.Popen(args + self.extra, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=env)

    def start(self, seconds=600):
        self.launch()
        wait_http(self.port, "/ping", "keyplane", seconds, want=200)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

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


# The load generator is one source sending thousands of management requests per second: the
# per-organization rate limit (1,000 a minute by default) would answer 429 and measure
# itself. /api/v1/validate and the intake gate are never rate limited, so this flag does not
# touch them.
NO_RATE_LIMIT = ["--rate-limit", "0"]


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

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"


def bare_server(binary, keyplane_headers=False):
    """bench/baseline: the most an HTTP server on keyplane's stack can answer."""
    port = free_port()
    extra = ["--keyplane-headers"] if keyplane_headers else []
    return Process([binary, f"127.0.0.1:{port}"] + extra, port, "the bare axum server")


def key_pair(creds):
    return {"DD-API-KEY": creds["DD_API_KEY"], "DD-APPLICATION-KEY": creds["DD_APP_KEY"]}


def create_keys(port, creds, count, threads=16, prefix="bench", resource="api_keys"):
    """Creates `count` API keys or client tokens (`resource`: their path segment and type),
    rounded down to a multiple of `threads`, through the API; returns [(id, key)]."""
    made, lock = [], threading.Lock()
    per_thread = count // threads
    failures = []

    def work(t):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(per_thread):
            body = json.dumps({"data": {"type": resource,
                                        "attributes": {"name": f"{prefix}-{t}-{i}"}}})
            conn.request("POST", f"/api/v2/{resource}", body,
                         {"Content-Type": "application/json", **key_pair(creds)})
            resp = conn.getresponse()
            data = json.loads(resp.read())
            if resp.status != 201:
                failures.append(f"create failed: {resp.status} {data}")
                return
            with lock:
                made.append((data["data"]["id"], data["data"]["attributes"]["key"]))

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    if failures:
        raise RuntimeError(failures[0])
    return made


# Filler rows, one INSERT ... SELECT over a counter each: SQLite makes the rows itself, so
# 5,000,000 keys take seconds, not the minutes a Python loop would. Ids are random version-4
# UUIDs, lowercase as keyplane writes them: the start-up loads keys in id order, and ids in
# insertion order would make that read sequential, as no real installation's is. Digests are
# random too, so filler can be indexed but never used. unique_name is written as the store writes it (keyplane
# would otherwise fill it row by row at start-up and the start-up time would measure that).
FILLER_COLUMNS = {
    "api_keys": {
        "name": "printf('filler-%07d', :start + i)",
        "name_folded": "printf('filler-%07d', :start + i)",
        "unique_name": "printf('filler-%07d', :start + i)",
        "digest": "randomblob(32)", "sealed_key": "randomblob(60)", "last4": "'fill'",
        "category": "'default'", "remote_config_read_enabled": "1",
        "created_by": ":admin", "modified_by": ":admin",
        "created_at": ":now + i", "modified_at": ":now + i",
    },
    "application_keys": {
        "owner_id": ":admin",
        "name": "printf('filler-%07d', :start + i)",
        "name_folded": "printf('filler-%07d', :start + i)",
        "unique_name": "printf('filler-%07d', :start + i)",
        "digest": "randomblob(32)", "sealed_key": "randomblob(60)", "last4": "'fill'",
        "scopes": "NULL", "created_at": ":now + i",
    },
    "client_tokens": {
        "name": "printf('filler-%07d', :start + i)",
        "name_folded": "printf('filler-%07d', :start + i)",
        "unique_name": "printf('filler-%07d', :start + i)",
        "digest": "randomblob(32)", "sealed_key": "randomblob(60)", "last4": "'fill'",
        "created_by": ":admin", "modified_by": ":admin",
        "created_at": ":now + i", "modified_at": ":now + i",
    },
}

RANDOM_UUID = ("lower(printf('%s-%s-4%s-%x%s-%s', hex(randomblob(4)), hex(randomblob(2)), "
               "substr(hex(randomblob(2)), 2), 8 + abs(random()) % 4, "
               "substr(hex(randomblob(2)), 2), hex(randomblob(6))))")

# The counters the insert triggers keep, recomputed once after the filler instead.
RECOUNT = [
    "UPDATE orgs SET api_key_count = (SELECT COUNT(*) FROM api_keys WHERE org_id = orgs.id)",
    "UPDATE users SET app_key_count = "
    "(SELECT COUNT(*) FROM application_keys WHERE owner_id = users.id)",
]


def bulk_insert(data_dir, count, table="api_keys"):
    """`count` filler rows into `table` of the SQLite file (server stopped), in the first
    organization, owned by its first user."""
    if count <= 0:
        return
    db = sqlite3.connect(os.path.join(data_dir, "keyplane.db"), isolation_level=None)
    # A scratch installation: a crash during the filler loses nothing worth keeping.
    db.execute("PRAGMA synchronous = OFF")
    # No journal either (keyplane sets WAL again when it opens the file): random ids and
    # digests touch pages all over the indexes, and a WAL would hold every one of them twice.
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA cache_size = -2000000")
    org_id, admin = db.execute(
        "SELECT org_id, id FROM users ORDER BY created_at LIMIT 1").fetchone()
    # The insert trigger writes a change-log row and bumps a counter per key: the index is
    # loaded from the tables at start, so the log rows would only slow the filler down.
    triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                          "tbl_name = ? AND sql LIKE '%AFTER INSERT%'", (table,)).fetchall()
    columns = FILLER_COLUMNS[table]
    sql = (f"WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1) "
           f"INSERT INTO {table} (id, org_id, {', '.join(columns)}) "
           f"SELECT {RANDOM_UUID}, :org, "
           f"{', '.join(columns.values())} FROM seq")
    db.execute("BEGIN")
    for name, _ in triggers:
        db.execute(f"DROP TRIGGER {name}")
    # Names go on after earlier filler of the same table (they are unique per organization).
    start = db.execute(f"SELECT COUNT(*) FROM {table} WHERE name LIKE 'filler-%'").fetchone()[0]
    db.execute(sql, {"n": count, "org": org_id, "start": start,
                     "admin": admin, "now": int(time.time() * 1_000_000)})
    for _, trigger in triggers:
        db.execute(trigger)
    for recount in RECOUNT:
        db.execute(recount)
    db.execute("COMMIT")
    db.close()


LUA_ROTATE = """
keys = {}
for line in io.lines("%(file)s") do keys[#keys + 1] = line end
i = 0
request = function()
  i = i %% #keys + 1
  return wrk.format("GET", "%(path)s", { ["%(header)s"] = keys[i]%(extra)s })
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

LUA_KEY_PAIR = """
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


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def write_lines(path, lines):
    return write_file(path, "".join(line + "\n" for line in lines))


def rotate_script(path, keys_file, url_path, header="DD-API-KEY", extra=None):
    """A wrk script sending each key of `keys_file` in turn in `header`, to `url_path`."""
    more = "".join(f', ["{k}"] = "{v}"' for k, v in (extra or {}).items())
    return write_file(path, LUA_ROTATE % {"file": keys_file, "path": url_path,
                                          "header": header, "extra": more})


def create_script(tmp, creds):
    """A function of the round number giving a create script: names must be new in every
    round, since wrk restarts its Lua state each time."""
    def make(round_no):
        return write_file(os.path.join(tmp, f"create-{round_no}-{secrets.token_hex(4)}.lua"),
                          LUA_CREATE % {"api": creds["DD_API_KEY"], "app": creds["DD_APP_KEY"],
                                        "round": secrets.token_hex(4)})
    return make


def unit_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, seconds, connections, script=None):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    for attempt in (1, 2):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        out = done.stdout
        found = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if found:
            break
        # wrk has been seen to exit now and then without a word on a loaded machine; one
        # more try keeps a 25-minute run going, a second failure is real.
        log(f"wrk {url}: exit {done.returncode}, no figures ({done.stderr.strip()[:200]})"
            + (", again" if attempt == 1 else ""))
    else:
        raise RuntimeError(f"wrk {url} failed twice:\n{out}")
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))

    def ms(text):
        m = re.match(r"([\d.]+)(us|ms|s)$", text)
        return unit_ms(m.group(1), m.group(2))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(found.group(1)), "p50": ms(lat["50"]), "p99": ms(lat["99"]),
            "non2xx": int(errors.group(1)) if errors else 0}


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def compare(name, legs, seconds, rounds, connections):
    """Alternating rounds: each round runs every leg once, in order, so drift on a shared
    machine hits all of them. `legs` is [(label, url, script)], a script being a path, None
    or a function of the round number returning one. Returns {label: [wrk result per round]}."""
    runs = {label: [] for label, _, _ in legs}
    for r in range(rounds):
        for label, url, script in legs:
            path = script(r) if callable(script) else script
            runs[label].append(wrk(url, seconds, connections, path))
        log(f"  {name} round {r + 1}: " + ", ".join(
            f"{label} {runs[label][-1]['rps']:.0f}/s" for label, _, _ in legs))
    return runs


def summary(runs):
    """Medians of one leg's rounds."""
    row = {k: median([run[k] for run in runs]) for k in ("rps", "p50", "p99")}
    row["non2xx"] = sum(run["non2xx"] for run in runs)
    return row


def ratio(ours, base, key="rps"):
    """(median, lowest, highest) of the ratios within each round: drift on a shared machine
    moves the legs of one round together."""
    values = sorted(o[key] / b[key] for o, b in zip(ours, base))
    return median(values), values[0], values[-1]


def pair_row(ours, base):
    """One leg against its baseline: medians of both and the ratios (median, lowest,
    highest) of throughput and p99."""
    row = summary(ours)
    row.update({f"base_{k}": v for k, v in summary(base).items()})
    row["rps_ratio"] = ratio(ours, base, "rps")
    row["p99_ratio"] = ratio(ours, base, "p99")
    return row


def spread(r):
    return f"{r[0]:.2f} ({r[1]:.2f}–{r[2]:.2f})"


def met(value, rule):
    op, bound = rule.split()
    return value >= float(bound) if op == ">=" else value <= float(bound)


def target_rows(checks):
    """The targets table: checks are (label, value, rule like '>= 0.90')."""
    lines = ["| target | measured | goal | met |", "|---|---|---|---|"]
    for label, value, rule in checks:
        lines.append(f"| {label} | {value:.2f} | {rule} | {'yes' if met(value, rule) else 'NO'} |")
    return lines


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
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} cores ({model}), {mem} GiB, {platform.system()} "
            f"{platform.release()}, {rustc}, wrk -t2 on loopback, load average {load:.1f} "
            "at the end")


def now_utc():
    return time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())


# results.md: the first workloads' section, then each marked one; a run replaces only the
# sections it measured.
MARKS = {
    "gate": "<!-- bench.py: intake gate and bare-axum baseline -->",
    "scaling": "<!-- bench.py: scaling -->",
}


def write_section(path, text, section):
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    parts = {}
    rest = old
    for name in reversed(list(MARKS)):
        rest, found, tail = rest.partition(MARKS[name])
        if found:
            parts[name] = tail.strip("\n")
    parts["main"] = rest.strip("\n")
    parts[section] = text.strip("\n")
    out = parts["main"] + "\n"
    for name, mark in MARKS.items():
        if parts.get(name):
            out += f"\n{mark}\n{parts[name]}\n"
    with open(path, "w") as f:
        f.write(out.lstrip("\n"))
