"""imbalanced-learn's and scikit-learn's estimator check suites, every sampler."""

from __future__ import annotations

from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from sklearn.utils.estimator_checks import (
    parametrize_with_checks as sklearn_parametrize_with_checks,
)

from imbfast.combine import SMOTEENN, SMOTETomek
from imbfast.over_sampling import (
    ADASYN,
    SMOTE,
    SVMSMOTE,
    BorderlineSMOTE,
    KMeansSMOTE,
    RandomOverSampler,
)
from imbfast.under_sampling import (
    AllKNN,
    CondensedNearestNeighbour,
    EditedNearestNeighbours,
    NeighbourhoodCleaningRule,
    OneSidedSelection,
    RandomUnderSampler,
    RepeatedEditedNearestNeighbours,
    StratifiedSampler,
    TomekLinks,
)

# One instance per sampler; every new sampler is added here.
SAMPLERS = [
    SMOTE(random_state=0),
    ADASYN(random_state=0),
    BorderlineSMOTE(random_state=0),
    BorderlineSMOTE(random_state=0, kind="borderline-2"),
    SVMSMOTE(random_state=0),
    KMeansSMOTE(random_state=0, kmeans_estimator=3, cluster_balance_threshold=0.1),
    RandomOverSampler(random_state=0),
    RandomUnderSampler(random_state=0),
    TomekLinks(),
    EditedNearestNeighbours(),
    RepeatedEditedNearestNeighbours(),
    AllKNN(),
    NeighbourhoodCleaningRule(),
    OneSidedSelection(random_state=0),
    CondensedNearestNeighbour(random_state=0),
    SMOTEENN(random_state=0),
    SMOTETomek(random_state=0),
    StratifiedSampler(random_state=0),
]


@imblearn_parametrize_with_checks(SAMPLERS)
def test_imblearn_checks(estimator, check):
    check(estimator)


@sklearn_parametrize_with_checks(SAMPLERS)
def test_sklearn_checks(estimator, check):
    check(estimator)
