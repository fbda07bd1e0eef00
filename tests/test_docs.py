"""The README's commands and the real Makefile, CLI and CI script stay in sync."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands():
    commands = re.findall(r"^\$ (make \w+)$", README, flags=re.M)
    assert commands[:2] == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "127.0.0.1:5000" in README and "$(PORT)" in makefile


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1].strip() == "make test"


def test_documented_cli_commands_exist(app):
    documented = set(re.findall(r"^\| `([a-z][a-z-]+)[ `]", README, flags=re.M))
    assert documented, "the README lists the commands"
    assert documented <= set(app.cli.list_commands(None))


def test_documented_endpoints_exist(app):
    rules = {re.sub(r"<(?:\w+:)?(\w+)>", "<id>", r.rule) for r in app.url_map.iter_rules()}
    for path in re.findall(r"`(?:GET|POST) (/api/v1/[^`]*)`", README):
        assert re.sub(r"<\w+>", "<id>", path) in rules, path
