"""The dataset page's quality tab: the quality score, the failed rules in words with
their examples, the link to the Data Docs, and the lineage from the regencies' feeds to
the release (with the dbt docs when published)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import cache
from app.i18n import fmt_num, has, t
from app.site_reader import quality, releases
from app.text import code, format_time, md
from flows.common import site_layout


def rule_text(failure: dict[str, Any]) -> str:
    """A failed rule in words, in the page's language: the suite's own description for a
    query rule, else the rule type's translation (with its range when it has one), else
    the rule type as GX names it."""
    expectation = str(failure.get("expectation") or "")
    if expectation.startswith("unexpected_rows") and failure.get("description"):
        return md(failure["description"])
    kwargs = failure.get("kwargs") or {}
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    plain = (low is None or isinstance(low, int | float)) and (
        high is None or isinstance(high, int | float))
    if expectation.endswith("_to_be_between") and plain and (low is not None
                                                            or high is not None):
        what = t("rule_what_rows") if "table_row_count" in expectation else t(
            "rule_what_values")
        if low is not None and high is not None:
            return t("rule_between", what=what, low=fmt_num(low), high=fmt_num(high))
        if low is not None:
            return t("rule_at_least", what=what, low=fmt_num(low))
        return t("rule_at_most", what=what, high=fmt_num(high))
    key = f"rule_{expectation}"
    if has(key):
        return t(key)
    return md(failure.get("description") or expectation or "—")


def examples_text(examples: Any, limit: int = 5) -> str:
    """Failing examples as the summary publishes them (masked values, or row positions
    for a dataset with personal data), as code; "" when there are none to show."""
    shown = []
    for value in (examples if isinstance(examples, list) else [])[:limit]:
        if value is None:
            continue   # an empty value: the rule's text already says so
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        shown.append(code(value))
    return t("quality_examples", values=", ".join(shown)) if shown else ""


def quality_section(site: Path, ds: dict[str, Any]) -> None:
    summary = cache.quality_summary(site)
    known = set(((summary or {}).get("datasets") or {}).keys())
    sources = quality.source_datasets(ds, known)
    result = quality.quality_for(summary, sources)
    if not result["found"]:
        st.caption(t("quality_none"))
    else:
        with st.container(horizontal=True):
            st.metric(t("quality_score"), fmt_num(result["score"]) if result["score"] is not None
                      else "—", border=True)
            st.metric(t("quality_evaluated"), fmt_num(result["evaluated"]), border=True)
            st.metric(t("quality_failures"), fmt_num(len(result["failures"])), border=True)
        st.caption(t("quality_explained", when=format_time((summary or {}).get(
            "generated_at"))))
        if result["failures"]:
            lines = []
            for f in result["failures"][:100]:
                severity = f.get("severity")
                label = t(f"severity_{severity}") if has(f"severity_{severity}") else severity
                icon = ":red[:material/error:]" if severity == "critical" else (
                    ":orange[:material/warning:]")
                where = " · ".join(
                    x for x in (
                        f"**{md(f.get('nama_wilayah') or f.get('regency') or '—')}**",
                        code(f.get("column")) if f.get("column") else "",
                        md(label or ""),
                        t("rows_short", rows=fmt_num(f.get("unexpected_count")))
                        if f.get("unexpected_count") is not None else "",
                    ) if x
                )
                shown = examples_text(f.get("examples"))
                lines.append(f"- {icon} {where}  \n  {rule_text(f)}"
                             + (f" ({shown})" if shown else ""))
            st.markdown("\n".join(lines))
        else:
            st.success(t("quality_all_passed"), icon=":material/check_circle:")
    data_docs = releases.data_docs_url(site)
    if data_docs:
        st.markdown(t("quality_data_docs", url=data_docs))

    st.markdown(f"**{t('lineage')}**")
    model = ds.get("model")
    feed_rows = quality.feeds_for(summary, sources)
    chain = [t("lineage_feeds", n=len(feed_rows)) if feed_rows else t("lineage_regencies")]
    chain += [f"`raw.{s}`" for s in sources] or []
    chain += [f"`stg_{s}`" for s in sources]
    if model:
        chain.append(code(model))
    chain.append(t("lineage_release"))
    st.markdown(" → ".join(chain))
    if model and (site / site_layout.DBT_DOCS).is_file():
        st.markdown(t("lineage_docs", url=site_layout.dbt_docs_url(model), model=md(model)))
    if feed_rows:
        table = pd.DataFrame(
            {
                t("feed"): [f.get("feed_id") for f in feed_rows],
                t("region"): [f.get("nama_wilayah") or f.get("regency") for f in feed_rows],
                t("channel"): [f.get("channel") for f in feed_rows],
                t("last_period"): [f.get("last_accepted_period") or "—" for f in feed_rows],
            }
        )
        st.dataframe(table, hide_index=True, width="stretch")
