"""The tables' shared parts and the results file's sections."""

import os
import platform
import subprocess
import time


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
