"""Usage: points per day by person and by kind, this month against the caps, jobs and failures per person,
and the balance over time. Admins see everyone and set the caps; everyone else sees their own jobs."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from legnext_core import spending, usage
from legnext_core.history import made_by
from ui.access import person
from ui.context import studio
from ui.format import points

#: How far back the charts go.
DAYS_SHOWN = 30

current = studio()
who = person()
now = time.time()
st.title("Usage", anchor=False)

caps = spending.load_caps(current.settings)
month_start = spending.month_start(now).timestamp()
since = min(month_start, now - DAYS_SHOWN * 86400)
# From the History table's submission-time column: only these days' records are read and built.
everyone = current.history.records(since=since)
shown = everyone if who.is_admin else list(made_by(everyone, who.email))
st.caption(
    f"The last {DAYS_SHOWN} days, "
    + ("everyone's jobs." if who.is_admin else "your jobs only (admins see everyone's).")
    + " Points are what a job cost, or has reserved while it runs. Days are UTC, like the limits."
)

# -- this month against the caps ----------------------------------------------------------------------
counted = spending.usage(everyone, who.email, now)
month_col, day_col = st.columns(2)
with month_col, st.container(border=True):
    cap = caps.monthly_team
    st.metric("Team, this month", points(counted.team_month), help="Every person's jobs since the 1st (UTC).")
    if cap:
        st.progress(min(1.0, counted.team_month / cap), text=f"of the monthly limit of {points(cap)}")
    else:
        st.caption("No monthly limit is set.")
with day_col, st.container(border=True):
    cap = caps.daily_per_person
    st.metric("You, today", points(counted.person_today))
    if cap:
        st.progress(min(1.0, counted.person_today / cap), text=f"of your daily limit of {points(cap)}")
    else:
        st.caption("No daily limit is set.")

if not shown:
    st.info("No jobs in this period yet.", icon=":material/bar_chart:")
else:
    recent = [r for r in shown if (r.submitted_at or 0) >= now - DAYS_SHOWN * 86400]
    st.subheader("Points per day", anchor=False)
    # One chart at a time, the page's full width: side by side, the legend of kinds was cut off.
    by_person, by_kind = st.tabs(["By person", "By kind"])
    with by_person:
        st.bar_chart(usage.points_per_day(recent, by="person"), x_label="Day", y_label="Points")
    with by_kind:
        st.bar_chart(usage.points_per_day(recent, by="kind"), x_label="Day", y_label="Points")

    st.subheader("Jobs and failures per person", anchor=False)
    people = usage.per_person(recent)
    chart, table = st.columns([1, 1])
    with chart:
        st.bar_chart(
            people.set_index("person")[["jobs", "failed"]], horizontal=True, stack=False,
            x_label="", y_label="Jobs", color=["#5b3fd6", "#d63f5b"],
        )  # fmt: skip
    with table:
        st.dataframe(
            people,
            hide_index=True,
            column_config={
                "person": st.column_config.TextColumn("Person"),
                "jobs": st.column_config.NumberColumn("Jobs"),
                "points": st.column_config.NumberColumn("Points", format="%d"),
                "failed": st.column_config.NumberColumn("Failed"),
                "failure_rate": st.column_config.ProgressColumn(
                    "Failure rate", min_value=0, max_value=1, format="percent",
                    help="Failed, rejected or lost, among finished jobs",
                ),
            },
        )  # fmt: skip

st.subheader("Balance over time", anchor=False)
samples = current.balance_log.samples(since=now - DAYS_SHOWN * 86400)
if len(samples) < 2:
    st.caption("The balance is kept as the sidebar reads it; the chart appears after a few readings.")
else:
    balance = pd.DataFrame(
        {"Available points": [s.points for s in samples]},
        index=pd.to_datetime([s.at for s in samples], unit="s"),
    )
    st.line_chart(balance, x_label="Time (UTC)", y_label="Points")

if who.is_admin:
    st.subheader("Spending limits", anchor=False)
    with st.form("caps", border=True):
        st.caption(
            "Checked before anything is sent, against what a job is estimated to cost plus what running "
            "jobs have reserved. Running jobs are never stopped. 0 means no limit."
        )
        daily_col, monthly_col = st.columns(2)
        daily = daily_col.number_input(
            "Daily limit per person (points)", min_value=0, step=500, value=caps.daily_per_person or 0
        )
        monthly = monthly_col.number_input(
            "Monthly limit for the team (points)", min_value=0, step=5000, value=caps.monthly_team or 0
        )
        if st.form_submit_button("Save limits", icon=":material/save:"):
            spending.save_caps(current.settings, spending.Caps(int(daily) or None, int(monthly) or None))
            st.success("Saved: the new limits apply to the next submission.", icon=":material/check_circle:")
