"""What every part of the benchmark shares: the processes it runs (keyplane, the bare axum
server, the proxies) and plain HTTP requests to them. Seeding is in seed.py, wrk and the
alternating rounds in load.py, the results file in results.py."""

import http.client
import os
import socket
import subprocess
import sys
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
