"""The docker provider's removal of engine objects when another client removes them too."""

from __future__ import annotations

import docker.errors
import pytest
import requests

from mason.core.errors import ProviderError
from mason.providers.docker.provider import remove


def _api_error(status: int, text: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    cls = docker.errors.NotFound if status == 404 else docker.errors.APIError
    return cls(f"{status} Client Error", response=response, explanation=text)


class Engine:
    """An engine object whose removal answers ``replies`` in turn (None: removed)."""

    def __init__(self, *replies: docker.errors.APIError | None) -> None:
        self.replies = list(replies)
        self.calls = 0

    def remove(self, **options: object) -> None:
        self.calls += 1
        reply = self.replies.pop(0)
        if reply is not None:
            raise reply


IN_PROGRESS = "removal of container mason-mtx-h1 is already in progress"


def test_removal_already_in_progress_is_waited_for_and_counts_as_done():
    busy = _api_error(409, IN_PROGRESS)
    obj = Engine(busy, busy, _api_error(404, "gone"))
    assert remove(obj, "container mason-mtx-h1", force=True) is True
    assert obj.calls == 3


def test_an_object_already_gone_is_not_reported_removed():
    assert remove(Engine(_api_error(404, "no such container")), "container x") is False


def test_a_volume_held_by_a_container_being_removed_is_removed_once_free():
    obj = Engine(_api_error(409, "volume is in use - [abc]"), None)
    assert remove(obj, "volume mason-mtx-h1-docker", force=True) is True


def test_a_conflict_that_outlasts_the_wait_is_one_provider_error_line():
    obj = Engine(*[_api_error(409, IN_PROGRESS)] * 100)
    with pytest.raises(ProviderError) as err:
        remove(obj, "container mason-mtx-h1", timeout=0.3)
    assert str(err.value) == f"cannot remove container mason-mtx-h1: {IN_PROGRESS}"


def test_any_other_engine_error_is_one_provider_error_line():
    with pytest.raises(ProviderError) as err:
        remove(Engine(_api_error(500, "boom")), "network mason-mtx")
    assert str(err.value) == "cannot remove network mason-mtx: boom"
