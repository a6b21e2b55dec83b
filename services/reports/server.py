"""How every reports server runs: the flags `rapport reports` and the tests give Streamlit."""

# No built-in data export: its CSV would carry formulas unguarded (every table has our own).
STREAMLIT_FLAGS = (
    "--server.headless", "true",
    "--browser.gatherUsageStats", "false",
    "--client.toolbarMode", "minimal",
    "--client.disableDataExport", "true",
    # No page takes a file: Streamlit's upload route refuses bodies over 1 MB.
    "--server.maxUploadSize", "1",
    # Nobody edits the code of a running server: no watching of every imported module's file
    # (its first run after a start spent seconds registering them while the first visitor waited).
    "--server.fileWatcherType", "none",
)  # fmt: skip
