"""Measurement code shared by the benchmark scripts.

One place for what every benchmark needs to be fair and to say what it
measured: the machine (CPU model, usable cores, the instruction set imbfast
dispatches to), the same thread count for both libraries (``n_jobs`` and
threadpoolctl limits on every BLAS/OpenMP pool, plus the environment of a
child process), peak memory of a call (Linux: the peak-RSS counter reset
through ``/proc/self/clear_refs``), the physical floors measured in the same
run (float32 GEMM rate for exact brute-force k-NN, copy bandwidth for
gathers and interpolation), and output comparison (arrays equal, digests,
the tie rule on data with equal distances).

Import it from a script in ``benchmarks/`` with ``import measure`` (the
scripts put their own directory on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

# Environment variables that size the OpenMP/BLAS pools of a child process.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
)


# --------------------------------------------------------------------------
# The machine


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what platform knows."""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def imbfast_config() -> dict[str, str]:
    """``imbfast.show_config()`` as a dict of strings (``simd`` and so on)."""
    import imbfast

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        imbfast.show_config()
    config = {}
    for line in out.getvalue().splitlines():
        key, sep, value = line.partition(":")
        if sep:
            config[key.strip()] = value.strip()
    return config


def memory_gb() -> float | None:
    """Physical memory in GB (Linux), None where unknown."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    return None


def load_average() -> str:
    """The 1-minute load average, or "n/a"."""
    with contextlib.suppress(OSError, AttributeError):
        return f"{os.getloadavg()[0]:.1f}"
    return "n/a"


def machine_line(threads: int) -> str:
    """One line naming the machine, ISA, thread count and library versions."""
    import imblearn
    import sklearn

    config = imbfast_config()
    mem = memory_gb()
    return (
        f"{cpu_model()}, {usable_cores()} usable cores"
        + (f", {mem:.0f} GB" if mem else "")
        + f"; imbfast {config.get('version', '?')} (SIMD {config.get('simd', '?')}"
        f", best {config.get('simd_best', '?')}), imbalanced-learn "
        f"{imblearn.__version__}, scikit-learn {sklearn.__version__}, NumPy "
        f"{np.__version__}; {threads} thread(s) for both libraries"
    )


# --------------------------------------------------------------------------
# Threads


def thread_env(threads: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """A child process's environment with every pool sized to ``threads``."""
    env = dict(os.environ if base is None else base)
    for var in THREAD_VARIABLES:
        env[var] = str(threads)
    return env


def run_child(code: str, threads: int, *args: object) -> dict[str, Any]:
    """Run a benchmark script in a fresh Python limited to ``threads`` threads.

    ``code`` gets this folder as ``sys.argv[1]`` (to import this module) and
    ``args`` after it, and must print one JSON object on its last line,
    which is returned. A failing child raises RuntimeError with its stderr.
    """
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), *map(str, args)],
        capture_output=True,
        text=True,
        env=thread_env(threads),
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_sampler(
    make: Callable[[], Any], X: Any, y: Any, rounds: int, warm: Any, threads: int
) -> dict[str, Any]:
    """Median time, extra peak memory and output digest of a sampler's calls.

    ``make()`` builds a fresh sampler; it is warmed up on ``X[warm]`` first,
    then timed ``rounds`` times on all of X, under :func:`same_threads`.
    """
    with same_threads(threads):
        make().fit_resample(X[warm], y[warm])  # imports, thread pools
        times, extra = [], 0
        for _ in range(rounds):
            sampler = make()
            quiesce()
            with PeakMemory() as mem:
                start = time.perf_counter()
                X_res, y_res = sampler.fit_resample(X, y)
                times.append(time.perf_counter() - start)
            extra = max(extra, mem.extra)
    indices = getattr(sampler, "sample_indices_", None)
    return {
        "seconds": statistics.median(times),
        "rounds": rounds,
        "extra_mb": extra / 2**20,
        "rows": len(y_res),
        "out_mb": X_res.nbytes / 2**20,
        "digest": digest(X_res, y_res, indices),
    }


@contextlib.contextmanager
def same_threads(threads: int | None) -> Iterator[None]:
    """Limit every BLAS/OpenMP pool of this process to ``threads`` (None: no limit).

    Use it around both libraries' calls, and give both ``n_jobs=threads``
    where they have the parameter: scikit-learn's compiled neighbour search
    (imbalanced-learn's) follows the OpenMP limit, not ``n_jobs``.
    """
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        yield


# --------------------------------------------------------------------------
# Time


def quiesce(max_wait: float = 0.5, window: float = 0.01) -> float:
    """Wait until no other thread of this process is using the CPU.

    OpenBLAS's and OpenMP's worker threads keep spinning for a while after
    a call (OpenBLAS up to about 0.1 s) and take a core from whatever runs
    next: at 1k rows that doubled imbfast's time right after an
    imbalanced-learn call. Call it before every timed call, so that both
    libraries start on idle cores. Returns the seconds waited (at most
    ``max_wait``): the process's CPU time is polled until it grows by less
    than a tenth of the wall time over a ``window``.
    """
    start = time.perf_counter()
    while time.perf_counter() - start < max_wait:
        cpu, wall = time.process_time(), time.perf_counter()
        time.sleep(window)
        if time.process_time() - cpu < 0.1 * (time.perf_counter() - wall):
            break
    return time.perf_counter() - start


def best_time(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Best wall time of ``repeat`` calls of fn (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


# --------------------------------------------------------------------------
# Physical floors


def copy_bandwidth(n_bytes: int = 256 * 2**20, repeat: int = 5) -> float:
    """Memory copy bandwidth in bytes written per second.

    A NumPy copy between two large buffers: the floor for kernels that write
    a new array (gathers, interpolation) is its output size at this rate.
    """
    src = np.ones(max(n_bytes // 8, 1))
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch both buffers before timing
    return src.nbytes / best_time(lambda: np.copyto(dst, src), repeat=repeat)


def gemm_rate(n: int = 2048, repeat: int = 3) -> float:
    """Float32 GEMM rate in FLOP/s (an n x n product, compute-bound).

    The floor of an exact brute-force k-NN: an all-pairs search of n rows of
    d features needs n²·d FLOP (each pair's dot product once), a search of
    q queries among n rows 2·q·n·d.
    """
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    return 2 * n**3 / best_time(lambda: a @ a, repeat=repeat)


def all_pairs_flop(n: int, d: int) -> float:
    """FLOP of an exact all-pairs search of n rows x d (each pair once)."""
    return float(n) * n * d


def query_flop(n_queries: int, n: int, d: int) -> float:
    """FLOP of an exact search of n_queries rows among n rows x d."""
    return 2.0 * n_queries * n * d


# --------------------------------------------------------------------------
# Memory


def _status_kb(field: str) -> int | None:
    with contextlib.suppress(OSError):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    return None


def reset_peak() -> bool:
    """Reset this process's peak-RSS counter (Linux); False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def release_freed_memory() -> None:
    """Hand freed heap pages back to the OS (glibc's ``malloc_trim``).

    Without it, memory a previous call freed stays resident and the next
    call's allocations reuse it unseen: its extra peak would be understated.
    (No ``gc.collect()``: arrays are freed by reference counting, and a full
    collection of a process that imported scikit-learn takes about 70 ms.)
    """
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError, TypeError):
            libc.malloc_trim(0)


@functools.cache
def _libc() -> Any:
    """The C library, loaded once (``find_library`` starts processes)."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


class PeakMemory:
    """Extra peak resident memory of a block, in bytes.

    ``with PeakMemory() as mem: work()`` then ``mem.extra``: the peak RSS
    during the block minus the RSS when it started (the work's memory,
    output included). Freed heap memory is handed back to the OS first
    (:func:`release_freed_memory`). On Linux the kernel's peak counter is
    reset at the start; elsewhere the process's lifetime peak is used,
    which can only overstate.
    """

    def __enter__(self) -> PeakMemory:
        release_freed_memory()
        self.exact = reset_peak()
        rss = _status_kb("VmRSS")
        self._base_kb = (
            rss
            if rss is not None
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        )
        self.extra = 0
        return self

    def __exit__(self, *exc: object) -> None:
        peak = _status_kb("VmHWM")
        if peak is None:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.extra = max(0, peak - self._base_kb) * 1024


# --------------------------------------------------------------------------
# Outputs


def digest(*arrays: Any) -> str:
    """SHA-256 over the arrays' dtypes, shapes and bytes (None is skipped)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(np.asarray(a))
        h.update(f"{a.dtype.str}{a.shape}".encode())
        if a.dtype == object:
            h.update(repr(a.tolist()).encode())
        else:
            h.update(a.tobytes())
    return h.hexdigest()


def outputs_equal(
    a: tuple[Any, Any, Any | None], b: tuple[Any, Any, Any | None]
) -> bool:
    """X, y and (where both have it) ``sample_indices_`` are array-equal."""
    (Xa, ya, sa), (Xb, yb, sb) = a, b
    same = np.array_equal(np.asarray(Xa), np.asarray(Xb)) and np.array_equal(
        np.asarray(ya), np.asarray(yb)
    )
    if sa is not None and sb is not None:
        same = same and np.array_equal(np.asarray(sa), np.asarray(sb))
    return bool(same)


def has_ties(X: np.ndarray) -> bool:
    """Whether the data makes equal neighbour distances likely.

    True when some row has an exact duplicate or some feature has fewer
    distinct values than half the rows (counts, flags, one-hot blocks);
    Gaussian data has neither.
    """
    X = np.asarray(X)
    if np.unique(X, axis=0).shape[0] < X.shape[0]:
        return True
    return bool(min(np.unique(col).size for col in X.T) < 0.5 * X.shape[0])


def tie_rule_holds(
    X: np.ndarray, k: int = 5, n_queries: int = 256, seed: int = 0
) -> bool:
    """imbfast's neighbour lists follow its documented tie rule on X.

    For ``n_queries`` random rows: imbfast's all-pairs ``kneighbors`` list of
    the row must not contain the row itself (excluded by index, duplicates
    or not), its distances must be the k smallest float64 distances of the
    row to the others (squared, computed here from row differences; equal
    to rounding, since imbfast sums in another order), and wherever
    imbfast's own squared distances are equal the lower index must come
    first. On data with equal
    distances this rule is what makes imbfast's output differ from
    imbalanced-learn's (which drops column 0 as "self" and orders equal
    distances as its search visits them).
    """
    from imbfast.neighbors import squared_kneighbors

    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    k = min(k, n - 1)
    found, found_dist = squared_kneighbors(X, k, n_threads=usable_cores())
    rows = np.random.default_rng(seed).choice(n, min(n_queries, n), replace=False)
    for r in rows:
        ind, got = found[r], found_dist[r]
        dist = ((X - X[r]) ** 2).sum(axis=1)
        dist[r] = np.inf
        best = np.sort(dist)[:k]
        if r in ind or not np.allclose(dist[ind], best, rtol=1e-9, atol=1e-12):
            return False
        same = got[1:] == got[:-1]
        if np.any(ind[1:][same] <= ind[:-1][same]):
            return False
    return True
