"""The report of a class-wise study: self-contained HTML, CSV and figures."""

from ._html import write_report

__all__ = ["write_report"]
