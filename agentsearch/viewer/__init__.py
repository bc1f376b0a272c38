"""Static HTML views of search trees (``agentsearch view``) and of run folders (``agentsearch report``).

Pages are self-contained files that work offline from ``file://``: no server, no CDN, nothing fetched.
"""

from agentsearch.viewer.report_page import ReportResult, RunContents, find_run_contents, write_report
from agentsearch.viewer.tree_page import TreeEntry, ViewResult, tree_payload, write_tree_pages

__all__ = [
    "ReportResult",
    "RunContents",
    "TreeEntry",
    "ViewResult",
    "find_run_contents",
    "tree_payload",
    "write_report",
    "write_tree_pages",
]
