import pytest
from django.core.cache import caches

pytestmark = pytest.mark.services


def test_cache_instances_of_different_requests_share_one_connection_pool():
    # Django builds a new cache instance for every async context, i.e. for every ASGI request.
    first, second = caches.create_connection("default"), caches.create_connection("default")
    assert first is not second
    first.set("shared-pool-probe", 1)
    assert second.get("shared-pool-probe") == 1
    assert first._cache.get_client(write=True).connection_pool is second._cache.get_client(write=True).connection_pool
