"""The GIL is released during long calls: two Python threads valuate in
parallel, and Python code runs while a call is under way. The wall-clock
test needs two idle cores (as CI has); the others hold on a loaded
machine too."""

import os
import threading
import time

import numpy as np
import pytest

import procura


def data():
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(20000, 16))
    y_train = rng.integers(0, 3, size=20000)
    x_test = rng.normal(size=(300, 16))
    y_test = rng.integers(0, 3, size=300)
    return x_train, y_train, x_test, y_test


def call(arrays):
    # One worker thread per call: two calls need two cores, not more.
    return procura.knn_shapley(*arrays, k=5, threads=1)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_two_threads_take_clearly_less_than_twice_one_call():
    arrays = data()
    call(arrays)
    one = min(timed(lambda: call(arrays)) for _ in range(3))
    assert one > 0.05, f"one call took {one:.3f} s: too short to time"
    results = [None, None]

    def worker(slot):
        results[slot] = call(arrays)

    def both():
        threads = [threading.Thread(target=worker, args=(slot,)) for slot in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    two = min(timed(both) for _ in range(3))
    print(f"one call {one:.3f} s, two calls in two threads {two:.3f} s ({two / one:.2f}×)")
    assert two < 1.5 * one, f"one call {one:.3f} s, two threads {two:.3f} s"
    assert np.array_equal(results[0], results[1])


def test_calls_from_two_threads_overlap():
    # Whatever the machine's load: with the GIL held, the second call could
    # start only once the first had returned.
    arrays = data()
    spans = [None, None]
    barrier = threading.Barrier(2)

    def worker(slot):
        barrier.wait()
        start = time.perf_counter()
        call(arrays)
        spans[slot] = (start, time.perf_counter())

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a0, a1), (b0, b1) = spans
    overlap = min(a1, b1) - max(a0, b0)
    shorter = min(a1 - a0, b1 - b0)
    assert overlap > 0.5 * shorter, spans


def test_python_runs_while_a_call_is_under_way():
    arrays = data()
    done = threading.Event()
    ticks = []

    def valuate():
        call(arrays)
        done.set()

    thread = threading.Thread(target=valuate)
    start = time.perf_counter()
    thread.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    thread.join()
    elapsed = time.perf_counter() - start
    # With the GIL held for the whole call the loop would tick once or
    # twice; released, it ticks about every millisecond.
    assert len(ticks) > max(10, 0.2 * elapsed / 0.001), (len(ticks), elapsed)


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _value_in_child(arrays):
    return procura.knn_shapley(*arrays, k=5), procura.knn_shapley(*arrays, k=5, threads=2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_calls_procura_after_its_parent():
    # The parent's worker threads are not copied into a forked child; the
    # child must not wait for them.
    import multiprocessing

    rng = np.random.default_rng(4)
    arrays = (rng.normal(size=(500, 4)), rng.integers(0, 2, 500),
              rng.normal(size=(20, 4)), rng.integers(0, 2, 20))
    here = _value_in_child(arrays)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        there = pool.apply_async(_value_in_child, (arrays,)).get(timeout=60)
    assert np.array_equal(here[0], there[0]) and np.array_equal(here[1], there[1])
