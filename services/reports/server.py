"""How every reports server runs: the flags `rapport reports` and the tests give Streamlit."""

# No built-in data export: its CSV would carry formulas unguarded (every table has our own).
STREAMLIT_FLAGS = (
    "--server.headless", "true",
    "--browser.gatherUsageStats", "false",
    "--client.toolbarMode", "minimal",
    "--client.disableDataExport", "true",
    # No page takes a file: Streamlit's upload route refuses bodies over 1 MB.
    "--server.maxUploadSize", "1",
    # Nobody edits a running server's code: no watchers of the app's source files, set up by
    # the first script run after a start (while the first visitor waits) and kept running.
    "--server.fileWatcherType", "none",
    # No page writes a bare expression (a test reads their syntax trees): without "magic" a
    # page's first run after a start compiles it as it is, with no rewrite of its syntax tree.
    "--runner.magicEnabled", "false",
)  # fmt: skip
