"""A sampling profiler for the benchmarks' bot processes (no py-spy on this machine).

A SIGPROF timer looks at the main thread's stack every millisecond of CPU and counts, for each
function and for each package, the samples it was on the stack (inclusive) and on top
(exclusive). Unlike cProfile it does not slow function calls down, so the split between
SQLAlchemy, aiogram, pydantic and our own code is the split of the real run.

    HROMADA_BENCH_SAMPLE=/tmp/votes .venv/bin/python benchmarks/votes.py --quick --rounds 1 --no-pg
    .venv/bin/python benchmarks/sampler.py /tmp/votes-<pid>.json
"""
from __future__ import annotations

import collections
import json
import re
import sys
import signal
from typing import Any

_PKG = re.compile(r"site-packages/([^/]+)")


def where(filename: str) -> str:
    m = _PKG.search(filename)
    if m:
        return m.group(1)
    for root in ("bot/", "handlers/", "storage/", "tests/", "benchmarks/"):
        i = filename.find("/" + root)
        if i >= 0:
            return "/".join(filename[i + 1:].split("/")[:2])
    m = re.search(r"python3\.\d+/([^/]+)", filename)
    return "stdlib:" + m.group(1) if m else filename


class Sampler:
    """SIGPROF every ``interval`` seconds of the process's CPU time; the handler runs in the
    main thread at its next bytecode, so each sample is where the event loop's thread was (or
    its wait in ``select`` while another thread, such as aiosqlite's, used the CPU)."""

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.samples = 0
        self.top: collections.Counter[str] = collections.Counter()
        self.inclusive: collections.Counter[str] = collections.Counter()
        self.packages_top: collections.Counter[str] = collections.Counter()
        self.packages_inclusive: collections.Counter[str] = collections.Counter()

    def start(self) -> None:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def _sample(self, signum: int, frame: Any) -> None:
        self.samples += 1
        seen, pkgs, first = set(), set(), True
        while frame is not None:
            code = frame.f_code
            pkg = where(code.co_filename)
            name = f"{pkg}:{code.co_name}"
            if first:
                self.top[name] += 1
                self.packages_top[pkg] += 1
                first = False
            if name not in seen:
                seen.add(name)
                self.inclusive[name] += 1
            if pkg not in pkgs:
                pkgs.add(pkg)
                self.packages_inclusive[pkg] += 1
            frame = frame.f_back

    def stop(self, path: str) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        data = {"samples": self.samples, "interval": self.interval, "top": self.top.most_common(200),
                "inclusive": self.inclusive.most_common(400), "packages_top": self.packages_top.most_common(),
                "packages_inclusive": self.packages_inclusive.most_common()}
        with open(path, "w") as f:
            json.dump(data, f)


def show(path: str, n: int = 40) -> None:
    data: dict[str, Any] = json.load(open(path))
    total = data["samples"] or 1
    print(f"{data['samples']} samples every {data['interval'] * 1000:.1f} ms")
    for title in ("packages_top", "packages_inclusive", "top", "inclusive"):
        print(f"\n== {title}")
        for name, count in data[title][:n]:
            print(f"{100 * count / total:6.1f}%  {name}")


if __name__ == "__main__":
    show(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40)
