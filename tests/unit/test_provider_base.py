import pytest

from mason.core.errors import InvalidInput
from mason.providers.base import Host, PodSpec, check_growth


def hosts(n: int, environment: str = "dev") -> list[Host]:
    return [
        Host(name=f"p-h{i}", pod="p", provider="docker", environment=environment, zone="zone-a",
             role="worker", index=i, address="127.0.0.1", ssh_port=0, ssh_user="mason",
             cpu=1.0, memory=2**30)
        for i in range(1, n + 1)
    ]  # fmt: skip


def test_growing_or_keeping_the_count_is_allowed():
    check_growth(PodSpec(name="p", environment="dev", hosts=3), hosts(2))
    check_growth(PodSpec(name="p", environment="dev", hosts=2), hosts(2))
    check_growth(PodSpec(name="p", environment="prod", hosts=1), [])


def test_shrinking_is_refused():
    with pytest.raises(InvalidInput) as err:
        check_growth(PodSpec(name="p", environment="dev", hosts=1), hosts(2))
    assert str(err.value) == (
        "pod 'p' has 2 hosts; --hosts 1 would shrink it "
        "(shrinking is not supported: destroy and re-create, or keep the count)"
    )


def test_another_environment_is_refused():
    with pytest.raises(InvalidInput) as err:
        check_growth(PodSpec(name="p", environment="prod", hosts=3), hosts(2))
    assert str(err.value) == "pod 'p' exists in environment 'dev', not 'prod'"
