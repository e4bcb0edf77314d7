"""``bulkboot load``: iterations on a schedule, timed per phase, judged by thresholds."""
