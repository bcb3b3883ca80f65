"""The report of a class-wise study: self-contained HTML, CSV and figures."""

from ._html import Section, write_report

__all__ = ["Section", "write_report"]
