"""Over-samplers: the same names and parameters as ``imblearn.over_sampling``."""

from imbfast.over_sampling._random_over_sampler import RandomOverSampler
from imbfast.over_sampling._smote import SMOTE
from imbfast.over_sampling._smote_n import SMOTEN
from imbfast.over_sampling._smote_nc import SMOTENC

__all__ = ["SMOTE", "SMOTEN", "SMOTENC", "RandomOverSampler"]
