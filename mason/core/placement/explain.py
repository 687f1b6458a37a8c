"""Why a container went where it did, or nowhere: reasons per host and bidders' verdicts."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from mason.core.placement.model import KEEP, Explanation, Verdict

if TYPE_CHECKING:
    from mason.core.placement.state import Container, Planner


def format_reasons(counts: Counter) -> tuple[str, ...]:
    """``{"not enough memory": 3}`` -> ``("3 hosts: not enough memory",)``, commonest first."""
    if not counts:
        return ("no hosts",)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(f"{n} host{'s' if n != 1 else ''}: {reason}" for reason, n in ordered)


def sticky(item: Container) -> Explanation:
    """A running container every bidder still accepts where it is."""
    req, host = item.svc.request, item.host  # a kept container always has its host
    note = f"runs on {host.name} and every bidder still accepts it"
    return Explanation(
        req.app, req.service, item.replica, host.name, KEEP, 1, (Verdict("sticky", {}, note),)
    )


def explain(planner: Planner, item: Container, note: str = "") -> Explanation:
    """Each bidder's verdict for a container, with the container itself not charged.

    The caller makes sure the container is not charged to its host when asking.
    """
    svc = item.svc
    evaluation = planner.evaluate(svc, item.replica, full=True)
    verdicts = [Verdict(name, dict(sorted(c.items()))) for name, c in evaluation.per_bidder.items()]
    host = item.host
    strategy = svc.request.strategy
    if host is not None:
        if strategy == "binpack":
            detail = f"first host in order with room: {host.name}"
        else:
            detail = f"least utilized host: {host.name} at {host.utilization:.0%}"
        if svc.scorers:
            detail = "custom scores first, then " + detail
        if note:
            detail += f" ({note})"
    else:
        detail = "no candidate left"
    verdicts.append(Verdict(strategy, {}, detail))
    return Explanation(
        svc.request.app,
        svc.request.service,
        item.replica,
        host.name if host else None,
        item.action,
        evaluation.candidates,
        tuple(verdicts),
    )


def explain_final(planner: Planner, items: list[Container], notes: dict) -> list[Explanation]:
    """Verdicts for containers in the final layout, each asked about with itself uncharged.

    Used when a search or the repair, not greedy, decided where they go:
    ``notes`` maps a container to the note its strategy line carries.
    """
    explanations = []
    for item in items:
        if item.host is not None:
            planner.assign(item.svc, item.host, -1)
        explanations.append(explain(planner, item, notes.get(item, "")))
        if item.host is not None:
            planner.assign(item.svc, item.host)
    return explanations


def unplaced_reasons(planner: Planner, item: Container) -> tuple[str, ...]:
    """Per reason, how many hosts reject the container in the final layout."""
    return format_reasons(planner.evaluate(item.svc, item.replica).first_reasons)
