"""One module per sub-command: each has `register(subparsers)` and a `run(args) -> int`.

Commands print their normal output; errors are raised as `BulkbootError` and printed
by `bulkboot.cli`, which alone chooses exit codes for them.
"""
