"""Once a service has started, the objects alive so far are frozen out of the cyclic collector's walks and
the young generation is collected less often (issue 17); unreachable cycles are still collected."""

import gc

from shared.runtime import GC_THRESHOLDS, settle_garbage_collector


def test_settled_collector_freezes_startup_objects_and_still_collects_cycles():
    thresholds = gc.get_threshold()
    try:
        settle_garbage_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.isenabled()

        class Node:
            pass

        node = Node()
        node.self = node
        del node
        assert gc.collect() > 0  # a cycle made after the freeze is still found
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
