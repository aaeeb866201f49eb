"""Over-samplers: the same names and parameters as ``imblearn.over_sampling``."""

from imbfast.over_sampling._adasyn import ADASYN
from imbfast.over_sampling._borderline_smote import BorderlineSMOTE
from imbfast.over_sampling._kmeans_smote import KMeansSMOTE
from imbfast.over_sampling._random_over_sampler import RandomOverSampler
from imbfast.over_sampling._smote import SMOTE
from imbfast.over_sampling._smote_n import SMOTEN
from imbfast.over_sampling._smote_nc import SMOTENC
from imbfast.over_sampling._svm_smote import SVMSMOTE

__all__ = [
    "ADASYN",
    "SMOTE",
    "SMOTEN",
    "SMOTENC",
    "SVMSMOTE",
    "BorderlineSMOTE",
    "KMeansSMOTE",
    "RandomOverSampler",
]
