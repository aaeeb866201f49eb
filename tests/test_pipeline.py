"""imbfast samplers inside imbalanced-learn's Pipeline and scikit-learn's search."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.pipeline import Pipeline, make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from imbfast.over_sampling import SMOTE, RandomOverSampler
from imbfast.under_sampling import RandomUnderSampler

SAMPLERS = [
    SMOTE(random_state=0),
    RandomOverSampler(random_state=0),
    RandomUnderSampler(random_state=0),
]


@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda s: type(s).__name__)
def test_pipeline_resamples_only_during_fit(binary_data, sampler):
    X, y = binary_data
    pipe = make_pipeline(StandardScaler(), sampler, LogisticRegression())
    pipe.fit(X, y)
    # predict sees every row: the sampler is skipped outside fit.
    assert pipe.predict(X).shape == (len(X),)
    assert pipe.score(X, y) > 0.8


def test_grid_search_over_sampler_parameters(binary_data):
    X, y = binary_data
    pipe = Pipeline([("smote", SMOTE(random_state=0)), ("clf", LogisticRegression())])
    search = GridSearchCV(
        pipe,
        {"smote__k_neighbors": [3, 5], "smote__sampling_strategy": [0.5, 1.0]},
        cv=StratifiedKFold(3),
        scoring="balanced_accuracy",
    )
    search.fit(X, y)
    assert set(search.best_params_) == {
        "smote__k_neighbors",
        "smote__sampling_strategy",
    }
    assert np.isfinite(search.best_score_)


def test_set_output_pandas_skips_samplers(binary_data):
    X, y = binary_data
    pipe = make_pipeline(StandardScaler(), RandomUnderSampler(random_state=0))
    pipe.set_output(transform="pandas")
    pipe.fit(X, y)
