"""Write several small files in one module run (owner, group, mode, atomic rename).

A loop of ``ansible.builtin.copy`` costs two module runs per file (stat, then copy),
each starting Python and importing Ansible's module_utils on the host: under QEMU's
TCG emulation that is seconds per run, and writing the hardening's ten files took
most of a VM's first harden. This writes them all in one run, same semantics: a file
whose content, owner, group and mode already match is left alone; check mode reports
what would change without writing.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mason_write_files
short_description: Write several small files in one run (content, owner, group, mode)
description:
  - Each file whose content, owner, group or mode differs is written to a temporary
    file beside it and renamed over it (atomic); the others are left alone.
  - Missing parent directories are an error (make them first), not created.
  - Supports check mode (reports what would change) and diff mode (content).
options:
  files:
    description: The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description: The file's whole content (text).
        type: str
        required: true
      mode:
        description: Octal mode, e.g. C(0644).
        type: str
        required: true
      owner:
        description: Owner (name).
        type: str
        default: root
      group:
        description: Group (name).
        type: str
        default: root
      mason_control:
        description: The controls the file serves (handed back in O(results)).
        type: list
        elements: str
        default: []
author: mason
"""

EXAMPLES = r"""
- name: Write mason's sysctl and modprobe files
  mason.mason.mason_write_files:
    files:
      - dest: /etc/sysctl.d/90-mason.conf
        content: "kernel.dmesg_restrict = 1\n"
        mode: "0644"
"""

RETURN = r"""
written:
  description: The files written (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
results:
  description: >-
    One entry per file written, shaped as a loop's item result (changed, item with
    dest and mason_control, diff in diff mode): mason's harden verdict attributes each
    file to its own controls from it, as it did for a loop of copy.
  returned: always
  type: list
  elements: dict
"""

import grp  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import stat  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def _current(path):
    """(content bytes, uid, gid, mode) of ``path``, or None when it does not exist."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return (None, st.st_uid, st.st_gid, None)
    with open(path, "rb") as fh:
        return (fh.read(), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))


def _write(path, data, uid, gid, mode):
    fd, tmp = tempfile.mkstemp(prefix=".mason-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "dest": {"type": "path", "required": True},
                    "content": {"type": "str", "required": True},
                    "mode": {"type": "str", "required": True},
                    "owner": {"type": "str", "default": "root"},
                    "group": {"type": "str", "default": "root"},
                    "mason_control": {"type": "list", "elements": "str", "default": []},
                },
            }
        },
        supports_check_mode=True,
    )
    written, results = [], []
    for item in module.params["files"]:
        path = item["dest"]
        try:
            mode = int(item["mode"], 8)
            uid = pwd.getpwnam(item["owner"]).pw_uid
            gid = grp.getgrnam(item["group"]).gr_gid
        except (ValueError, KeyError) as exc:
            module.fail_json(msg=f"{path}: bad mode, owner or group ({exc})")
        # In check mode the task that makes a missing directory made nothing: the
        # file would be written there all the same.
        missing_dir = not os.path.isdir(os.path.dirname(path))
        if not os.path.isabs(path) or (missing_dir and not module.check_mode):
            module.fail_json(msg=f"{path}: not an absolute path in an existing directory")
        data = item["content"].encode()
        now = None if missing_dir else _current(path)
        if now == (data, uid, gid, mode):
            continue
        if now is not None and now[0] is None:
            module.fail_json(msg=f"{path}: exists and is not a regular file")
        written.append(path)
        result = {"changed": True, "item": {"dest": path, "mason_control": item["mason_control"]}}
        if module._diff:
            before = now[0].decode(errors="replace") if now else ""
            result["diff"] = {"before_header": path, "after_header": path, "before": before,
                              "after": item["content"]}  # fmt: skip
        results.append(result)
        if not module.check_mode:
            try:
                _write(path, data, uid, gid, mode)
            except OSError as exc:
                module.fail_json(msg=f"{path}: {exc}", written=written[:-1])
    module.exit_json(changed=bool(written), written=written, results=results)


if __name__ == "__main__":
    main()
