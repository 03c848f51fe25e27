"""`make bench`: how fast the stages are, against the targets of issue #7.

Generates N synthetic, valid, varied clients in a temporary folder and measures:
- derive + render throughput and peak memory (a child process per N);
- the site build with our hook against a plain `mkdocs build` of the same pre-rendered pages;
- handouts per second with one process and with every core, and a rebuild with no change;
- the ports check against 24 listeners that never accept, with a 2 s timeout.
Prints a table and writes it to benchmarks/results.md. A benchmark, not a test: nothing here
fails the build.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ["north", "harbor", "alpine", "cedar", "river", "summit", "maple", "ocean", "delta",
         "granite", "willow", "falcon", "copper", "prairie", "lantern"]  # fmt: skip


def synthetic_client(i: int, rng: random.Random) -> str:
    """A valid client file, varied in topology, size and options."""
    word = f"{rng.choice(WORDS)}{i}"
    sp = rng.choice([0, 1, 2, 2, 2])
    servers = rng.randint(1, 4)
    lines = [
        "# yaml-language-server: $schema=client.schema.json",
        f"client: {word.title()} Ltd number {i}",
        f"window: 2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "exchange:",
        f"  service_pack: {sp}",
        "  servers:",
    ]
    for s in range(servers):
        gc = "true" if servers == 1 and rng.random() < 0.5 else "false"
        lines += [
            f"    - name: EXCH{s:02d}",
            f"      fqdn: exch{s:02d}.{word}.local",
            f"      global_catalog: {gc}",
        ]
    if sp == 0:
        lines += ["  global_catalogs:", f"    - {{name: DC01, fqdn: dc01.{word}.local}}"]
    lines += ["rpc_proxy:", f"  public_fqdn: mail.{word}.com"]
    if servers > 1 and rng.random() < 0.6:
        lines.append(f"  front_end: {{name: FE01, fqdn: fe01.{word}.local}}")
    lines += [
        f"  authentication: {rng.choice(['basic', 'ntlm'])}",
        f"  expose_rpc_ports: {rng.choice(['false', 'false', 'true'])}",
        "office365:",
        f"  admin: admin@{word}.onmicrosoft.com",
        f"  migration_account: CORP{i % 1000}\\migadmin",
        f"  test_mailbox: user@{word}.com",
        "domains:",
    ]
    for d in range(rng.randint(1, 3)):
        lines += [f"  - name: {word}{d}.com", f"    mx_ttl: {rng.choice([300, 3600, 86400])}"]
    lines += [
        f"network: {{upstream_mbps: {rng.choice([4, 8, 20, 50, 200])}}}",
        f"mailboxes: {{count: {rng.randint(5, 400)}, total_gb: {rng.randint(5, 900)}}}",
        f"outlook_versions: [{rng.choice(['2007, 2010', '2010, 2016', '2013'])}]",
        "notes: |",
        f"  Generated client {i} for the benchmark.",
    ]
    return "\n".join(lines) + "\n"


def write_clients(folder: Path, count: int, seed: int = 7) -> Path:
    """`count` client files in `folder/runbooks`."""
    runbooks = folder / "runbooks"
    runbooks.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for i in range(count):
        (runbooks / f"client-{i:04d}.yml").write_text(synthetic_client(i, rng), encoding="utf-8")
    return runbooks


def child_render(runbooks: Path) -> None:
    """In a child process: load, derive and render every client; print time and peak memory."""
    start = time.perf_counter()
    from generator.derive import derive
    from generator.model import load_client, slug_of
    from generator.page import render_runbook

    imported = time.perf_counter()
    paths = sorted(runbooks.glob("*.yml"))
    total = 0
    for path in paths:
        total += len(render_runbook(derive(load_client(path), slug_of(path)), "0123456789"))
    done = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "clients": len(paths),
                "seconds": done - imported,
                "with_imports": done - start,
                "peak_mb": peak_kib / 1024,
                "chars": total,
            }
        )
    )


def bench_render(sizes: list[int], work: Path) -> list[dict[str, float]]:
    """Derive + render throughput and peak memory for each size."""
    rows = []
    for n in sizes:
        runbooks = write_clients(work / f"render-{n}", n)
        out = subprocess.run(
            [sys.executable, __file__, "_render", str(runbooks)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        data = json.loads(out)
        data["per_second"] = n / data["seconds"]
        rows.append(data)
    return rows


def mkdocs(config: Path, site: Path, env: dict[str, str]) -> float:
    """Seconds for one `mkdocs build` of `config` into `site`."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config), "-d", str(site)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def plain_project(runbooks: Path, folder: Path) -> Path:
    """A copy of docs/ with every page our hook would add, pre-rendered, and no hook."""
    from generator import site

    docs = folder / "docs"
    shutil.copytree(ROOT / "docs", docs)
    pages = site.collect(runbooks)
    generated: dict[str, str | bytes] = {"reference/client-file.md": site.reference_page()}
    for page in pages:
        generated[f"clients/{page.values.slug}.md"] = page.markdown
        generated.update(site.downloads(page))
    generated.update(site.check_scripts())
    index = docs / "index.md"
    index.write_text(index.read_text().replace("<!-- clients -->", site.home_table(pages)))
    for rel, content in generated.items():
        target = docs / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    text = (ROOT / "mkdocs.yml").read_text().replace("docs_dir: docs", f"docs_dir: {docs}")
    text = text.replace("hooks:\n  - generator/mkdocs_hook.py\n", "")
    config = folder / "mkdocs-plain.yml"
    config.write_text(text.replace("strict: true", "strict: false"))
    return config


def bench_site(n: int, work: Path, rounds: int = 3) -> dict[str, float]:
    """The site build with the hook against a plain build of the same Markdown."""
    runbooks = write_clients(work / f"site-{n}", n)
    plain = plain_project(runbooks, work / f"plain-{n}")
    hooked = work / f"site-{n}" / "mkdocs.yml"
    hooked.write_text(
        (ROOT / "mkdocs.yml")
        .read_text()
        .replace("strict: true", "strict: false")
        .replace("docs_dir: docs", f"docs_dir: {ROOT / 'docs'}")
        .replace("generator/mkdocs_hook.py", str(ROOT / "generator/mkdocs_hook.py"))
    )
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "RUNBOOKS_DIR": str(runbooks),
        "RUNBOOK_HANDOUTS": "off",
    }
    with_hook, without = [], []
    for r in range(rounds):  # alternate, so both see the same machine
        with_hook.append(mkdocs(hooked, work / f"out-hook-{r}", env))
        without.append(mkdocs(plain, work / f"out-plain-{r}", env))
    a, b = statistics.median(with_hook), statistics.median(without)
    return {"clients": n, "hook": a, "plain": b, "ratio": a / b}


def bench_handouts(single_n: int, many_n: int, work: Path) -> dict[str, float]:
    """Handouts per second with one process and with all cores; a no-change rebuild."""
    from generator.derive import derive
    from generator.handout import build_handouts
    from generator.model import load_client, slug_of

    def jobs(runbooks: Path) -> list[tuple[object, Path]]:
        return [(derive(load_client(p), slug_of(p)), p) for p in sorted(runbooks.glob("*.yml"))]

    small = jobs(write_clients(work / "handouts-small", single_n, seed=11))
    start = time.perf_counter()
    build_handouts(small, work / "pdf-one", processes=1, progress=False)  # type: ignore[arg-type]
    one = time.perf_counter() - start
    start = time.perf_counter()
    build_handouts(small, work / "pdf-all", processes=None, progress=False)  # type: ignore[arg-type]
    all_cores = time.perf_counter() - start
    many = jobs(write_clients(work / "handouts-many", many_n, seed=13))
    build_handouts(many, work / "pdf-many", progress=False)  # type: ignore[arg-type]
    start = time.perf_counter()
    build_handouts(many, work / "pdf-many", progress=False)  # type: ignore[arg-type]
    rebuild = time.perf_counter() - start
    return {
        "n": single_n,
        "one_rate": single_n / one,
        "all_rate": single_n / all_cores,
        "speedup": one / all_cores,
        "rebuild_n": many_n,
        "rebuild": rebuild,
    }


@contextlib.contextmanager
def silent_listeners(count: int) -> Iterator[list[int]]:
    """`count` loopback ports whose accept queue is full, so connect() times out."""
    listeners, fillers, ports = [], [], []
    try:
        for _ in range(count):
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(0)
            listeners.append(listener)
            port = listener.getsockname()[1]
            for _ in range(16):
                filler = socket.socket()
                filler.setblocking(False)
                fillers.append(filler)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
                if not select.select([], [filler], [], 0.3)[1]:
                    break
            ports.append(port)
        yield ports
    finally:
        for sock in fillers + listeners:
            sock.close()


def bench_ports(count: int = 24, timeout: float = 2.0) -> dict[str, float]:
    """The ports check against listeners that never accept."""
    from checks.ports import check_ports

    with silent_listeners(count) as ports:
        start = time.perf_counter()
        results = check_ports([("127.0.0.1", p) for p in ports], timeout=timeout)
        seconds = time.perf_counter() - start
    timed_out = sum(1 for r in results if "timed out" in r.detail)
    return {"targets": count, "timeout": timeout, "seconds": seconds, "timed_out": timed_out}


def _spin(n: int) -> int:
    """Pure CPU work, for the machine's own parallel ceiling."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def cpu_ceiling(n: int = 8_000_000) -> float:
    """How much faster two CPU-bound processes finish than one after the other, on this
    machine: virtual CPUs often share a physical core, which caps every parallel speed-up."""
    from concurrent.futures import ProcessPoolExecutor

    start = time.perf_counter()
    _spin(n)
    _spin(n)
    sequential = time.perf_counter() - start
    with ProcessPoolExecutor(2) as pool:
        start = time.perf_counter()
        list(pool.map(_spin, [n, n]))
        parallel = time.perf_counter() - start
    return sequential / parallel


def verdict(ok: bool) -> str:
    """A table cell for a target."""
    return "met" if ok else "MISSED"


def main() -> None:
    """Run every benchmark and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    sizes = [10, 100] if args.quick else [10, 100, 1000]
    site_n = 20 if args.quick else 100
    handouts_n, rebuild_n = (4, 10) if args.quick else (10, 100)

    with tempfile.TemporaryDirectory(prefix="runbook-bench-") as tmp:
        work = Path(tmp)
        print("derive + render ...", file=sys.stderr)
        render = bench_render(sizes, work)
        print("site build, hook against plain ...", file=sys.stderr)
        site_row = bench_site(site_n, work)
        print(f"handouts ({rebuild_n} for the rebuild; this takes a while) ...", file=sys.stderr)
        handouts = bench_handouts(handouts_n, rebuild_n, work)
        print("ports check ...", file=sys.stderr)
        ports = bench_ports()
        ceiling = cpu_ceiling()

    big = render[-1]
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, {platform.system()}. Run: `make bench`"
        + (" (--quick)" if args.quick else "")
        + ".",
        "",
        "| Measure | Result | Target | |",
        "|---|---|---|---|",
    ]
    for row in render[:-1]:
        lines.append(
            f"| derive + render, {row['clients']} clients | {row['seconds']:.2f} s "
            f"({row['per_second']:.0f} clients/s), peak {row['peak_mb']:.0f} MB | | |"
        )
    lines += [
        f"| derive + render, {big['clients']} clients | {big['seconds']:.2f} s, "
        f"peak {big['peak_mb']:.0f} MB | 1,000 in < 3 s, < 300 MB | "
        + (
            "not measured |"
            if big["clients"] < 1000
            else f"{verdict(big['seconds'] < 3 and big['peak_mb'] < 300)} |"
        ),
        f"| site build, {site_row['clients']} clients | hook {site_row['hook']:.2f} s, plain "
        f"{site_row['plain']:.2f} s, ratio {site_row['ratio']:.2f} | ratio <= 1.10 | "
        f"{verdict(site_row['ratio'] <= 1.10)} |",
        f"| handouts, {handouts['n']} clients | 1 process {handouts['one_rate']:.2f}/s, all cores "
        f"{handouts['all_rate']:.2f}/s, speed-up {handouts['speedup']:.2f} | speed-up >= 1.7 on 2 "
        f"cores | {verdict(handouts['speedup'] >= 1.7)} |",
        f"| reference: pure CPU work in 2 processes | speed-up {ceiling:.2f} | the machine's "
        "own ceiling for any speed-up | |",
        f"| handouts, no-change rebuild of {handouts['rebuild_n']} | {handouts['rebuild']:.2f} s "
        f"| < 1 s for 100 | {verdict(handouts['rebuild'] < 1)} |",
        f"| ports check, {ports['targets']} silent listeners, {ports['timeout']:g} s timeout | "
        f"{ports['seconds']:.2f} s ({ports['timed_out']} timed out) | < 3 s | "
        f"{verdict(ports['seconds'] < 3)} |",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    notes = ROOT / "benchmarks" / "NOTES.md"
    if notes.is_file():
        table += "\n" + notes.read_text(encoding="utf-8")
    (ROOT / "benchmarks" / "results.md").write_text(table, encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_render":
        child_render(Path(sys.argv[2]))
    else:
        main()
