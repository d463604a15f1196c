"""Streams: IteratorAge over time, the log indexer mapping, its parallelization factor and a recommendation."""
import streamlit as st

from dashboard import charts, confirm, loaders, ops, shell
from dashboard.actions import Action
from dashboard.capacity import ORDERING_CAVEAT, recommend_factor
from dashboard.errors import ConsoleError

ctx, access = shell.current()
o = ctx.outputs
fn = o["log_indexer_function"]
st.title("Streams")
hours = {"1 hour": 1.0, "6 hours": 6.0, "24 hours": 24.0}[
    st.selectbox("Time range", ["1 hour", "6 hours", "24 hours"], index=2, key="streams_range")]
it = loaders.series((("IteratorAge (max/min)", "AWS/Lambda", "IteratorAge", (("FunctionName", fn),), "Maximum"),),
                    hours, 60)
st.plotly_chart(charts.line_chart(charts.series_frame(it), f"IteratorAge of {fn} (maximum per minute)", "ms",
                                  threshold=ctx.config.iterator_age_alarm_ms), key="it_age")

m = loaders.mapping(o["log_indexer_esm_uuid"])
live = int(m.get("ParallelizationFactor", 1))
declared = ctx.config.parallelization_factor
st.subheader("Log indexer mapping")
st.dataframe([{"setting": k, "value": str(m.get(k, "—"))} for k in (
    "UUID", "State", "EventSourceArn", "BatchSize", "ParallelizationFactor", "MaximumBatchingWindowInSeconds",
    "BisectBatchOnFunctionError", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "StartingPosition",
    "LastModified")], hide_index=True, width="stretch", key="esm_table")
if live != declared:
    st.warning(f"Drift: the mapping runs ParallelizationFactor **{live}**, {ctx.config_note} declares "
               f"**{declared}**. The next `pulumi up` sets it back to {declared}.")
else:
    st.caption(f"ParallelizationFactor {live} matches {ctx.config_note}.")

# Recommendation: arrivals from the messages table's writes, batch time from the indexer's Duration.
perf = loaders.series((("writes", "AWS/DynamoDB", "ConsumedWriteCapacityUnits", (("TableName", o["message_table"]),), "Sum"),
                       ("duration", "AWS/Lambda", "Duration", (("FunctionName", fn),), "Average")), 1.0, 60)
writes = [v for _, v in perf.get("writes", [])]
durations = [v for _, v in perf.get("duration", [])]
observed_rate = (sum(writes) / (len(writes) * 60)) if writes else 0.0
observed_ms = (sum(durations) / len(durations)) if durations else 0.0
st.subheader("Recommended factor")
c = st.columns(2)
rate = c[0].number_input("Arrival rate (records/s)", min_value=0.0, value=round(observed_rate, 2), key="rec_rate")
dur = c[1].number_input("Batch duration (ms)", min_value=0.0, value=round(observed_ms, 1), key="rec_duration")
rec = recommend_factor(rate, dur / 1000, int(m.get("BatchSize", ctx.config.stream_batch_size)),
                       iterator_age_target_s=ctx.config.iterator_age_alarm_ms / 1000)
st.metric("Recommended ParallelizationFactor", rec.factor)
st.caption(rec.reason)
st.info(ORDERING_CAVEAT)

st.subheader("Change the factor")
new = st.number_input("New ParallelizationFactor (1–10)", value=live, step=1, key="new_factor")
st.code(f"pulumi config set relay:parallelizationFactor {int(new)} --stack {ctx.name}", language="bash")
st.caption("The change below applies live (UpdateEventSourceMapping); the command above makes it permanent.")
if st.button("Apply factor", key="btn_set_factor", disabled=not access.can_act):
    try:
        ops.check_factor(int(new))
    except ConsoleError as err:
        st.error(f"{err.code}: {err}")
    else:
        confirm.request(Action("set_parallelization_factor", {"factor": int(new), "from": live},
                               f"Set ParallelizationFactor of the log indexer mapping `{o['log_indexer_esm_uuid']}` "
                               f"from {live} to {int(new)} (UpdateEventSourceMapping, effective at once). "
                               f"{ctx.config_note} declares {declared}: run `pulumi config set "
                               f"relay:parallelizationFactor {int(new)} --stack {ctx.name}` to keep it.",
                               ctx.name))
        st.rerun()
