"""Pure logic: models, validation, plans. No Click, no Ansible, no I/O of its own."""
