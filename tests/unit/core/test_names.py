import pytest

from mason.core.errors import ExitCode, InvalidInput
from mason.core.names import check_pod_name, group_name


@pytest.mark.parametrize("name", ["a", "demo", "web-1", "a" * 30, "p0d"])
def test_valid_pod_names(name):
    assert check_pod_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "must not be empty"),
        ("Demo", "lower-case"),
        ("-demo", "starting with a letter"),
        ("1demo", "starting with a letter"),
        ("demo-", "not ending with '-'"),
        ("de_mo", "lower-case letters, digits and '-'"),
        ("a" * 31, "at most 30 characters, got 31"),
    ],
)
def test_invalid_pod_names_say_why(name, why):
    with pytest.raises(InvalidInput) as err:
        check_pod_name(name)
    assert why in str(err.value)
    assert err.value.exit_code == ExitCode.INVALID


def test_group_names_are_ansible_safe():
    assert group_name("zone", "zone-a") == "zone_zone_a"
    assert group_name("pod", "my.pod") == "pod_my_pod"
