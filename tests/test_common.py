"""imbalanced-learn's and scikit-learn's estimator check suites, every sampler."""

from __future__ import annotations

from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestClassifier
from sklearn.utils.estimator_checks import (
    parametrize_with_checks as sklearn_parametrize_with_checks,
)

from imbfast.combine import SMOTEENN, SMOTETomek
from imbfast.over_sampling import SMOTE, RandomOverSampler
from imbfast.under_sampling import (
    AllKNN,
    ClusterCentroids,
    CondensedNearestNeighbour,
    EditedNearestNeighbours,
    InstanceHardnessThreshold,
    NearMiss,
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
    NearMiss(),
    NearMiss(version=2),
    # imbalanced-learn checks its own ClusterCentroids this way: soft voting
    # (sparse input would otherwise vote 'hard' and differ from dense).
    ClusterCentroids(
        voting="soft", estimator=KMeans(random_state=0, n_init=1), random_state=0
    ),
    InstanceHardnessThreshold(
        estimator=RandomForestClassifier(n_estimators=10), random_state=0
    ),
]


@imblearn_parametrize_with_checks(SAMPLERS)
def test_imblearn_checks(estimator, check):
    check(estimator)


@sklearn_parametrize_with_checks(SAMPLERS)
def test_sklearn_checks(estimator, check):
    check(estimator)
