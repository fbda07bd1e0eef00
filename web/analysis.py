"""Batch analysis of the network over HTTP: gaps, network metrics, KPIs, rollout plan, clusters.

Thin: validate the query, call ``matcher.analysis.network`` (which reads the store now, so every answer reflects
the latest referrals), return its dict. Aggregates only: no enterprise's personal data is ever returned.
"""

from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Float, Integer, String
from apiflask.validators import Length, Range
from flask import Response

from matcher.analysis import kpis as kpi
from matcher.analysis import network as analysis
from matcher.analysis import report

from .context import get_db, get_reference, get_snapshot
from .openapi import YEAR_MONTH_DAY

bp = APIBlueprint("analysis", __name__, tag="Analysis")


class GapsQuery(Schema):
    province = String(validate=Length(1, 100),
                      metadata={"description": "only this province: code, English or Thai name", "example": "TH-50",
                                "x-reference": "province"})
    category = String(validate=Length(1, 64), metadata={"description": "only this service category code",
                                                        "example": "gmp_haccp", "x-reference": "category"})
    hub = String(validate=Length(1, 100), metadata={"description": "only the provinces of this RISMEP hub "
                                                                   "(a hub province's code or name)",
                                                    "x-reference": "hub"})
    since = String(validate=Length(4, 10), metadata={"description": "cases from this date (YYYY[-MM[-DD]])",
                                                     **YEAR_MONTH_DAY})
    until = String(validate=Length(4, 10), metadata={"description": "cases before this date (YYYY[-MM[-DD]])",
                                                     **YEAR_MONTH_DAY})


class KpiQuery(Schema):
    budget = Float(validate=Range(min=0, min_inclusive=False), allow_nan=False,
                   metadata={"description": "override the stored budget with this total in baht (more than 0)",
                             "example": 13000000, "exclusiveMinimum": 0})


class RolloutQuery(Schema):
    target = Integer(validate=Range(1, 77), metadata={
        "description": "provinces live to reach (default: the next published target: 22, 44 or 77)",
        "example": 44})


@bp.get("/api/v1/gaps")
@bp.input(GapsQuery, location="query", arg_name="query")
def gaps(query):
    """Coverage matrix province x category and its gaps, each with a reason in Thai and English.

    Gap kinds: no member in reach (province and hub area), demand above capacity in the busiest month,
    legs declined for lack of capacity, and needs served only from another province of the hub area.
    """
    return analysis.gaps(get_db(), get_reference(), **query)


@bp.get("/api/v1/network/metrics")
def network_metrics():
    """Single points of failure (sole providers, articulation points, bridges, members whose loss leaves
    needs uncovered), brokers (betweenness), isolated members and communities of collaboration."""
    return analysis.network_metrics(get_db(), get_reference())


@bp.get("/api/v1/kpis")
@bp.input(KpiQuery, location="query", arg_name="query")
def kpis(query):
    """Members, referrals, multi-agency share, completion rate, value created and value per baht of
    budget, and provinces live against the published targets (22 in 2019, 44 in 2021, 77 in 2023)."""
    return kpi.kpis(get_db(), get_reference(), budget=query.get("budget"))


@bp.get("/api/v1/rollout/plan")
@bp.input(RolloutQuery, location="query", arg_name="query")
def rollout_plan(query):
    """The next provinces to bring in, in order, each with its reason; the objective and how close the
    greedy plan is to the best possible are stated in the answer."""
    return analysis.rollout_plan(get_db(), get_reference(), query.get("target"))


@bp.get("/api/v1/clusters")
def clusters():
    """SME clusters: enterprises by value-chain stage, missing stages and services, shared needs."""
    return analysis.clusters(get_db(), get_reference())


@bp.get("/api/v1/clusters/<cluster_id>/gaps")
def cluster_gaps(cluster_id):
    """One cluster: members by stage, missing stages and services with reasons, and a cluster-level
    bundle for the needs its enterprises share."""
    return analysis.cluster_gaps(get_db(), get_reference(), cluster_id, get_snapshot())


@bp.get("/api/v1/gaps/heatmap.png")
@bp.doc(responses={200: {"description": "PNG image", "content": {"image/png": {}}}})
def heatmap_png():
    """The coverage heatmap (provinces x categories) as a PNG image."""
    return Response(report.coverage_heatmap_png(get_db(), get_reference()), mimetype="image/png")
