"""``SearchService`` under concurrent requests at a version change (issue 14's load bench)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from index.build import build_index
from retrieval.service import SearchService


def test_a_new_version_is_opened_once_by_concurrent_requests(index_copy, docs, encoder):
    service = SearchService(index_copy.parent)
    service.encoders.add(encoder)
    assert service.searcher("mini").index.manifest.version == "v000001"
    build_index(docs[:5], index_copy, encoder, progress=False)  # a rebuild publishes v000002
    opened, real_open = [], service._open

    def slow_open(entry):  # a large index takes a while to open: requests pile up meanwhile
        opened.append(entry.manifest.version)
        time.sleep(0.3)
        return real_open(entry)

    service._open = slow_open
    start = threading.Barrier(8)

    def request(_):
        start.wait()
        return service.searcher("mini")

    with ThreadPoolExecutor(8) as pool:
        searchers = list(pool.map(request, range(8)))
    assert opened == ["v000002"]
    assert {id(s) for s in searchers} == {id(searchers[0])}
    assert searchers[0].index.manifest.version == "v000002" and len(searchers[0].index.documents) == 5
