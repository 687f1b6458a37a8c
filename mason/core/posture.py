"""An app's security posture, and what a deploy changes in it, in pure Python.

A *posture* is, per service, what bounds its containers and what reaches it or what it
reaches: the capabilities it adds back (all others dropped), whether its root
filesystem is read-only, the user it runs as, its AppArmor profile, its public ports
and its links (to other services and to addons). Each release records its app's
posture in the ledger (``posture``), so a plan compares the manifest's posture with
what runs: the newest release's.

A change is *weaker* when it widens what a container may do or what may reach it:

===================  ===================================================
capability           added back (removal is stronger)
read-only root       true -> false
user                 a named user -> the image's (unknown) user
AppArmor             mason-default -> docker-default -> unconfined
public port          opened (closing one is stronger)
link                 added, to a service or an addon (removal is stronger)
service              a new one is compared with the strictest service:
                     no capability, read-only, mason-default, no port, no link
===================  ===================================================

A user changed from one name to another is shown, neither weaker nor stronger.
``mason app deploy --deny-weaker`` refuses a plan with any weaker change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mason.core.errors import InvalidInput, describe, key_path, type_name, unknown_key_message
from mason.core.manifest.model import App, Service

APPARMOR_PROFILE = "mason-default"  # what the app_service role runs containers with
# AppArmor profiles from the strictest; an unknown one ranks as unconfined.
APPARMOR_ORDER = (APPARMOR_PROFILE, "docker-default", "unconfined")
KEYS = ("capabilities", "read_only", "user", "apparmor", "public", "links")
WEAKER, STRONGER, CHANGED = "weaker", "stronger", "changed"
ADDON_LINK = "addon:"  # a link to an addon, beside links to the app's services
MAX_ITEMS = 1000


def of_service(app: App, svc: Service) -> dict[str, Any]:
    """One service's posture as a record keeps it (plain, sorted data)."""
    return {
        "capabilities": sorted(svc.security.capabilities),
        "read_only": svc.security.read_only,
        "user": svc.security.user,
        "apparmor": APPARMOR_PROFILE,
        "public": sorted(p for p, _ in svc.public_ports),
        "links": sorted([*svc.links, *(f"{ADDON_LINK}{a}" for a in app.addons)]),
    }


def of_app(app: App) -> dict[str, dict[str, Any]]:
    """Every service's posture (the ``posture`` of a release record)."""
    return {name: of_service(app, svc) for name, svc in sorted(app.services.items())}


STRICTEST: dict[str, Any] = {
    "capabilities": [],
    "read_only": True,
    "user": "",
    "apparmor": APPARMOR_PROFILE,
    "public": [],
    "links": [],
}


def check(data: Any, where: str = "posture") -> dict[str, dict[str, Any]]:
    """A recorded posture read back: a mapping of service to the keys above, each of its
    type; one :class:`InvalidInput` line naming the first problem."""
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"{where}: expected a mapping of service to posture, got {type_name(data)}"
        )
    out: dict[str, dict[str, Any]] = {}
    for svc, body in data.items():
        path = key_path(where, svc)
        if not isinstance(svc, str) or not isinstance(body, Mapping):
            raise InvalidInput(f"{path}: expected a mapping ({', '.join(KEYS)})")
        for key in body:
            if key not in KEYS:
                raise InvalidInput(f"{key_path(path, key)}: {unknown_key_message(key, KEYS)}")
        missing = [k for k in KEYS if k not in body]
        if missing:
            raise InvalidInput(f"{path}.{missing[0]}: required")
        if not isinstance(body["read_only"], bool):
            raise InvalidInput(f"{path}.read_only: expected true or false")
        for key in ("user", "apparmor"):
            if not isinstance(body[key], str) or len(body[key]) > 256:
                raise InvalidInput(f"{path}.{key}: expected a string, got {describe(body[key])}")
        for key, kind in (("capabilities", str), ("links", str), ("public", int)):
            items = body[key]
            if (
                not isinstance(items, list)
                or len(items) > MAX_ITEMS
                or not all(isinstance(i, kind) and not isinstance(i, bool) for i in items)
            ):
                raise InvalidInput(f"{path}.{key}: expected a list of {kind.__name__}")
        out[svc] = {k: body[k] for k in KEYS}
    return out


@dataclass(frozen=True, order=True)
class Change:
    """One change of one service's posture."""

    service: str
    what: str  # capability, read-only root, user, AppArmor, public port, link, service
    before: str
    after: str
    verdict: str  # weaker, stronger, changed

    @property
    def weaker(self) -> bool:
        return self.verdict == WEAKER

    def describe(self) -> str:
        if not self.before:
            text = f"{self.what} {self.after} added"
        elif not self.after:
            text = f"{self.what} {self.before} removed"
        else:
            text = f"{self.what} {self.before} -> {self.after}"
        return f"{self.service}: {text} ({self.verdict})"

    def to_dict(self) -> dict[str, str]:
        return {
            "service": self.service,
            "what": self.what,
            "before": self.before,
            "after": self.after,
            "verdict": self.verdict,
            "text": self.describe(),
        }


def _rank(profile: str) -> int:
    return APPARMOR_ORDER.index(profile) if profile in APPARMOR_ORDER else len(APPARMOR_ORDER)


def _sets(svc: str, what: str, before: list, after: list, added: str) -> list[Change]:
    gone = sorted(set(before) - set(after), key=str)
    new = sorted(set(after) - set(before), key=str)
    removed = STRONGER if added == WEAKER else WEAKER
    return [Change(svc, what, "", str(x), added) for x in new] + [
        Change(svc, what, str(x), "", removed) for x in gone
    ]


def _service(svc: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    out = _sets(svc, "capability", a["capabilities"], b["capabilities"], WEAKER)
    if a["read_only"] != b["read_only"]:
        verdict = WEAKER if a["read_only"] else STRONGER
        ro = {True: "read-only", False: "writable"}
        out.append(Change(svc, "root filesystem", ro[a["read_only"]], ro[b["read_only"]], verdict))
    if a["user"] != b["user"]:
        shown = {"": "(the image's)"}
        verdict = WEAKER if not b["user"] else STRONGER if not a["user"] else CHANGED
        out.append(
            Change(
                svc,
                "user",
                shown.get(a["user"], a["user"]),
                shown.get(b["user"], b["user"]),
                verdict,
            )
        )
    if a["apparmor"] != b["apparmor"]:
        ra, rb = _rank(a["apparmor"]), _rank(b["apparmor"])
        verdict = WEAKER if rb > ra else STRONGER if rb < ra else CHANGED
        out.append(Change(svc, "AppArmor profile", a["apparmor"], b["apparmor"], verdict))
    out += _sets(svc, "public port", a["public"], b["public"], WEAKER)
    out += _sets(svc, "link", a["links"], b["links"], WEAKER)
    return out


def diff(
    running: Mapping[str, Mapping[str, Any]], planned: Mapping[str, Mapping[str, Any]]
) -> list[Change]:
    """Every change from the posture that runs to the planned one, service by service.
    A new service is compared with :data:`STRICTEST`; a removed one is stronger."""
    out: list[Change] = []
    for svc in sorted(set(running) | set(planned)):
        if svc not in planned:
            out.append(Change(svc, "service", svc, "", STRONGER))
        elif svc not in running:
            out.append(Change(svc, "service", "", svc, CHANGED))
            # what it brings beyond the strictest service
            out += weakenings(_service(svc, STRICTEST, planned[svc]))
        else:
            out += _service(svc, running[svc], planned[svc])
    return out


def weakenings(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.weaker]
