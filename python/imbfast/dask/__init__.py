"""imbfast on Dask: the same samplers, fed dask arrays or dataframes.

Nothing here is imported unless a dask collection reaches ``fit_resample``
(the samplers' one hand-off: :class:`imbfast.base.DaskDispatchMixin`);
install with ``pip install "imbfast[dask]"``. The samplers of
:func:`dask_samplers` and their subclasses return lazy dask collections of
the kind they were given, equal to what the same sampler returns on the same
data held in memory; the others raise a TypeError naming them.

With ``neighbors="approx"`` the searches against the partitions use the
approximate engine per partition (:func:`sharded_kneighbors`); the result is
then no longer exact, and ``neighbors_recall_`` is measured on a sample of
1000 queries against the exact sharded search. Partitions smaller than the
engine's index threshold are searched exactly.

Configuration (``dask.config``):

``imbfast.gather-limit``
    Largest minority class (in bytes) that SMOTE gathers into one process
    for an exact in-memory neighbour search; larger classes are searched
    through the sharded data (default ``"1GiB"``).
"""

from imbfast.dask._collections import is_dask_collection
from imbfast.dask._samplers import dask_samplers, fit_resample_dask
from imbfast.dask._search import sharded_kneighbors

__all__ = [
    "dask_samplers",
    "fit_resample_dask",
    "is_dask_collection",
    "sharded_kneighbors",
]
