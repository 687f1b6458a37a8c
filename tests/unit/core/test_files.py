"""The guarded reader and the atomic writer, on real files, links, pipes and directories."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mason.core import documents, files
from mason.core.errors import InvalidInput, NotFound


def test_reads_utf8_text_and_drops_a_bom(tmp_path: Path):
    path = tmp_path / "a.yml"
    path.write_bytes(b"\xef\xbb\xbfname: caf\xc3\xa9\n")
    assert files.read_text(path) == "name: café\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("a: 1\n".encode("utf-16"), "a.yml: UTF-16 text, expected UTF-8 (convert it: iconv"),
        ("a: 1\n".encode("utf-32"), "a.yml: UTF-32 text, expected UTF-8"),
        (b"a: 1\nb: \x00\x01", "a.yml: line 2: a NUL byte: a binary file"),
        (b"a: 1\nb: 2\nc: \xff\n", "a.yml: line 3: byte 0xff is not UTF-8, expected UTF-8 text"),
    ],
)
def test_refuses_what_is_not_utf8_text(tmp_path: Path, data: bytes, message: str):
    path = tmp_path / "a.yml"
    path.write_bytes(data)
    with pytest.raises(InvalidInput) as err:
        files.read_text(path, source="a.yml")
    assert str(err.value).startswith(message)


def test_refuses_what_is_not_a_regular_file(tmp_path: Path):
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")  # reading it would block forever
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "dangling").symlink_to("nowhere.yml")
    cases = {
        "dir": (InvalidInput, "dir: a directory, expected a file"),
        "fifo": (InvalidInput, "fifo: a named pipe, expected a file"),
        "loop": (InvalidInput, "loop: a symlink loop"),
        "dangling": (NotFound, "dangling: a symlink to nowhere.yml, which does not exist"),
        "missing": (NotFound, "missing: no such file"),
    }
    for name, (kind, message) in cases.items():
        with pytest.raises(kind) as err:
            files.read_text(tmp_path / name, source=name)
        assert str(err.value).startswith(message), name
    # positive control: a symlink to a regular file is read through
    (tmp_path / "real.yml").write_text("a: 1\n")
    (tmp_path / "link.yml").symlink_to("real.yml")
    assert files.read_text(tmp_path / "link.yml") == "a: 1\n"


def test_size_cap(tmp_path: Path):
    path = tmp_path / "big.yml"
    path.write_bytes(b"#" * 1001)
    with pytest.raises(InvalidInput, match=r"big.yml: 1001 bytes, more than the 1000 bytes limit"):
        files.read_text(path, source="big.yml", max_bytes=1000)
    assert len(files.read_text(path, max_bytes=1001)) == 1001


def test_exists_reports_loops_and_dangling_links(tmp_path: Path):
    assert not files.exists(tmp_path / "absent")
    assert files.exists(tmp_path)
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(InvalidInput, match="symlink loop"):
        files.exists(tmp_path / "loop")
    (tmp_path / "dangling").symlink_to("nowhere")
    with pytest.raises(NotFound, match="which does not exist"):
        files.exists(tmp_path / "dangling")


def test_check_output_path(tmp_path: Path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    ok = [tmp_path / "new.xml", tmp_path / "file", tmp_path / "a" / "b" / "c.xml"]
    for path in ok:
        assert files.check_output_path(path) == path
    bad = {
        tmp_path / "file" / "x.xml": "a part of the path is a file, not a directory",
        tmp_path / "dir": "a directory, expected a file to write",
    }
    for path, message in bad.items():
        with pytest.raises(InvalidInput) as err:
            files.check_output_path(path, where="--report")
        assert str(err.value) == f"--report: {path}: {message}"
    assert not (tmp_path / "a").exists()  # checking made nothing


def test_write_text_is_whole_or_nothing(tmp_path: Path):
    path = tmp_path / "sub" / "out.yml"
    files.write_text(path, "a: 1\n")
    assert path.read_text() == "a: 1\n"
    path.chmod(0o640)
    files.write_text(path, "a: 2\n")
    assert path.read_text() == "a: 2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the mode is kept
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.yml"]  # no temporary left
    # through a symlink: the target changes, the link stays
    link = tmp_path / "link.yml"
    link.symlink_to(path)
    files.write_text(link, "a: 3\n")
    assert link.is_symlink() and path.read_text() == "a: 3\n"


def test_write_text_failure_leaves_the_old_file(tmp_path: Path):
    path = tmp_path / "out.yml"
    path.write_text("old\n")
    with pytest.raises(InvalidInput, match="cannot write"):
        files.write_text(path, "\udcff")  # cannot be encoded: the write fails midway
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yml"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a: 1\na: 2\n",
            "x.yml: line 2, column 1: invalid YAML: duplicate key 'a' (first given on line 1)",
        ),
        ("a: [\n", "x.yml: line 2, column 1: invalid YAML: expected the node content"),
        ("a: " + "[" * 100 + "]" * 100, "nested more than 64 levels deep"),
        ("a: &x [*x]\n", "an alias refers to a node it is inside"),
        ("a: 2001-02-30\n", "x.yml: line 1, column 4: invalid YAML: cannot read this value"),
        ("a: " + "1" * 5000 + "\n", "cannot read this value"),
        ("a: !!timestamp x\n", "x.yml: line 1, column 4: invalid YAML: cannot read this value"),
        ("a: !!binary x\n", "invalid YAML: failed to decode base64 data"),
        ("a: !!python/object/apply:os.system [ls]\n", "could not determine a constructor"),
        ("--- 1\n--- 2\n", "expected a single document in the stream, but found another"),
        ("a: 1\nb: \x07\n", "x.yml: line 2: invalid YAML: character #x0007 is not allowed"),
    ],
)
def test_yaml_problems_are_one_line(text: str, message: str):
    with pytest.raises(InvalidInput) as err:
        documents.parse_yaml(text, "x.yml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_billion_laughs_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(InvalidInput, match="aliases expand this document past"):
        documents.parse_yaml("\n".join(lines), "bomb.yml")


def test_yaml_merge_keys_and_aliases_still_work():
    text = "base: &b {cpu: 1, memory: 1Gi}\nweb:\n  <<: *b\n  cpu: 2\nlist: [*b, *b]\n"
    data = documents.parse_yaml(text, "x.yml")
    assert data["web"] == {"cpu": 2, "memory": "1Gi"}
    assert data["list"] == [{"cpu": 1, "memory": "1Gi"}] * 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"a": NaN}', "NaN is not a number JSON allows"),
        ("[" * 5000 + "]" * 5000, "nested more than 64 levels deep"),
        ("[" * 70 + "]" * 70, "nested more than 64 levels deep"),
        ('{"a": 1', "line 1, column 8: invalid JSON"),
    ],
)
def test_json_problems(text: str, message: str):
    with pytest.raises(InvalidInput) as err:
        documents.parse_json(text, "x.json")
    assert message in str(err.value)
    assert documents.parse_json('{"a": [1, 2.5]}', "x.json") == {"a": [1, 2.5]}


def test_a_path_with_a_nul_byte_is_invalid_input(tmp_path: Path):
    with pytest.raises(InvalidInput) as err:
        files.read_text(tmp_path / "a\x00b", source="f")
    assert str(err.value) == "f: a path cannot contain a NUL byte"
