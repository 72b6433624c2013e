"""followup on Dask against ``followup audit --jobs``: the figures of docs/scale.md.

Writes N generated histories (about 20 events each) as P JSON Lines partition files, then times:

- ``followup audit FOLDER --format json --jobs W`` (a subprocess);
- ``followup.dask.audit_bag`` + ``write_report`` (JSON) on a LocalCluster of W worker processes,
  one thread each, started beforehand (a cluster is long-lived; its start is printed apart);

and prints histories/s overall and per worker, and Dask's overhead against ``--jobs``. Needs the
dask extra (``pip install -e '.[dask]'``).

    python benchmarks/dask_scale.py                 # 10,000 histories, 20 partitions, 2 workers
    python benchmarks/dask_scale.py -n 2000 --partitions 8
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import json

from batch import AS_OF, followup_command, make_history


def write_dataset(folder: Path, count: int, partitions: int) -> None:
    rng = random.Random(1)
    per = -(-count // partitions)
    for part in range(partitions):
        lines = [make_history(rng, n) for n in range(part * per, min(count, (part + 1) * per))]
        text = "".join(json.dumps(h, separators=(",", ":")) + "\n" for h in lines)
        (folder / f"part-{part:05d}.jsonl").write_text(text, "utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--histories", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    import followup
    import followup.dask

    print(f"{os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} before")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_dataset(folder, args.histories, args.partitions)
        began = time.perf_counter()
        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )
        client = Client(cluster)
        print(f"LocalCluster of {args.workers} worker processes started in {time.perf_counter() - began:.1f} s")
        pack = followup.load_pack("interview-follow-up")
        best_dask = best_cli = float("inf")
        for _ in range(args.repeat):
            began = time.perf_counter()
            with open(os.devnull, "w", encoding="utf-8") as out:
                bag = followup.dask.audit_bag(str(folder), pack=pack, as_of=AS_OF)
                followup.dask.write_report(bag, out, pack=pack, as_of=AS_OF)
            best_dask = min(best_dask, time.perf_counter() - began)
            command = [*followup_command(), "audit", str(folder), "--as-of", AS_OF, "--format", "json"]
            command += ["--output", os.devnull, "--fail-on", "never", "--jobs", str(args.workers)]
            began = time.perf_counter()
            subprocess.run(command, check=True)
            best_cli = min(best_cli, time.perf_counter() - began)
        client.close()
        cluster.close()
    n, w = args.histories, args.workers
    print(f"{n:,} histories in {args.partitions} partitions, {w} workers (best of {args.repeat}):")
    print(f"  dask:       {best_dask:6.2f} s  {n / best_dask:7,.0f} histories/s  {n / best_dask / w:7,.0f} per worker")
    print(f"  --jobs {w}:   {best_cli:6.2f} s  {n / best_cli:7,.0f} histories/s  {n / best_cli / w:7,.0f} per worker")
    print(f"  dask overhead against --jobs {w}: {best_dask / best_cli - 1:+.0%} wall time")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
