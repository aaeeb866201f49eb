"""Under-samplers: the same names and parameters as ``imblearn.under_sampling``."""

from imbfast.under_sampling._random_under_sampler import RandomUnderSampler
from imbfast.under_sampling._stratified_sampler import StratifiedSampler

__all__ = ["RandomUnderSampler", "StratifiedSampler"]
