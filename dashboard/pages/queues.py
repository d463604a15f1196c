"""Queues: depth and oldest-message age over time (CloudWatch), with a time range and auto-refresh."""
import streamlit as st

from dashboard import charts, loaders, ops, shell

ctx, access = shell.current()
o = ctx.outputs
st.title("Queues")
RANGES = {"1 hour": 1.0, "6 hours": 6.0, "24 hours": 24.0, "3 days": 72.0}
left, right = st.columns(2)
label = left.selectbox("Time range", list(RANGES), index=0, key="queues_range")
refresh = right.selectbox("Auto-refresh", ["off", "10 s", "30 s", "60 s"], index=2, key="queues_refresh")
hours = RANGES[label]
period = 60 if hours <= 24 else 300

queues = {"jobs": o["job_queue_url"], **{q["label"]: q["url"] for q in ops.dlqs(o).values()}}


def _specs(metric: str) -> tuple:
    return tuple((name, "AWS/SQS", metric, (("QueueName", url.rstrip("/").rsplit("/", 1)[-1]),), "Maximum")
                 for name, url in queues.items())


def _render() -> None:
    cols = st.columns(len(queues))
    for col, (name, url) in zip(cols, queues.items()):
        d = loaders.depth(url)
        col.metric(name, d.visible, f"{d.in_flight} in flight · {d.delayed} delayed", delta_color="off")
    depth = loaders.series(_specs("ApproximateNumberOfMessagesVisible"), hours, period)
    age = loaders.series(_specs("ApproximateAgeOfOldestMessage"), hours, period)
    st.plotly_chart(charts.line_chart(charts.series_frame(depth), "Visible messages", "messages"), key="q_depth")
    st.plotly_chart(charts.line_chart(charts.series_frame(age), "Age of oldest message", "seconds",
                                      threshold=ctx.config.oldest_job_alarm_seconds), key="q_age")
    if not any(depth.values()):
        st.caption("No SQS metrics in this range (the local stage publishes Lambda metrics only; AWS publishes "
                   "SQS metrics every minute).")


if refresh == "off":
    _render()
else:
    st.fragment(run_every=int(refresh.split()[0]))(_render)()
