"""Figures (matplotlib, Agg, PNG) and the one self-contained HTML page of the network report.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot state, no display), in a
Thai-capable font when one is installed (Debian's fonts-thai-tlwg: Loma, Garuda, Tlwg Typo, ...) and
DejaVu Sans otherwise (Thai letters then show as boxes, everything else stays readable). The page embeds
every figure as a base64 PNG and its style inline: it opens offline, from a file or an e-mail.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json

import numpy as np

THAI_FONTS = ("Loma", "Garuda", "Tlwg Typo", "Kinnari", "Norasi", "Waree", "Sawasdee", "Umpush", "Noto Sans Thai")
DEPTH_COLOURS = ("#b2182b", "#f4a582", "#fee08b", "#a6dba0", "#1b7837")  # graphs.coverage.DEPTHS 0-4
DEPTH_NAMES = ("ไม่มีในระยะ / none in reach", "มีในกลุ่มศูนย์ภาคเท่านั้น / only elsewhere in hub area",
               "มี 1 รายในจังหวัด / one in province", "2-4 รายในจังหวัด / 2-4 in province",
               "5 รายขึ้นไป / 5 or more in province")
COMMUNITY_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
SPRING_LAYOUT_MAX_NODES = 800


@functools.lru_cache(maxsize=1)
def thai_font() -> str | None:
    """The first installed Thai-capable font family of ``THAI_FONTS``, or None."""
    from matplotlib import font_manager
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in THAI_FONTS if name in installed), None)


def _style() -> dict:
    family = [f for f in (thai_font(), "DejaVu Sans") if f]
    return {"font.family": family, "font.size": 9, "axes.titlesize": 11, "axes.spines.top": False,
            "axes.spines.right": False, "figure.dpi": 100}


def _figure(width: float, height: float, layout: str | None = "constrained"):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _png(fig, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _draw(width, height, draw, *args, layout: str | None = "constrained") -> bytes:
    """Draw with ``draw(fig, *args)`` in the report style and return the PNG bytes.

    ``layout=None`` leaves the margins to ``draw`` (faster: the constrained layout draws twice).
    """
    import matplotlib
    with matplotlib.rc_context(_style()):
        fig = _figure(width, height, layout)
        draw(fig, *args)
        return _png(fig)


# -- coverage heatmap ---------------------------------------------------------------------------------

def heatmap_png(data: dict) -> bytes:
    """Provinces (rows) x categories (columns) coloured by supply depth; gaps marked with a cross.

    ``data``: ``provinces``, ``categories``, ``province_labels``, ``category_labels``, ``levels`` (rows of
    depths 0-4, ``graphs.coverage.DEPTHS``) and ``gaps`` (``[province, category]`` pairs). The picture is
    drawn again only when ``data`` changes (most writes leave the coverage as it was).
    """
    return _heatmap_png(json.dumps(data, sort_keys=True, ensure_ascii=False))


@functools.lru_cache(maxsize=4)
def _heatmap_png(data_json: str) -> bytes:
    data = json.loads(data_json)
    height = max(4.0, 0.19 * max(1, len(data["provinces"])) + 3.2)
    return _draw(max(7.0, 0.32 * len(data["categories"]) + 3.5), height, _heatmap, data, layout=None)


def prepare() -> None:
    """Load the figure library and find the Thai font now (about half a second, more on a machine whose
    font list is not cached yet), so that the first figure a request asks for is only drawn."""
    from matplotlib.backends import backend_agg  # noqa: F401
    from matplotlib import colors, figure, patches  # noqa: F401
    thai_font()


def _heatmap(fig, data):
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch
    height = fig.get_figheight()
    fig.subplots_adjust(left=1.9 / fig.get_figwidth(), right=0.98, top=1 - 0.45 / height, bottom=2.9 / height)
    ax = fig.add_subplot()
    grid = np.array(data["levels"], dtype=float).reshape(len(data["provinces"]), len(data["categories"]))
    ax.imshow(grid, cmap=ListedColormap(DEPTH_COLOURS), norm=BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 3.5, 4.5], 5),
              aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(data["categories"])), data["category_labels"], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(data["provinces"])), data["province_labels"], fontsize=6)
    row, col = {p: i for i, p in enumerate(data["provinces"])}, {c: j for j, c in enumerate(data["categories"])}
    marks = [(col[c], row[p]) for p, c in data["gaps"] if p in row and c in col]
    if marks:
        x, y = zip(*marks)
        ax.scatter(x, y, marker="x", s=14, c="black", linewidths=0.8)
    ax.set_title("ความครอบคลุมบริการ จังหวัด × ประเภทบริการ / Coverage by province and category (× = gap)")
    handles = [Patch(color=c, label=n) for c, n in zip(DEPTH_COLOURS[::-1], DEPTH_NAMES[::-1])]
    fig.legend(handles=handles, loc="lower center", ncols=3, fontsize=7, frameon=False)


# -- province map --------------------------------------------------------------------------------------

def map_data(provinces, province_coverage: dict, plan: dict | None = None) -> list[dict]:
    """One point per province: seat, coverage shares, cases, gaps, live or not and its rollout order."""
    order = {s["province"]: s["order"] for s in (plan or {}).get("steps", [])}
    out = []
    for p in provinces:
        cov = province_coverage.get(p["code"], {})
        out.append({"code": p["code"], "name_en": p["name_en"], "name_th": p["name_th"], "lat": p["lat"],
                    "lon": p["lon"], "region": p["region"], "is_hub": bool(p["is_hub"]),
                    "live": bool(p.get("live_since")) or cov.get("share_in_province", 0) > 0,
                    "share_in_province": cov.get("share_in_province", 0.0),
                    "share_in_reach": cov.get("share_in_reach", 0.0), "mean_depth": cov.get("mean_depth", 0.0),
                    "cases": cov.get("cases", 0),
                    "gaps": cov.get("gaps", 0), "rollout_order": order.get(p["code"])})
    return out


def map_png(points: list[dict]) -> bytes:
    """Province seats coloured by their mean supply depth (0-4); size by cases; live ones outlined."""
    return _draw(7.0, 9.0, _map, points)


def _map(fig, points):
    ax = fig.add_subplot()
    lon, lat = [p["lon"] for p in points], [p["lat"] for p in points]
    depth = [p["mean_depth"] for p in points]
    size = [30 + 8 * np.sqrt(p["cases"]) for p in points]
    edge = ["black" if p["live"] else "none" for p in points]
    sc = ax.scatter(lon, lat, c=depth, s=size, cmap="RdYlGn", vmin=0, vmax=4, edgecolors=edge, linewidths=1.2)
    for p in points:
        if p["is_hub"]:
            ax.annotate(p["name_th"], (p["lon"], p["lat"]), xytext=(5, 3), textcoords="offset points", fontsize=7)
    bar = fig.colorbar(sc, ax=ax, shrink=0.6, ticks=range(5),
                       label="ความลึกของบริการเฉลี่ย / mean supply depth over the 22 categories")
    bar.ax.set_yticklabels(["0 none in reach", "1 hub area only", "2 one in province", "3 two to four",
                            "4 five or more"], fontsize=7)
    ax.set_aspect("equal")
    ax.set_xlabel("ลองจิจูด / longitude")
    ax.set_ylabel("ละติจูด / latitude")
    ax.set_title("ความครอบคลุมรายจังหวัด / Coverage by province\n(ขอบดำ = จังหวัดที่มีเครือข่าย / outlined = live; "
                 "ขนาด = จำนวนเรื่อง / size = cases)")


# -- KPIs -----------------------------------------------------------------------------------------------

def kpi_png(kpi: dict) -> bytes:
    """Provinces live against the published targets, referrals and value created by year."""
    return _draw(11.0, 3.8, _kpis, kpi)


def _kpis(fig, kpi):
    a, b, c = fig.subplots(1, 3)
    years = [r["year"] for r in kpi["provinces_live_by_year"]]
    a.step(years, [r["live"] for r in kpi["provinces_live_by_year"]], where="post", color="#1b7837", label="live")
    targets = kpi["targets"]
    a.scatter([t["year"] for t in targets], [t["target"] for t in targets], marker="D", color="#b2182b",
              zorder=3, label="target / เป้าหมาย")
    for t in targets:
        a.annotate(f"{t['live']}/{t['target']}", (t["year"], t["target"]), xytext=(4, -10),
                   textcoords="offset points", fontsize=8)
    a.set_ylim(0, 80)
    a.set_title("จังหวัดที่มีเครือข่าย / Provinces live")
    a.legend(fontsize=7, frameon=False)
    rows = kpi["by_year"]
    ys = [r["year"] for r in rows]
    multi = [r["multi_agency_referrals"] for r in rows]
    single = [r["referrals"] - m for r, m in zip(rows, multi)]
    b.bar(ys, single, color="#a6dba0", label="single member")
    b.bar(ys, multi, bottom=single, color="#1b7837", label="multi-agency")
    b.set_title("การส่งต่อ / Referrals")
    b.legend(fontsize=7, frameon=False, loc="upper left")
    b.margins(y=0.15)
    c.bar(ys, [r["value_baht"] / 1e6 for r in rows], color="#2166ac", label="value created")
    c.bar(ys, [(r["budget_baht"] or 0) / 1e6 for r in rows], color="#f4a582", width=0.4, label="budget")
    for r in rows:
        if r["value_per_baht"]:
            c.annotate(f"{r['value_per_baht']:.1f}×", (r["year"], r["value_baht"] / 1e6), ha="center",
                       xytext=(0, 2), textcoords="offset points", fontsize=8)
    c.set_title("มูลค่า (ล้านบาท) / Value and budget (million baht)")
    c.legend(fontsize=7, frameon=False, loc="upper left")
    c.margins(y=0.15)
    for ax in (b, c):
        ax.set_xticks(ys)


# -- collaboration network ------------------------------------------------------------------------------

def network_data(G, metrics: dict, communities, members, provinces, *, seed: int = 1) -> dict:
    """Positions and marks of the members who collaborated (isolated members are counted, not drawn).

    Spring layout (seeded) up to ``SPRING_LAYOUT_MAX_NODES`` members, else members around their province's
    seat with a deterministic jitter: O(iterations * V^2) and O(V) respectively.
    """
    import networkx as nx
    H = G.subgraph(n for n in G if G.degree(n) > 0)
    nodes = sorted(H.nodes)
    if len(nodes) <= SPRING_LAYOUT_MAX_NODES:
        pos = nx.spring_layout(H, seed=seed, weight="joint", k=1.5 / max(1, len(nodes)) ** 0.5)
        layout = "spring"
    else:
        seat = {p["code"]: (p["lon"], p["lat"]) for p in provinces}
        where = {m["id"]: seat.get(m["province"], (0.0, 0.0)) for m in members}
        jitter = np.random.default_rng(seed).normal(0, 0.12, size=(len(nodes), 2))
        pos = {n: (where[n][0] + jitter[i, 0], where[n][1] + jitter[i, 1]) for i, n in enumerate(nodes)}
        layout = "geographic"
    community = {n: i for i, group in enumerate(communities) for n in group}
    brokers = {b["member"] for b in metrics["brokers"]}
    cut = {a["member"] for a in metrics["articulation_points"]}
    index = {n: i for i, n in enumerate(nodes)}
    return {"layout": layout, "isolates": len(metrics["isolates"]),
            "nodes": [{"id": n, "x": round(float(pos[n][0]), 4), "y": round(float(pos[n][1]), 4),
                       "community": community.get(n), "broker": n in brokers, "articulation_point": n in cut}
                      for n in nodes],
            "edges": [(index[u], index[v]) for u, v in H.edges],
            "bridges": [list(e) for e in metrics["bridges_between_groups"]]}


def network_png(net: dict) -> bytes:
    """Members (coloured by community), brokers (stars), cut members (triangles), bridges (red)."""
    return _draw(10.0, 8.0, _network, net)


def _network(fig, net):
    from matplotlib.collections import LineCollection
    ax = fig.add_subplot()
    nodes = net["nodes"]
    xy = np.array([(n["x"], n["y"]) for n in nodes]) if nodes else np.zeros((0, 2))
    if net["edges"]:
        e = np.array(net["edges"])
        ax.add_collection(LineCollection(np.stack([xy[e[:, 0]], xy[e[:, 1]]], axis=1), colors="#999999",
                                         linewidths=0.3, alpha=0.25, zorder=0))
    index = {n["id"]: i for i, n in enumerate(nodes)}
    if net["bridges"]:
        segs = [(xy[index[u]], xy[index[v]]) for u, v in net["bridges"] if u in index and v in index]
        ax.add_collection(LineCollection(segs, colors="#d62728", linewidths=1.2, zorder=1,
                                         label="bridge between groups / สะพานเชื่อมกลุ่ม"))
    colours = [COMMUNITY_COLOURS[n["community"] % len(COMMUNITY_COLOURS)] if n["community"] is not None
               and n["community"] < len(COMMUNITY_COLOURS) else "#cccccc" for n in nodes]
    plain = [i for i, n in enumerate(nodes) if not (n["broker"] or n["articulation_point"])]
    ax.scatter(xy[plain, 0], xy[plain, 1], s=6, c=[colours[i] for i in plain], linewidths=0, zorder=2)
    cut = [i for i, n in enumerate(nodes) if n["articulation_point"] and not n["broker"]]
    ax.scatter(xy[cut, 0], xy[cut, 1], s=50, marker="^", c="#ff7f0e", edgecolors="black", linewidths=0.5, zorder=3,
               label="single point of failure / จุดเสี่ยง (articulation point)")
    top = [i for i, n in enumerate(nodes) if n["broker"]]
    ax.scatter(xy[top, 0], xy[top, 1], s=160, marker="*", c="#d62728", edgecolors="black", linewidths=0.5, zorder=4,
               label="broker / ผู้เชื่อมโยง (betweenness)")
    for i in top:
        ax.annotate(nodes[i]["id"], xy[i], xytext=(4, 4), textcoords="offset points", fontsize=7, zorder=5)
    ax.autoscale()
    ax.set_aspect("equal" if net["layout"] == "geographic" else "auto")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="lower left", fontsize=7, frameon=False)
    ax.set_title("เครือข่ายความร่วมมือ / Collaboration network"
                 f" ({'ตามที่ตั้งจังหวัด / by province seat' if net['layout'] == 'geographic' else 'spring layout'};"
                 f" {net['isolates']:,} isolated members not drawn / ไม่แสดงสมาชิกที่ไม่เคยร่วมงาน)")


# -- rollout ------------------------------------------------------------------------------------------

def rollout_png(points: list[dict], plan: dict) -> bytes:
    """Live provinces, the next ones in the order chosen, and the rest."""
    return _draw(7.0, 9.0, _rollout, points, plan)


def _rollout(fig, points, plan):
    from matplotlib.patches import Circle
    ax = fig.add_subplot()
    groups = (("live", lambda p: p["live"], "#1b7837", "มีเครือข่ายแล้ว / live"),
              ("next", lambda p: p["rollout_order"] is not None, "#2166ac", "จังหวัดถัดไป / next"),
              ("rest", lambda p: not p["live"] and p["rollout_order"] is None, "#cccccc", "ยังไม่มี / not yet"))
    for _, keep, colour, label in groups:
        chosen = [p for p in points if keep(p)]
        ax.scatter([p["lon"] for p in chosen], [p["lat"] for p in chosen], s=60, c=colour, label=label,
                   edgecolors="white", linewidths=0.5)
    for p in points:
        if p["live"] or p["rollout_order"] is not None:
            ax.add_patch(Circle((p["lon"], p["lat"]), plan["radius_km"] / 111.0, color="#2166ac" if not p["live"]
                                else "#1b7837", alpha=0.07, linewidth=0))
    for p in points:
        if p["rollout_order"] is not None:
            ax.annotate(f"{p['rollout_order']}. {p['name_th']}", (p["lon"], p["lat"]), xytext=(5, 3),
                        textcoords="offset points", fontsize=7, color="#2166ac")
    ax.set_aspect("equal")
    ax.legend(loc="lower left", fontsize=7, frameon=False)
    ax.set_title(f"แผนขยายเครือข่ายสู่ {plan['target']} จังหวัด / Rollout to {plan['target']} provinces\n"
                 f"(greedy ≥ {plan['quality']:.0%} of the best possible gain; "
                 f"circles: {plan['radius_km']:.0f} km reach)")


# -- HTML ---------------------------------------------------------------------------------------------

CSS = """body{font-family:Loma,Garuda,'Noto Sans Thai',sans-serif;margin:2em auto;max-width:1200px;color:#222;
padding:0 1em}h1{font-size:1.6em}h2{border-bottom:2px solid #1b7837;padding-bottom:.2em;margin-top:2em}
.synthetic{background:#fff3cd;border:1px solid #e0c060;padding:.6em 1em;border-radius:4px}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em}td,th{border:1px solid #ccc;padding:.25em .5em;
vertical-align:top;text-align:left}th{background:#eef5ee}td.n{text-align:right}img{max-width:100%;height:auto}
table{display:block;overflow-x:auto;max-width:100%}td,th{overflow-wrap:anywhere}.back{margin:0 0 1em}
.kpis{display:flex;flex-wrap:wrap;gap:.8em}.kpi{border:1px solid #ccc;border-radius:4px;padding:.5em 1em;
min-width:10em}.kpi b{display:block;font-size:1.4em}.muted{color:#666;font-size:.85em}"""


def _when(text, *, with_time: bool = False) -> str:
    """A date or timestamp as Thai readers write it (day/month/Buddhist-era year, Bangkok time)."""
    from matcher.clock import thai_date
    try:
        return thai_date(str(text), with_time=with_time and "T" in str(text))
    except (TypeError, ValueError):
        return "" if text is None else str(text)


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _table(headers, rows) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="n">{_num(c)}</td>' if isinstance(c, (int, float))
                                    and not isinstance(c, bool) else f"<td>{_e(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _num(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _kpi_box(label: str, value, kind: str = "number") -> str:
    """One KPI tile; ``kind`` is ``number``, ``percent`` or ``multiple`` (value per baht)."""
    if value is None:
        shown = "–"
    elif kind == "percent":
        shown = f"{value:.1%}"
    elif kind == "multiple":
        shown = f"{value:.2f}×"
    else:
        shown = _num(value)
    return f'<div class="kpi">{_e(label)}<b>{_e(shown)}</b></div>'


def render_html(data: dict, figures: dict[str, bytes]) -> str:
    """The report page: KPIs, coverage heatmap and gaps, map, network, rollout plan and clusters."""
    k, net, plan = data["kpis"], data["network"], data["rollout"]
    parts = [f"""<!doctype html><html lang="th"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>รายงานวิเคราะห์เครือข่าย RISMEP / RISMEP network report</title><style>{CSS}</style></head><body>
<h1>รายงานวิเคราะห์เครือข่าย RISMEP<br><small>RISMEP network analysis report</small></h1>"""]
    if data.get("synthetic"):
        parts.append('<p class="synthetic"><b>ข้อมูลสมมติ / SYNTHETIC DATA.</b> '
                     f'{_e((data.get("dataset") or {}).get("note") or "")}</p>')
    period = data.get("period") or {}
    parts.append(f'<p class="muted">Dataset {_e((data.get("dataset") or {}).get("name"))}; cases from '
                 f'{_e(_when(period.get("first")))} to {_e(_when(period.get("last")))}; generated '
                 f'{_e(_when(data.get("generated_at"), with_time=True))} (เวลาประเทศไทย / Asia/Bangkok, '
                 "วันที่เป็นปีพุทธศักราช / dates in the Buddhist era). The same figures are in report.json.</p>")
    parts.append(_kpi_section(k, figures))
    parts.append(_coverage_section(data, figures))
    parts.append(_network_section(net, figures))
    parts.append(_rollout_section(plan, figures))
    parts.append(_cluster_section(data["clusters"]))
    parts.append('<p class="muted">Produced by <code>flask --app api report --out reports/</code>. '
                 "Definitions: docs/ANALYSIS.md.</p></body></html>")
    return "\n".join(parts)


def _kpi_section(k, figures) -> str:
    boxes = "".join(_kpi_box(*tile) for tile in (
        ("หน่วยงาน / agencies", k["agencies"]), ("ที่ปรึกษา / consultants", k["consultants"]),
        ("การส่งต่อ / referrals", k["referrals"]),
        ("สัดส่วนหลายหน่วยงาน / multi-agency share", k["multi_agency_share"], "percent"),
        ("อัตราสำเร็จ / completion rate", k["completion_rate"], "percent"),
        ("ความต้องการที่แก้ไขได้ / needs met", k.get("needs_met_share"), "percent"),
        ("สำเร็จครบทุกความต้องการ / cases fully met", k.get("completed_referrals")),
        ("วันจนรับเรื่อง p50 / days to accept p50", (k.get("time_to_accept_days") or {}).get("p50")),
        ("วันจนสำเร็จ p50 / days to complete p50", (k.get("time_to_complete_days") or {}).get("p50")),
        ("ความพึงพอใจ (เต็ม 5) / satisfaction (of 5)", (k.get("satisfaction") or {}).get("mean")),
        ("มูลค่า (บาท) / value created (baht)", k["value_baht"]), ("งบประมาณ (บาท) / budget (baht)", k["budget_baht"]),
        ("มูลค่าต่องบ 1 บาท / value per baht", k["value_per_baht"], "multiple"),
        ("จังหวัดที่มีเครือข่าย / provinces live", k["provinces_live"])))
    targets = _table(("year / ปี", "target / เป้าหมาย", "live / มีเครือข่าย", "met / บรรลุ"),
                     [(str(t["year"]), t["target"], t["live"], "✓" if t["met"] else "✗") for t in k["targets"]])
    return (f'<h2>ตัวชี้วัด / KPIs</h2><div class="kpis">{boxes}</div>'
            f'<p class="muted">Budget source: {_e(k["budget_source"])}. '
            f'{_e((k.get("budget_note") or {}).get("th", ""))} {_e((k.get("budget_note") or {}).get("en", ""))}</p>'
            f'{targets}{_img(figures["kpis"], "KPIs")}')


def _coverage_section(data, figures) -> str:
    gaps = data["gaps"]
    summary = ", ".join(f"{_e(kind)}: {n}" for kind, n in gaps["summary"].items())
    rows = [(g["kind"], g["province"], g["category"], g["cases"], g["reason"]["th"], g["reason"]["en"])
            for g in gaps["items"][:40]]
    return ("<h2>ความครอบคลุมและช่องว่าง / Coverage and gaps</h2>"
            f"<p>Gaps: {summary}. The 40 worst:</p>"
            + _table(("kind", "province", "category", "cases", "เหตุผล", "reason"), rows)
            + _img(figures["heatmap"], "coverage heatmap") + _img(figures["map"], "map of provinces"))


def _network_section(net, figures) -> str:
    brokers = _table(("member", "name", "province", "betweenness", "partners"),
                     [(b["member"], b["name_th"], b["province"], b["betweenness"], b["partners"])
                      for b in net["brokers"]])
    cut = _table(("member", "name", "province", "partners"),
                 [(a["member"], a["name_th"], a["province"], a["partners"]) for a in net["articulation_points"][:30]])
    critical = _table(("member", "name", "needs it alone keeps in reach"),
                      [(c["member"], c["name_th"], ", ".join(f"{n['province']} {n['category']} ({n['cases']})"
                                                            for n in c["needs"][:6]))
                       for c in net["critical_members"][:30]])
    g = net["graph"]
    return ("<h2>จุดเสี่ยงและผู้เชื่อมโยง / Single points of failure and brokers</h2>"
            f"<p>{g['members']:,} members, {g['collaborations']:,} collaborating pairs, {len(net['isolates']):,} "
            f"isolated members (no joint referral), {net['communities']['count']} communities "
            f"(modularity {net['communities']['modularity']}), {len(net['articulation_points'])} articulation points, "
            f"{len(net['bridges'])} bridges, {len(net['single_providers'])} sole providers of a category in a "
            f"province or hub area, {len(net['critical_members'])} members whose loss leaves needs uncovered.</p>"
            f"{_img(figures['network'], 'collaboration network')}<h3>Brokers</h3>{brokers}"
            f"<h3>Members whose loss leaves needs uncovered</h3>{critical}<h3>Articulation points</h3>{cut}")


def _rollout_section(plan, figures) -> str:
    rows = [(s["order"], f"{s['name_th']} {s['name_en']}", s["gain"], s["reason"]["th"], s["reason"]["en"])
            for s in plan["steps"]]
    if plan["met_already"]:
        status = (f"{plan['live_now']} provinces are live: the target of {plan['target']} is met "
                  "(จังหวัดที่มีเครือข่ายครบตามเป้าหมายแล้ว).")
    else:
        status = (f"From {plan['live_now']} to {plan['target']} provinces; the greedy plan reaches at least "
                  f"{plan['quality']:.0%} of the best possible gain (upper bound {plan['upper_bound']:.1f}).")
    return ("<h2>แผนขยายเครือข่าย / Rollout plan</h2>"
            f"<p>{_e(plan['objective']['th'])}<br>{_e(plan['objective']['en'])}.<br>{_e(status)}</p>"
            + (_table(("#", "province", "gain (cases/yr)", "เหตุผล", "reason"), rows) if rows else "")
            + _img(figures["rollout"], "rollout plan"))


def _bundle_text(bundle) -> str:
    if not bundle:
        return "–"
    if bundle.get("error"):
        return bundle["error"]
    members = "; ".join(f"{m['name_th']} ({', '.join(m['needs'])})" for m in bundle.get("members", []))
    missing = f" — uncovered: {', '.join(bundle['uncovered'])}" if bundle.get("uncovered") else ""
    meaning = bundle.get("chance_meaning")
    chance = f" — {meaning['th']} / {meaning['en']}" if meaning else ""
    return (members or "–") + missing + chance


def _cluster_section(clusters) -> str:
    rows = [(c["name_th"], c["province"], c["enterprises"],
             " / ".join(f"{s}:{n}" for s, n in c["stages"].items()), ", ".join(c["missing_stages"]) or "–",
             ", ".join(f"{m['category']} ({m['why']})" for m in c["missing_services"]) or "–",
             ", ".join(c["shared_needs"]) or "–", _bundle_text(c.get("bundle"))) for c in clusters["items"]]
    return ("<h2>คลัสเตอร์ / Clusters</h2>"
            + _table(("cluster", "province", "enterprises", "stages", "missing stages", "missing services",
                      "shared needs", "bundle for the shared needs / ชุดบริการสำหรับความต้องการร่วม"), rows))


def to_json(data: dict) -> str:
    """The report data as JSON (Thai unescaped)."""
    return json.dumps(data, ensure_ascii=False, indent=1, default=_jsonable)


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
