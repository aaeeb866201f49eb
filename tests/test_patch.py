"""imbfast.patch(): imbalanced-learn's names give imbfast's samplers."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import threading

import imblearn.combine._smote_enn as imb_smote_enn
import imblearn.ensemble as imb_ensemble
import imblearn.ensemble._forest as imb_forest
import imblearn.over_sampling as imb_over
import imblearn.under_sampling as imb_under
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.tree import DecisionTreeClassifier

import imbfast
import imbfast.combine
import imbfast.over_sampling
import imbfast.under_sampling
from imbfast._patch import PACKAGES, REGISTRY

ORIGINAL_SMOTE = imb_over.SMOTE
ORIGINAL_RUS = imb_under.RandomUnderSampler


@pytest.fixture(autouse=True)
def _never_leave_patched():
    assert not REGISTRY.active
    yield
    if REGISTRY.active:
        imbfast.unpatch()


def _expected_names():
    """Every imbfast sampler that has an imblearn namesake, from __all__."""
    names = []
    for fast_name, imb_name in PACKAGES:
        fast = importlib.import_module(fast_name)
        imb = importlib.import_module(imb_name)
        names += [f"{imb_name}.{n}" for n in fast.__all__ if hasattr(imb, n)]
    return names


def test_patch_replaces_every_discovered_sampler_and_unpatch_restores():
    replaced = imbfast.patch()
    assert replaced == _expected_names()
    assert "imblearn.under_sampling.NearMiss" in replaced
    assert "imblearn.over_sampling.SMOTE" in replaced
    from imblearn.over_sampling import SMOTE
    from imblearn.under_sampling import RandomUnderSampler

    assert SMOTE is imbfast.over_sampling.SMOTE
    assert RandomUnderSampler is imbfast.under_sampling.RandomUnderSampler
    # Inside imbalanced-learn's own modules, bound at their import time.
    assert imb_smote_enn.SMOTE is imbfast.over_sampling.SMOTE
    assert imb_forest.RandomUnderSampler is imbfast.under_sampling.RandomUnderSampler
    # The defining modules too, so later imports of private paths agree.
    from imblearn.over_sampling._smote.base import SMOTE as private_smote

    assert private_smote is imbfast.over_sampling.SMOTE

    restored = imbfast.unpatch()
    assert restored == replaced
    assert imb_over.SMOTE is ORIGINAL_SMOTE
    assert imb_forest.RandomUnderSampler is ORIGINAL_RUS
    assert imb_smote_enn.SMOTE is ORIGINAL_SMOTE


def test_patch_twice_and_unpatch_twice_are_no_ops_with_a_warning():
    first = imbfast.patch()
    with pytest.warns(UserWarning, match="already patched; nothing done"):
        assert imbfast.patch() == []
    assert imb_over.SMOTE is imbfast.over_sampling.SMOTE
    assert imbfast.unpatch() == first
    with pytest.warns(UserWarning, match="not patched; nothing done"):
        assert imbfast.unpatch() == []
    assert imb_over.SMOTE is ORIGINAL_SMOTE


def test_verbose_prints_one_line(capsys):
    replaced = imbfast.patch(verbose=True)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert f"{len(replaced)} imbalanced-learn samplers use imbfast" in out
    imbfast.unpatch(verbose=True)
    assert "restored" in capsys.readouterr().out


def test_patched_block_and_nesting():
    with imbfast.patched() as replaced:
        assert replaced
        assert imb_under.RandomUnderSampler is imbfast.under_sampling.RandomUnderSampler
        with imbfast.patched() as inner:
            assert inner == []
        # The inner block did not unpatch what the outer one patched.
        assert imb_under.RandomUnderSampler is imbfast.under_sampling.RandomUnderSampler
    assert imb_under.RandomUnderSampler is ORIGINAL_RUS
    with pytest.raises(RuntimeError, match="boom"), imbfast.patched():
        raise RuntimeError("boom")
    assert imb_over.SMOTE is ORIGINAL_SMOTE


@pytest.mark.filterwarnings("ignore:.*already patched:UserWarning")
def test_concurrent_patch_calls_patch_once():
    results = []
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        results.append(imbfast.patch())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert sum(bool(r) for r in results) == 1
    imbfast.unpatch()
    assert imb_over.SMOTE is ORIGINAL_SMOTE


def test_import_of_the_module_keeps_imbfast_patch_callable():
    import imbfast.patch as patch_module

    assert callable(imbfast.patch)
    assert patch_module.patch is imbfast._patch.patch
    replaced = imbfast.patch()
    assert replaced
    imbfast.unpatch()


def test_importing_imbfast_does_not_import_imblearn_or_the_patch():
    code = (
        "import sys, imbfast; "
        "print('imblearn' in sys.modules, 'imbfast._patch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split()[-2:] == ["False", "False"]


def test_modules_imported_while_patched_are_restored_too():
    code = textwrap.dedent(
        """
        import imbfast
        imbfast.patch()
        import imblearn.ensemble._bagging as bagging  # first imported now
        import imbfast.under_sampling as fu
        assert bagging.RandomUnderSampler is fu.RandomUnderSampler
        imbfast.unpatch()
        import imblearn.under_sampling as iu
        assert bagging.RandomUnderSampler is iu.RandomUnderSampler
        assert bagging.RandomUnderSampler.__module__.startswith("imblearn")
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "ok"


USER_SCRIPT = textwrap.dedent(
    """
    import sys

    import numpy as np
    from imblearn.combine import SMOTEENN
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import make_pipeline
    from imblearn.under_sampling import NearMiss, RandomUnderSampler
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(n_samples=2000, n_features=12, weights=[0.1, 0.9],
                               random_state=int(sys.argv[2]))
    X_sm, y_sm = SMOTE(random_state=0).fit_resample(X, y)
    X_nm, y_nm = NearMiss(version=2).fit_resample(X, y)
    X_se, y_se = SMOTEENN(random_state=1).fit_resample(X, y)
    model = make_pipeline(RandomUnderSampler(random_state=2), LogisticRegression())
    proba = model.fit(X, y).predict_proba(X)
    np.savez(sys.argv[1], X_sm=X_sm, y_sm=y_sm, X_nm=X_nm, X_se=X_se, y_se=y_se,
             proba=proba)
    print(type(model.steps[0][1]).__module__)
    """
)


def test_unmodified_script_same_result_patched_and_unpatched(tmp_path):
    script = tmp_path / "user_script.py"
    script.write_text(USER_SCRIPT)
    plain, fast = tmp_path / "plain.npz", tmp_path / "fast.npz"
    run_plain = subprocess.run(
        [sys.executable, str(script), str(plain), "7"],
        capture_output=True,
        text=True,
        check=True,
    )
    run_fast = subprocess.run(
        [sys.executable, "-m", "imbfast.patch", "-v", str(script), str(fast), "7"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run_plain.stdout.strip().startswith("imblearn.")
    first, module, last = run_fast.stdout.strip().splitlines()
    assert "restored" in last
    assert "imbalanced-learn samplers use imbfast" in first
    assert module.startswith("imbfast.")
    with np.load(plain) as a, np.load(fast) as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_script_runner_bad_usage(tmp_path):
    missing = subprocess.run(
        [sys.executable, "-m", "imbfast.patch", str(tmp_path / "nope.py")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert "no such script" in missing.stderr
    empty = subprocess.run(
        [sys.executable, "-m", "imbfast.patch"], capture_output=True, text=True
    )
    assert empty.returncode == 2
    assert "usage" in empty.stderr


def test_script_exit_code_propagates(tmp_path):
    script = tmp_path / "exits.py"
    script.write_text("import sys\nsys.exit(3)\n")
    run = subprocess.run([sys.executable, "-m", "imbfast.patch", str(script)])
    assert run.returncode == 3


@pytest.fixture(scope="module")
def ensemble_data():
    X, y = make_classification(
        n_samples=600, n_features=8, weights=[0.15, 0.85], random_state=3
    )
    return X[:400], y[:400], X[400:]


ENSEMBLES = [
    ("BalancedRandomForestClassifier", {"n_estimators": 6}),
    ("BalancedBaggingClassifier", {"n_estimators": 6}),
    ("EasyEnsembleClassifier", {"n_estimators": 3}),
    (
        "RUSBoostClassifier",
        {"n_estimators": 6, "estimator": DecisionTreeClassifier(max_depth=3)},
    ),
]


def _fitted_samplers(model):
    if hasattr(model, "samplers_"):
        return list(model.samplers_)
    return [est.steps[0][1] for est in model.estimators_]


@pytest.mark.parametrize(("name", "params"), ENSEMBLES, ids=[e[0] for e in ENSEMBLES])
def test_ensembles_same_predictions_through_the_patch(name, params, ensemble_data):
    X, y, X_test = ensemble_data
    cls = getattr(imb_ensemble, name)
    plain = cls(random_state=0, **params).fit(X, y)
    with imbfast.patched():
        fast = cls(random_state=0, **params).fit(X, y)
    samplers = _fitted_samplers(fast)
    assert samplers
    assert all(type(s) is imbfast.under_sampling.RandomUnderSampler for s in samplers)
    assert all(type(s) is ORIGINAL_RUS for s in _fitted_samplers(plain))
    np.testing.assert_array_equal(fast.predict(X_test), plain.predict(X_test))
    np.testing.assert_array_equal(
        fast.predict_proba(X_test), plain.predict_proba(X_test)
    )


def test_balanced_bagging_with_imbfast_sampler(ensemble_data):
    X, y, X_test = ensemble_data
    ours = imb_ensemble.BalancedBaggingClassifier(
        sampler=imbfast.under_sampling.RandomUnderSampler(),
        n_estimators=6,
        random_state=0,
    ).fit(X, y)
    theirs = imb_ensemble.BalancedBaggingClassifier(
        sampler=ORIGINAL_RUS(), n_estimators=6, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(
        ours.predict_proba(X_test), theirs.predict_proba(X_test)
    )
    # Other imbfast samplers work as BalancedBaggingClassifier's sampler too.
    nm = imb_ensemble.BalancedBaggingClassifier(
        sampler=imbfast.under_sampling.NearMiss(), n_estimators=4, random_state=0
    ).fit(X, y)
    nm_theirs = imb_ensemble.BalancedBaggingClassifier(
        sampler=imb_under.NearMiss(), n_estimators=4, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(nm.predict(X_test), nm_theirs.predict(X_test))
