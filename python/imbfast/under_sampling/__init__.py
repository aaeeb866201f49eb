"""Under-samplers: the same names and parameters as ``imblearn.under_sampling``."""

from imbfast.under_sampling._cluster_centroids import ClusterCentroids
from imbfast.under_sampling._condensed import (
    CondensedNearestNeighbour,
    OneSidedSelection,
)
from imbfast.under_sampling._edited_nearest_neighbours import (
    AllKNN,
    EditedNearestNeighbours,
    RepeatedEditedNearestNeighbours,
)
from imbfast.under_sampling._instance_hardness_threshold import (
    InstanceHardnessThreshold,
)
from imbfast.under_sampling._nearmiss import NearMiss
from imbfast.under_sampling._neighbourhood_cleaning_rule import (
    NeighbourhoodCleaningRule,
)
from imbfast.under_sampling._random_under_sampler import RandomUnderSampler
from imbfast.under_sampling._stratified_sampler import StratifiedSampler
from imbfast.under_sampling._tomek_links import TomekLinks

__all__ = [
    "AllKNN",
    "ClusterCentroids",
    "CondensedNearestNeighbour",
    "EditedNearestNeighbours",
    "InstanceHardnessThreshold",
    "NearMiss",
    "NeighbourhoodCleaningRule",
    "OneSidedSelection",
    "RandomUnderSampler",
    "RepeatedEditedNearestNeighbours",
    "StratifiedSampler",
    "TomekLinks",
]
