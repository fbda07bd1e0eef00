"""Database commands: create and seed the store, generate a network of another size, export the graph."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from flask import current_app

from matcher.synthetic.dataset import ensure_database
from matcher.synthetic.demo import DEMO_SEED, SCALES
from matcher.synthetic.truths import DEFAULT_TRUTH, TRUTHS


def _reference():
    return current_app.extensions["rismep"].ref


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.command("init-db")
def init_db():
    """Create the configured database with the synthetic demo network if it does not exist.

    Example: flask --app api init-db
    """
    from matcher.store import directory, open_db
    path = current_app.config["DATABASE"]
    created = ensure_database(path, _reference(), seed=int(current_app.config["DEMO_SEED"]),
                              scale=current_app.config["DEMO_SCALE"])
    db = open_db(path)
    _echo_json({"database": str(path), "created": created, **directory.dataset_info(db),
                "counts": directory.counts(db)})
    db.close()


@click.command("generate")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--scale", type=click.Choice(sorted(SCALES)), default="demo", show_default=True,
              help="demo: 245 agencies and 217 consultants in 16 provinces; national: all 77 provinces, "
                   "about ten times the members and 50,000 historical referrals")
@click.option("--seed", type=int, default=DEMO_SEED, show_default=True)
@click.option("--truth", type=click.Choice(list(TRUTHS)), default=DEFAULT_TRUTH, show_default=True,
              help="the hidden world the outcomes are drawn from: " + "; ".join(
                  f"{t.name}: {t.summary}" for t in TRUTHS.values()))
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def generate(path, scale, seed, truth, quiet):
    """Write a synthetic network of the given scale into a NEW SQLite file at PATH.

    The outcomes of its history follow a hidden truth (--truth); the engine never reads it, but
    `evaluate-engine` measures recommendations against it.

    Example: flask --app api generate /tmp/national.db --scale national --truth per_need
    """
    from matcher.store import directory, open_db
    if Path(path).exists():
        raise click.ClickException(f"{path} exists; choose a new file (the generator never overwrites).")
    start = time.perf_counter()
    if not quiet:
        click.echo(f"generating the {scale} network (synthetic, truth {truth}) ...", err=True)
    ensure_database(path, _reference(), seed=seed, scale=scale, truth=truth)
    db = open_db(path)
    _echo_json({"database": path, "seconds": round(time.perf_counter() - start, 2),
                **directory.dataset_info(db), "counts": directory.counts(db),
                "size_mb": round(Path(path).stat().st_size / 1e6, 1)})
    db.close()


@click.command("export-graph")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["graphml", "gexf"]),
              help="GraphML or GEXF (Gephi); by default from PATH's ending, else GraphML")
@click.option("--graph", "which", type=click.Choice(["full", "collaboration"]), default="full", show_default=True,
              help="full: members, categories, provinces, clusters; collaboration: members and joint referrals only")
def export_graph(path, fmt, which):
    """Write the whole network (members, categories, provinces, clusters, collaborations) as GraphML or GEXF.

    Example: flask --app api export-graph network.gexf --graph collaboration
    """
    from graphs.network import build_network
    from matcher.errors import RismepError
    from matcher.exchange.exports import member_network, write_graph
    from matcher.store import directory, history, open_db
    db = open_db(current_app.config["DATABASE"])
    G = build_network(members=directory.all_members(db), categories=directory.categories(db),
                      provinces=directory.provinces(db), clusters=directory.clusters(db),
                      collaborations=history.collaborations(db))
    db.close()
    G = member_network(G) if which == "collaboration" else G
    try:
        write_graph(G, path, fmt)
    except RismepError as error:
        raise click.ClickException(error.message) from None
    _echo_json({"path": path, "graph": which, "nodes": G.number_of_nodes(), "edges": G.number_of_edges()})


commands = [init_db, generate, export_graph]
