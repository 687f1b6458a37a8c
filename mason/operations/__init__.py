"""Operations: what mason does, as plain functions the CLI (and tests) call.

This layer holds the workflows: resolve a pod's provider and settings, create or
grow a pod all or nothing, run a playbook against a pod and turn its outcome into
mason's errors. It knows no Click and renders nothing: callers pass a
:class:`Session` that receives progress lines and watches playbook runs.

    mason/cli          parse options, call an operation, render its result
    mason/operations   workflows (this package)
    mason/core         pure logic: models, validation, placement, PKI, proxies
    mason/providers    one module per IaaS; mason/runner.py runs playbooks
"""

from mason.operations.session import Session

__all__ = ["Session"]
