"""DataFrame in, plotly Figure out (no AWS, no streamlit)."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping

import pandas as pd
import plotly.graph_objects as go

__all__ = ["series_frame", "line_chart"]


def series_frame(series: Mapping[str, Iterable[tuple[datetime, float]]]) -> pd.DataFrame:
    """``{name: [(ts, value)]}`` → long frame with columns ``time, series, value``."""
    rows = [(ts, name, float(v)) for name, pts in series.items() for ts, v in pts]
    df = pd.DataFrame(rows, columns=["time", "series", "value"])
    if not df.empty:
        df["time"] = pd.to_datetime(df["time"], utc=True)
    return df


def line_chart(df: pd.DataFrame, title: str, y_title: str, threshold: float | None = None) -> go.Figure:
    """One line per series; an optional dashed red line at the alarm threshold."""
    fig = go.Figure()
    for name, part in df.groupby("series", sort=False) if not df.empty else []:
        fig.add_trace(go.Scatter(x=part["time"], y=part["value"], mode="lines", name=str(name)))
    if threshold is not None:
        fig.add_hline(y=threshold, line_dash="dash", line_color="red", annotation_text="alarm threshold")
    fig.update_layout(title=title, yaxis_title=y_title, height=320, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h"))
    return fig
