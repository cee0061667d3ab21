"""Exit codes of the ``sim`` command besides 0 (done) and 1 (some runs failed)."""

EXIT_USER_ERROR = 2  # a problem the user can fix, reported as "error: ..."
EXIT_IDLE = 3  # a sweep or calibration stopped: no run finished, no worker up and unpaused
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
