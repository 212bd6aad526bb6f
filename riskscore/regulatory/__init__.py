"""Regulatory exports drafted from the review queue's decided cases.

Three outputs, each for a person at the platform to check and file; riskscore
never submits anything itself:

* :mod:`~riskscore.regulatory.dsa`: statements of reasons (Article 17 DSA) in the
  schema of the EU DSA Transparency Database, with a validator
  (:mod:`~riskscore.regulatory.dsa_validate`) that refuses a record the database
  would reject;
* :mod:`~riskscore.regulatory.eu_templates`: the rows of the transparency report
  templates of Implementing Regulation (EU) 2024/2835 that a child-safety queue
  can fill, and (:mod:`~riskscore.regulatory.eu_qualitative`) a draft of the
  qualitative fields on automated means;
* :mod:`~riskscore.regulatory.ncmec`: CyberTipline report drafts for escalated
  cases, from metadata only.

:func:`export_all` writes all three (``riskscore export``). See
``docs/regulatory.md``.
"""

from __future__ import annotations

from riskscore.regulatory._cases import DecidedCase, ExportFilter, decided_cases
from riskscore.regulatory.dsa import (
    Restriction,
    StatementError,
    StatementSettings,
    statements_of_reasons,
    validate_statement,
    validate_statements,
    write_statements,
)
from riskscore.regulatory.eu_qualitative import qualitative_draft
from riskscore.regulatory.eu_templates import quantitative_template, write_templates
from riskscore.regulatory.export import ExportExistsError, export_all
from riskscore.regulatory.ncmec import cybertipline_drafts, write_drafts

__all__ = [
    "DecidedCase",
    "ExportExistsError",
    "ExportFilter",
    "Restriction",
    "StatementError",
    "StatementSettings",
    "cybertipline_drafts",
    "decided_cases",
    "export_all",
    "qualitative_draft",
    "quantitative_template",
    "statements_of_reasons",
    "validate_statement",
    "validate_statements",
    "write_drafts",
    "write_statements",
    "write_templates",
]
