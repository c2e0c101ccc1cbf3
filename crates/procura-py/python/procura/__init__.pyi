"""Type stubs of the procura package (the extension module procura._procura
and the pure-Python ``merge``)."""

import os
from typing import Any, Dict, Hashable, Iterable, List, Literal, Mapping, Optional, Protocol, Sequence, Tuple, TypedDict, Union

import numpy as np
import numpy.typing as npt

__version__: str

class InputError(ValueError):
    """Bad input: the command line's message, naming the field and the
    record, or the array, the row and the column."""

class Model(Protocol):
    """A scikit-learn-like classifier: ``fit(X, y)`` and ``predict(X)``
    (or ``score(X, y)``, the accuracy)."""

    def fit(self, X: Any, y: Any) -> Any: ...

JSONText = Union[str, bytes]
Instance = Union[Mapping[str, Any], JSONText]
Features = npt.ArrayLike
Labels = npt.ArrayLike
Groups = Union[Sequence[Hashable], npt.ArrayLike]
Values = Union[npt.NDArray[np.float64], Dict[Any, float]]
Columns = Dict[str, List[Any]]

def clear(
    instance: Instance, mechanism: str, *, protocol: Optional[str] = None
) -> Dict[str, Any]:
    """Clear one market: the outcome ``procura clear`` prints, as a dict."""

def audit(
    instance: Instance,
    mechanism: str,
    *,
    grid: int = 64,
    coalition_size: int = 2,
    max_coalitions: int = 2000,
    seed: Union[int, str] = 0,
    max_participants: Optional[int] = None,
) -> Dict[str, Any]:
    """Audit a mechanism on one instance: the report ``procura audit`` prints,
    with ``INSTANCE`` in its ``replay`` command where the instance's file
    goes. ``seed`` is an ``int`` or the decimal string that reports print
    (their ``search.seed``), bare or in double quotes."""

def verify(
    transcript: Instance, *, receipts: Optional[Sequence[Instance]] = None
) -> Dict[str, Any]:
    """Verify a live round's transcript: ``valid``, ``phase``, ``rule``,
    ``entry`` and ``error``."""

def knn_shapley(
    x_train: Features,
    y_train: Labels,
    x_test: Features,
    y_test: Labels,
    *,
    k: int = 5,
    groups: Optional[Groups] = None,
    provider_value: Literal["shapley", "row-sum"] = "shapley",
    metric: Literal["euclidean", "cosine"] = "euclidean",
    neighbours: Optional[int] = None,
    epsilon: Optional[float] = None,
    threads: Optional[int] = None,
) -> Values:
    """KNN-Shapley values (Jia et al. 2019), exact or truncated to the
    ``neighbours`` (or ``⌈1/epsilon⌉``) nearest rows, one per row or, with
    ``groups``, one per group: the group's Shapley value in the game whose
    players are the groups (``provider_value="shapley"``), or the sum of
    its rows' values (``"row-sum"``). float32 features are kept float32."""

def loo(
    x_train: Features,
    y_train: Labels,
    x_test: Features,
    y_test: Labels,
    *,
    model: Union[str, Model, None] = "logreg",
    k: int = 5,
    l2: float = 1.0,
    groups: Optional[Groups] = None,
    threads: Optional[int] = None,
) -> Values:
    """Leave-one-out values, one per row or group."""

def tmc_shapley(
    x_train: Features,
    y_train: Labels,
    x_test: Features,
    y_test: Labels,
    *,
    model: Union[str, Model, None] = "logreg",
    k: int = 5,
    l2: float = 1.0,
    samples: int = 1000,
    seed: int = 0,
    truncation: float = 0.01,
    target_se: Optional[float] = None,
    groups: Optional[Groups] = None,
    threads: Optional[int] = None,
) -> Values:
    """Truncated Monte-Carlo Shapley values, one per row or group."""

def banzhaf_msr(
    x_train: Features,
    y_train: Labels,
    x_test: Features,
    y_test: Labels,
    *,
    model: Union[str, Model, None] = "logreg",
    k: int = 5,
    l2: float = 1.0,
    samples: int = 1000,
    seed: int = 0,
    target_se: Optional[float] = None,
    groups: Optional[Groups] = None,
    threads: Optional[int] = None,
) -> Values:
    """Data Banzhaf values by maximum sample reuse, one per row or group."""

def quality(
    x_trusted: Features,
    y_trusted: Labels,
    x: Features,
    y: Labels,
    groups: Groups,
    *,
    model: str = "logreg",
    k: int = 5,
    l2: float = 1.0,
) -> Dict[Any, float]:
    """Quality scores: each group's agreement with a reference model."""

class _NpzArrays(TypedDict):
    x: npt.NDArray[Union[np.float32, np.float64]]
    y: npt.NDArray[Any]

class NpzData(_NpzArrays, total=False):
    """What ``read_npz`` returns: ``x`` (float32 or float64, rows ×
    features), ``y`` (integers or ``str``) and, when the file has it,
    ``provider``."""

    provider: npt.NDArray[Any]

def read_npz(path: Union[str, "os.PathLike[str]"]) -> NpzData:
    """Read an embedding dataset (arrays ``x``, ``y`` and optionally
    ``provider``) from a NumPy ``.npz`` archive, checked as ``procura
    value`` checks it."""

def experiment(
    config: Union[str, Mapping[str, Any]],
    *,
    threads: Optional[int] = None,
    shard: Union[str, Tuple[int, int], None] = None,
) -> Dict[str, Any]:
    """Run a Monte-Carlo experiment: ``results`` and ``summary`` as column
    dicts, with ``name``, ``experiment`` and ``shard``."""

def merge(parts: Iterable[Mapping[str, Any]]) -> Dict[str, Any]:
    """Merge the results of an experiment's shards into the whole run's."""
