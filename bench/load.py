"""Load: wrk and its Lua scripts, alternating rounds, and the ratios between their legs."""

import os
import re
import secrets
import subprocess

from common import log

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
