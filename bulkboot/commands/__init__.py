"""One module per sub-command: each has `register(subparsers)` and a `run(args) -> int`.

Commands print their normal output; errors are raised as `BulkbootError` and printed
by `bulkboot.cli`, which alone chooses exit codes for them.

Modules whose name starts with `_` are not commands (`bulkboot.cli` skips them):

- `_options`: the flags several commands share, declared once, and every flag's value types;
- `_runtime`: what the commands that talk to a cloud share (the cloud or the embedded
  simulator, the journal, asking first, Ctrl-C, feeding the live view);
- `_fleet_state`: the fleet's state for a command (where it lives, its lock, its
  journal read back and compacted under the lock); `_runtime` re-exports it;
- `_apply_run`, `_destroy_run`: the long runs of `apply` and `destroy`.

Start-up: a command line loads only the command it names (`bulkboot.cli`), and a
command loads the cloud client, anyio and rich only in `run`, once its input has
passed the offline checks, in one place: `apply` and `destroy` by importing their
`_<command>_run` module, `status` and `plan` at the top of `run` (theirs are short).
`validate` loads none of this package's other modules.
"""
