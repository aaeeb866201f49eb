"""Every performance table of the README, regenerated: ``make bench-report``.

Each row runs imbfast and imbalanced-learn (for the k-NN rows: scikit-learn's
``NearestNeighbors``, which imbalanced-learn uses) in one fresh child
process, on the same data, with the same thread count: ``n_jobs`` for every
sampler that has the parameter (both libraries), threadpoolctl limits on
every BLAS/OpenMP pool and the ``*_NUM_THREADS`` variables of the child. Both
are warmed up on a slice of the data first; then the timed rounds alternate
between the libraries (which goes first swaps every round; each call first
waits for the process's spinning OpenMP/OpenBLAS workers to park, see
``measure.quiesce``), the same number for both (3 when a round of the
slower library takes under ``--fast-seconds``, else 1), and the median is
reported. Peak memory is the peak RSS during the call minus the RSS before it
(the kernel's counter is reset before the call), output included, measured
in the first round; a fast row is then timed in 3 rounds of its own, without
the memory measurement (see ``child``).

Outputs are compared on every row: X, y and ``sample_indices_`` (where the
sampler sets it) must be ``np.array_equal``, and the k-NN rows' index lists
equal. On data with equal neighbour distances (duplicates, counts, one-hot
columns) the libraries may legitimately differ (imbfast excludes a row from
its own list by index and orders equal distances by index; imbalanced-learn
drops column 0 and orders them as its search visits them): such a row says
``ties`` and passes only if the data has ties and imbfast's neighbour lists
follow its rule (checked against a float64 reference on 256 rows). Any
other difference fails the run (exit status 1, the row says DIFFERENT).

The physical floor, where one applies, is measured in the same run: an
exact brute-force search costs n²·d FLOP all-pairs (each pair once), 2·q·n·d
for q queries among n rows, at the float32 GEMM rate NumPy reaches; writing
an output (gathers, interpolation) costs its bytes at the copy bandwidth.
"x floor" is imbfast's time over that floor (shown for the brute-force and
pruned engines; the pruned search can go below the brute-force floor).

Usage::

    python benchmarks/bench_report.py                     # full report, stdout
    python benchmarks/bench_report.py --readme README.md  # rewrite the README
    python benchmarks/bench_report.py --quick             # tiny sizes (BENCH_QUICK=1)
    python benchmarks/bench_report.py --sections smote,knn --out report.md

The README's tables sit between ``<!-- bench-report:start -->`` and
``<!-- bench-report:end -->``; ``--readme`` replaces what is between them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import measure
import realistic_data

START = "<!-- bench-report:start -->"
END = "<!-- bench-report:end -->"

# One section per README table: (key, title, sentence under the title).
SECTIONS = [
    (
        "smote",
        "SMOTE",
        "Gaussian data (`make_classification`), 20 features, 9:1. Floor: the "
        "minority class's all-pairs search plus writing the synthetic rows.",
    ),
    (
        "smote-family",
        "The other SMOTE variants",
        "Gaussian data, 20 features, 9:1. SVMSMOTE and KMeansSMOTE spend most "
        "of their time in scikit-learn's SVC / MiniBatchKMeans fit, which both "
        "libraries run.",
    ),
    (
        "cleaning",
        "Cleaning and combined samplers",
        "Gaussian data, 9:1. No floor: imbfast does not search every row "
        "(TomekLinks searches the minority rows and the rows they point at; "
        "ENN's pre-filter settles most majority rows from searches within "
        "blocks of rows), so "
        "an all-pairs search does not bound it.",
    ),
    (
        "nearmiss",
        "NearMiss",
        "Gaussian data, 20 features, 9:1. Floor (versions 1 and 3): the "
        "majority rows searched among the minority rows. Version 2 asks "
        "imbalanced-learn for every minority neighbour of every majority row "
        "(two n_majority x n_minority arrays, hence its smaller size here); "
        "imbfast finds the farthest rows as the nearest rows of a lifted "
        "problem (one extra coordinate) with the same engines.",
    ),
    (
        "random",
        "Random over- and under-sampling",
        "Gaussian data, 20 features, 9:1. Floor: writing the output at the copy "
        "bandwidth. StratifiedSampler has no imbalanced-learn twin: it is "
        "compared with RandomUnderSampler, whose rows it does not reproduce "
        "(same class counts, checked).",
    ),
    (
        "knn",
        "Exact k-NN, all pairs, k=5",
        "imbfast's `kneighbors` against scikit-learn's `NearestNeighbors` "
        "(imbalanced-learn's search) on the same float64 rows, each row "
        "excluding itself; the neighbour lists must be equal. Floor: n²·d "
        "FLOP at the float32 GEMM rate. `blobs`: a Gaussian mixture (1,000 "
        'centres), where the pruned search (forced here; `"auto"` tries it '
        "from 500k x 500k distance pairs) can skip distances.",
    ),
    (
        "realistic",
        "Realistic tabular data",
        "`benchmarks/realistic_data.py`: Poisson counts (9 columns, 10% "
        "duplicate rows), binary flags (24), Gaussian columns quantized to 3-7 "
        "levels (20, 20% duplicates), census-like numeric + one-hot blocks "
        "(130, 5% duplicates); 9:1.",
    ),
    (
        "categorical",
        "SMOTENC and SMOTEN",
        "SMOTENC: 10 continuous + 10 categorical features of 1,000 levels; "
        "SMOTEN: 20 categorical features of 5-24 levels; 9:1. imbalanced-learn's "
        "SMOTENC builds a (new rows, k, one-hot columns) array, its SMOTEN the "
        "class's n x n value-difference matrix.",
    ),
]


def _row(section: str, sampler: str, data: str, n: int, d: int | None, **kw: Any):
    spec = {"section": section, "sampler": sampler, "data": data, "n": n, "d": d}
    spec.update(kw)
    spec.setdefault("params", {})
    spec.setdefault("floor", None)
    spec.setdefault("label", sampler)
    return spec


def plan_rows(quick: bool) -> list[dict[str, Any]]:
    """The report's rows; ``quick`` shrinks every size for a smoke test."""

    def n(full: int, small: int) -> int:
        return small if quick else full

    seed = {"random_state": 0}
    rows = [
        _row(
            "smote",
            "SMOTE",
            "gaussian",
            n(100_000, 2_000),
            20,
            params=seed,
            floor="smote",
        ),
        _row(
            "smote",
            "SMOTE",
            "gaussian",
            n(1_000_000, 5_000),
            20,
            params=seed,
            floor="smote",
        ),
    ]
    for label, name, params in [
        ("ADASYN", "ADASYN", {}),
        ("BorderlineSMOTE borderline-1", "BorderlineSMOTE", {"kind": "borderline-1"}),
        ("BorderlineSMOTE borderline-2", "BorderlineSMOTE", {"kind": "borderline-2"}),
        (
            "KMeansSMOTE (cluster_balance_threshold=0.1)",
            "KMeansSMOTE",
            {"cluster_balance_threshold": 0.1},
        ),
    ]:
        rows.append(
            _row(
                "smote-family",
                name,
                "gaussian",
                n(100_000, 2_000),
                20,
                params={**seed, **params},
                label=label,
            )
        )
    rows.append(
        _row("smote-family", "SVMSMOTE", "gaussian", n(20_000, 2_000), 20, params=seed)
    )
    for name in [
        "TomekLinks",
        "EditedNearestNeighbours",
        "RepeatedEditedNearestNeighbours",
        "AllKNN",
        "NeighbourhoodCleaningRule",
        "OneSidedSelection",
        "SMOTETomek",
        "SMOTEENN",
    ]:
        random = name in ("OneSidedSelection", "SMOTETomek", "SMOTEENN")
        rows.append(
            _row(
                "cleaning",
                name,
                "gaussian",
                n(40_000, 2_000),
                20,
                params=seed if random else {},
            )
        )
    # imbalanced-learn's CNN is a Python loop over the rows.
    rows.append(
        _row(
            "cleaning",
            "CondensedNearestNeighbour",
            "gaussian",
            n(5_000, 300),
            20,
            params=seed,
        )
    )
    for name in ["TomekLinks", "EditedNearestNeighbours"]:
        rows.append(_row("cleaning", name, "gaussian", n(200_000, 3_000), 4))
    for version, size in [
        (1, n(100_000, 3_000)),
        (2, n(20_000, 2_000)),
        (3, n(100_000, 3_000)),
    ]:
        rows.append(
            _row(
                "nearmiss",
                "NearMiss",
                "gaussian",
                size,
                20,
                params={"version": version},
                label=f"NearMiss-{version}",
                floor=None if version == 2 else "majority-query",
            )
        )
    for name in ["RandomOverSampler", "RandomUnderSampler", "StratifiedSampler"]:
        rows.append(
            _row(
                "random",
                name,
                "gaussian",
                n(1_000_000, 5_000),
                20,
                params=seed,
                floor="copy",
            )
        )
    rows += [
        _row(
            "knn",
            "kneighbors",
            "gaussian",
            n(50_000, 2_000),
            20,
            params={"algorithm": "auto"},
            baseline="brute",
            floor="all-pairs",
            label="auto",
        ),
        _row(
            "knn",
            "kneighbors",
            "gaussian",
            n(200_000, 5_000),
            4,
            params={"algorithm": "auto"},
            baseline="kd_tree",
            floor="all-pairs",
            label="auto",
        ),
        _row(
            "knn",
            "kneighbors",
            "blobs",
            n(50_000, 3_000),
            20,
            params={"algorithm": "auto"},
            baseline="brute",
            floor="all-pairs",
            label="auto",
        ),
        _row(
            "knn",
            "kneighbors",
            "blobs",
            n(50_000, 3_000),
            20,
            params={"algorithm": "pruned"},
            baseline="brute",
            floor="all-pairs",
            label='algorithm="pruned"',
        ),
    ]
    for data in ["counts", "flags", "quantized", "mixed"]:
        for name in ["SMOTE", "TomekLinks", "EditedNearestNeighbours"]:
            rows.append(
                _row(
                    "realistic",
                    name,
                    data,
                    n(20_000, 1_500),
                    None,
                    params=seed if name == "SMOTE" else {},
                )
            )
    rows += [
        _row("categorical", "SMOTENC", "smote-nc", n(10_000, 1_000), 20, params=seed),
        _row("categorical", "SMOTEN", "smote-n", n(20_000, 1_000), 20, params=seed),
    ]
    return rows


# --------------------------------------------------------------------------
# The child process: one row, both libraries.


def _data(spec: dict[str, Any]):
    """X, y and extra sampler keywords of a row (deterministic)."""
    if spec["data"] == "smote-nc":
        X, y, cats = realistic_data.smote_nc_data(spec["n"])
        return X, y, {"categorical_features": cats}
    if spec["data"] == "smote-n":
        X, y = realistic_data.smote_n_data(spec["n"])
        return X, y, {}
    X, y = realistic_data.make(spec["data"], spec["n"], spec["d"])
    return X, y, {}


def _sampler_class(lib: str, name: str):
    import importlib

    root = "imblearn" if lib == "imblearn" else "imbfast"
    for sub in ("over_sampling", "under_sampling", "combine"):
        module = importlib.import_module(f"{root}.{sub}")
        if hasattr(module, name):
            return getattr(module, name)
    raise ValueError(f"{root} has no sampler {name}")


def _make_call(lib: str, spec: dict[str, Any], extra: dict[str, Any], threads: int):
    """A function (X, y) -> (X_res, y_res, sample_indices or None)."""
    if spec["section"] == "knn":
        k = 5
        if lib == "imblearn":
            from sklearn.neighbors import NearestNeighbors

            def knn(X, y):
                nn = NearestNeighbors(
                    n_neighbors=k, algorithm=spec["baseline"], n_jobs=threads
                ).fit(X)
                return nn.kneighbors(return_distance=False), None, None

            return knn
        from imbfast.neighbors import kneighbors

        def knn_fast(X, y):
            ind = kneighbors(
                X, k, n_jobs=threads, algorithm=spec["params"]["algorithm"]
            )
            return ind, None, None

        return knn_fast
    name = spec["sampler"]
    if lib == "imblearn" and name == "StratifiedSampler":
        name = "RandomUnderSampler"
    cls = _sampler_class(lib, name)
    params = {**spec["params"], **extra}
    if "n_jobs" in cls(**params).get_params():
        params["n_jobs"] = threads

    def call(X, y):
        sampler = cls(**params)
        X_res, y_res = sampler.fit_resample(X, y)
        return X_res, y_res, getattr(sampler, "sample_indices_", None)

    return call


def _floor_inputs(spec, X, y, out) -> dict[str, float]:
    """FLOP and bytes of the row's physical floor (see the module docstring)."""
    kind = spec["floor"]
    n, d = X.shape
    X_res, y_res = out[0], out[1]
    if kind == "all-pairs":
        return {"flop": measure.all_pairs_flop(n, d), "bytes": 0.0}
    if kind == "smote":
        before = dict(zip(*np.unique(y, return_counts=True), strict=True))
        after = dict(zip(*np.unique(y_res, return_counts=True), strict=True))
        grown = [c for c in before if after.get(c, 0) > before[c]]
        flop = sum(measure.all_pairs_flop(int(before[c]), d) for c in grown)
        new_rows = X_res.shape[0] - n
        return {"flop": flop, "bytes": float(new_rows * d * X_res.itemsize)}
    if kind == "majority-query":
        counts = np.bincount(y)
        n_min = int(counts.min())
        return {"flop": measure.query_flop(n - n_min, n_min, d), "bytes": 0.0}
    if kind == "copy":
        return {"flop": 0.0, "bytes": float(X_res.nbytes + y_res.nbytes)}
    return {}


def _verdict(spec, X, y, outs) -> str:
    ours, theirs = outs["imbfast"], outs["imblearn"]
    if spec["sampler"] == "StratifiedSampler":
        same = np.array_equal(np.bincount(ours[1]), np.bincount(theirs[1]))
        return "same counts" if same else "DIFFERENT"
    if measure.outputs_equal(ours, theirs):
        return "equal"
    if spec["section"] != "categorical" and measure.has_ties(X):
        return "ties, rule checked" if measure.tie_rule_holds(X) else "DIFFERENT"
    return "DIFFERENT"


def child(spec: dict[str, Any]) -> dict[str, Any]:
    threads = spec["threads"]
    from imbfast.neighbors import last_plan

    X, y, extra = _data(spec)
    calls = {
        lib: _make_call(lib, spec, extra, threads) for lib in ("imblearn", "imbfast")
    }
    times: dict[str, list[float]] = {"imblearn": [], "imbfast": []}
    peaks = {"imblearn": 0, "imbfast": 0}
    exact_peak = True
    outs: dict[str, Any] = {}
    engine = "-"
    with measure.same_threads(threads):
        # Warm-up (imports, thread pools, scikit-learn's first calls) on a
        # slice of the rows with every class in it.
        rng = np.random.default_rng(0)
        warm = np.sort(rng.permutation(len(y))[: min(len(y) // 2, 2000)])
        for call in calls.values():
            try:
                call(X[warm], y[warm])
            except (ValueError, RuntimeError):
                pass  # some samplers refuse a slice; it only loads code

        # Each call waits for the process's other threads to stop spinning
        # (OpenMP and OpenBLAS workers slow down whatever runs right after
        # them), and each round swaps which library goes first. The first
        # round also measures the peak memory and decides the rounds: a slow
        # row keeps it as its one timed round; a fast row is then timed in
        # 3 more rounds without the memory measurement, which hands freed
        # heap pages back to the OS first and so costs the next call about
        # 2 ms of page faults (a sixth of SMOTE's time on 20k rows).
        def one_round(r: int, memory: bool) -> None:
            nonlocal exact_peak, engine
            for lib in ("imblearn", "imbfast")[:: 1 if r % 2 == 0 else -1]:
                outs.pop(lib, None)
                measure.quiesce()
                with contextlib.ExitStack() as stack:
                    mem = stack.enter_context(measure.PeakMemory()) if memory else None
                    start = time.perf_counter()
                    out = calls[lib](X, y)
                    times[lib].append(time.perf_counter() - start)
                outs[lib] = out
                if mem is not None:
                    peaks[lib] = max(peaks[lib], mem.extra)
                    exact_peak = exact_peak and mem.exact
                if lib == "imbfast" and spec["sampler"] not in NO_SEARCH:
                    engine = last_plan().get("algorithm", "-")

        one_round(0, memory=True)
        rounds = spec.get("rounds")
        if rounds is None:
            slowest = max(times["imblearn"][0], times["imbfast"][0])
            rounds = 3 if slowest < spec["fast_seconds"] else 1
        if rounds > 1:
            for lib_times in times.values():
                lib_times.clear()
            for r in range(rounds):
                one_round(r + 1, memory=False)
        # The floor's rates, measured in this process right after the row's
        # rounds (same threads, same moment's machine load).
        # (Smaller measurements in quick mode: its floors are only smoke.)
        quick = spec.get("quick", False)
        rates = (
            {
                "gemm": measure.gemm_rate(1024 if quick else 2048, repeat=5),
                "copy": measure.copy_bandwidth(2**25 if quick else 2**28),
            }
            if spec["floor"]
            else {}
        )
    verdict = _verdict(spec, X, y, outs)
    ours = outs["imbfast"]
    return {
        "n": int(X.shape[0]),
        "d": int(X.shape[1]),
        "rounds": rounds,
        "imblearn": statistics.median(times["imblearn"]),
        "imbfast": statistics.median(times["imbfast"]),
        "peak_imblearn": peaks["imblearn"],
        "peak_imbfast": peaks["imbfast"],
        "verdict": verdict,
        "engine": engine,
        "rows_out": int(np.asarray(ours[0]).shape[0]),
        "floor": _floor_inputs(spec, X, y, ours) if spec["floor"] else {},
        "rates": rates,
        "exact_peak": exact_peak,
    }


NO_SEARCH = {"RandomOverSampler", "RandomUnderSampler", "StratifiedSampler"}


# --------------------------------------------------------------------------
# The parent: runs the rows, writes the Markdown.


def run_row(
    spec: dict[str, Any], timeout: float, in_process: bool = False
) -> dict[str, Any]:
    """One row's measurements, from a fresh child process (or this one)."""
    if in_process:
        return child(spec)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
        path = fh.name
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", path],
            capture_output=True,
            text=True,
            env=measure.thread_env(spec["threads"]),
            timeout=timeout,
            check=False,
        )
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s >= 100:
        return f"{s:.0f} s"
    if s >= 1:
        return f"{s:.2f} s"
    return f"{s * 1000:.1f} ms" if s < 0.1 else f"{s:.3f} s"


def _mb(b: float) -> str:
    return f"{b / 2**20:.0f}" if b >= 2**20 else f"{b / 2**20:.1f}"


def _data_label(spec: dict[str, Any], res: dict[str, Any]) -> str:
    return f"{spec['data']}, {res['n']:,} x {res['d']}"


def format_row(spec: dict[str, Any], res: dict[str, Any]) -> str:
    if "error" in res:
        return f"| {spec['label']} | {spec['data']}, {spec['n']:,} | error: " + (
            " ".join(res["error"])[:200] + " |"
        )
    ratio = res["imblearn"] / res["imbfast"] if res["imbfast"] > 0 else float("inf")
    floor = x_floor = ""
    if res["floor"] and res["engine"] in ("brute", "pruned", "-"):
        rates = res["rates"]
        f = res["floor"]["flop"] / rates["gemm"] + res["floor"]["bytes"] / rates["copy"]
        if f > 0:
            floor = _seconds(f)
            x_floor = f"{res['imbfast'] / f:.2f}"
    return (
        f"| {spec['label']} | {_data_label(spec, res)} | {res['rounds']} "
        f"| {_seconds(res['imblearn'])} | {_seconds(res['imbfast'])} "
        f"| {ratio:.1f}x | {floor} | {x_floor} "
        f"| {_mb(res['peak_imblearn'])} / {_mb(res['peak_imbfast'])} "
        f"| {res['verdict']} | {res['engine']} |"
    )


HEADER = (
    "| | data, rows x features | rounds | imbalanced-learn | imbfast | ratio "
    "| floor | x floor | extra peak MB (imblearn / imbfast) | output | engine |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
)


def report(args: argparse.Namespace) -> tuple[str, bool]:
    """Run every selected row; the Markdown and whether every output matched."""
    threads = args.threads or measure.usable_cores()
    wanted = set(args.sections.split(",")) if args.sections else None
    only = [w for w in args.only.split(",") if w]
    rows = [
        r
        for r in plan_rows(args.quick)
        if (wanted is None or r["section"] in wanted)
        and (not only or any(w in f"{r['label']} {r['data']}" for w in only))
    ]
    started = time.time()
    load_start = measure.load_average()
    gemm: list[float] = []
    copy: list[float] = []
    ok = True
    body: list[str] = []
    for key, title, text in SECTIONS:
        mine = [r for r in rows if r["section"] == key]
        if not mine:
            continue
        body += ["", f"#### {title}", "", text, "", HEADER]
        for spec in mine:
            spec.update(
                threads=threads, fast_seconds=args.fast_seconds, quick=args.quick
            )
            res = run_row(spec, args.timeout, args.in_process)
            line = format_row(spec, res)
            if res.get("rates"):
                gemm.append(res["rates"]["gemm"])
                copy.append(res["rates"]["copy"])
            ok = ok and "error" not in res and res["verdict"] != "DIFFERENT"
            body.append(line)
            print(line, file=sys.stderr, flush=True)
    minutes = (time.time() - started) / 60
    measured = (
        f"Measured in this run, in each row's process after its timed rounds: "
        f"float32 GEMM {min(gemm) / 1e9:.0f}-{max(gemm) / 1e9:.0f} GFLOP/s, "
        f"copy bandwidth {min(copy) / 1e9:.1f}-{max(copy) / 1e9:.1f} GB/s."
        if gemm
        else ""
    )
    command = "BENCH_QUICK=1 make bench-report" if args.quick else "make bench-report"
    head = [
        f"Generated by `{command}` (`benchmarks/bench_report.py"
        f"{' --quick' if args.quick else ''}`) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))} in "
        f"{minutes:.1f} min."
        + (
            " Quick mode: tiny sizes, a smoke test of the script; its"
            " figures say nothing about speed at real sizes (run"
            " `make bench-report` for those)."
            if args.quick
            else ""
        ),
        "",
        f"Machine: {measure.machine_line(threads)}. {measured} Load average "
        f"{load_start} at the start, {measure.load_average()} at the end.",
        "",
        "Each row: both libraries in one fresh process on the same data and "
        "thread count, after a warm-up, the same number of rounds (median "
        "time; 3 rounds where a round takes under "
        f"{args.fast_seconds:g} s); output `equal` = X, y and `sample_indices_` "
        "`np.array_equal`; `ties, rule checked` = data with equal distances, "
        "where imbfast's order (self excluded by index, ties by lower index) "
        "was verified instead; extra peak MB = peak RSS during the call minus "
        "the RSS before it, output included; floor = n²·d FLOP (all pairs) or "
        "2·q·n·d (q queries) at the GEMM rate plus output bytes at the copy "
        "bandwidth, both measured in the row's process; engine = imbfast's "
        "neighbour engine (last search).",
    ]
    return "\n".join([*head, *body]) + "\n", ok


def rewrite_readme(path: Path, text: str) -> None:
    """Replace what lies between the bench-report markers of ``path``."""
    readme = path.read_text()
    try:
        before, rest = readme.split(START, 1)
        _, after = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"{path}: no {START} ... {END} block") from None
    path.write_text(f"{before}{START}\n{text}{END}{after}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("BENCH_QUICK", "") not in ("", "0"),
        help="tiny sizes: a smoke test (also BENCH_QUICK=1)",
    )
    parser.add_argument(
        "--sections",
        default="",
        help="comma-separated: " + ",".join(s[0] for s in SECTIONS),
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated words: only rows whose label or data name contains one",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for both libraries (default: every usable core)",
    )
    parser.add_argument(
        "--fast-seconds",
        type=float,
        default=None,
        help="3 rounds when a round takes less, else 1 (default 5; --quick: 0.05)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds allowed per row"
    )
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    parser.add_argument(
        "--readme", type=Path, help="rewrite this file's bench-report block"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the rows in this process (smoke tests only: "
        "peak memory and thread pools are then shared)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fast_seconds is None:
        args.fast_seconds = 0.05 if args.quick else 5.0
    if args.child:
        spec = json.loads(Path(args.child).read_text())
        print(json.dumps(child(spec)))
        return 0
    text, ok = report(args)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.readme:
        rewrite_readme(args.readme, text)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
