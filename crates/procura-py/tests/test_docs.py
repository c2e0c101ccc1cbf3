"""Every public function has a docstring with an example, and the examples
run."""

import doctest

import pytest

import procura

FUNCTIONS = [
    "clear", "audit", "verify", "knn_shapley", "loo", "tmc_shapley", "banzhaf_msr",
    "quality", "read_npz", "experiment", "merge",
]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_docstring_examples_run(name):
    function = getattr(procura, name)
    assert function.__doc__ and ">>> " in function.__doc__, name
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(function, name, globs={}):
        runner.run(test)
    assert runner.failures == 0


def test_the_package_ships_its_types():
    from importlib import resources

    files = resources.files("procura")
    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("__init__.pyi").is_file()
    assert procura.__version__.count(".") == 2
    assert issubclass(procura.InputError, ValueError)
    assert procura.InputError.__module__ == "procura"


# The API of issue 12: positional parameters, then keyword-only ones with
# their defaults (extra keyword-only parameters are allowed after them).
API = {
    "clear": (["instance", "mechanism"], {"protocol": None}),
    "audit": (["instance", "mechanism"],
              {"grid": 64, "coalition_size": 2, "max_coalitions": 2000, "seed": 0}),
    "knn_shapley": (["x_train", "y_train", "x_test", "y_test"],
                    {"k": 5, "groups": None, "provider_value": "shapley", "metric": "euclidean",
                     "neighbours": None, "epsilon": None, "threads": None}),
    "loo": (["x_train", "y_train", "x_test", "y_test"],
            {"model": "logreg", "k": 5, "l2": 1.0, "groups": None, "threads": None}),
    "tmc_shapley": (["x_train", "y_train", "x_test", "y_test"],
                    {"model": "logreg", "k": 5, "l2": 1.0, "samples": 1000, "seed": 0,
                     "truncation": 0.01, "target_se": None, "groups": None, "threads": None}),
    "banzhaf_msr": (["x_train", "y_train", "x_test", "y_test"],
                    {"model": "logreg", "k": 5, "l2": 1.0, "samples": 1000, "seed": 0,
                     "target_se": None, "groups": None, "threads": None}),
    "quality": (["x_trusted", "y_trusted", "x", "y", "groups"], {"model": "logreg", "l2": 1.0}),
    "experiment": (["config"], {"threads": None}),
    "verify": (["transcript"], {}),
    "read_npz": (["path"], {}),
}


@pytest.mark.parametrize("name", sorted(API))
def test_the_signatures_are_the_issues(name):
    import inspect

    positional, keywords = API[name]
    parameters = inspect.signature(getattr(procura, name)).parameters.values()
    assert [p.name for p in parameters if p.kind == p.POSITIONAL_OR_KEYWORD] == positional
    keyword_only = {p.name: p.default for p in parameters if p.kind == p.KEYWORD_ONLY}
    for keyword, default in keywords.items():
        assert keyword in keyword_only, (name, keyword)
        assert keyword_only[keyword] == default, (name, keyword, keyword_only[keyword])
