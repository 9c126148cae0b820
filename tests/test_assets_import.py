"""`refbot import --assets FILE`: the customer import's reading, mapping and reporting, the form's rules."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from bot.cli import main
from models import Asset, AuditEntry
from models.db import Database
from tests import factories


def refbot(*args: str) -> int:
    return main(["--env-file", "/nonexistent", *args])


def seed(db: Database) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Corp", products=("Payments",), consents=("case_study",))
        factories.customer(session, "Initech", industry="Retail")


LIBRARY = (
    "Content export 2026-11-30\n"  # a title row above the header, as exports have
    "Asset Title;Asset Type;URL;Account Name;Published;Expiry;Tags\n"
    "Acme payments story;Case study;https://acme.example/story;Acme Corp;2025-03-01;;onboarding, SSO\n"
    "Initech logo;logo;https://initech.example/logo.svg;initech.example;2024-01-01;2030-01-01;\n"
    "Broken link;quote;acme dot com;Acme Corp;;;\n"
    "Nobody's story;case_study;https://x.example/s;Nobody Such;;;\n"
    "Odd kind;podcast;https://acme.example/p;Acme Corp;;;\n"
    "Acme payments story;case study;https://acme.example/story-v2;Acme Corp;2025-03-01;;\n"
)


def test_cli_imports_assets_with_the_mapping_and_the_report(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(cli_env)
    path = tmp_path / "library.csv"
    path.write_text(LIBRARY, encoding="utf-8")
    report_csv = tmp_path / "report.csv"
    assert refbot("import", "--assets", "--report", str(report_csv), str(path)) == 0
    out = capsys.readouterr().out
    assert f"{path}: CSV, semicolon-separated" in out and "6 rows; columns used:" in out
    assert (
        "  Asset Title  → title\n" in out and "  Account Name → customer\n" in out and "  Tags         → topics" in out
    )
    assert f"{path}: 2 created, 0 updated, 4 skipped" in out
    assert "line 5: link: Give the asset's address, starting with https://" in out
    assert "line 6: customer: No customer matches “Nobody Such”" in out
    assert "line 7: kind: I don't know the kind of content “podcast”. Use one of: `case_study`" in out
    assert "line 8: the same asset as an earlier row: Acme payments story" in out
    with cli_env.reading() as session:
        assets = {a.title: a for a in session.scalars(select(Asset))}
        story, logo = assets["Acme payments story"], assets["Initech logo"]
        assert (story.kind, story.consent_type, story.published_on) == ("case_study", "case_study", date(2025, 3, 1))
        assert story.topics == ["onboarding", "SSO"] and story.products == ["Payments"]  # the customer's products
        assert (logo.customer.name, logo.expires_on, logo.consent_type) == ("Initech", date(2030, 1, 1), "logo")
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "asset.created")).all()) == 2
    rows = list(csv.reader(report_csv.open(encoding="utf-8-sig")))
    assert [r[0] for r in rows[1:]].count("created") == 2 and [r[0] for r in rows[1:]].count("skipped") == 4

    # Again, from an XLSX whose headers are the fields' own names: the existing asset is updated, not doubled.
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["title", "kind", "link", "customer"])
    sheet.append(["Acme payments story", "case_study", "https://acme.example/story-v3", "Acme Corp"])
    xlsx = tmp_path / "library.xlsx"
    workbook.save(xlsx)
    assert refbot("import", "--assets", str(xlsx)) == 0
    assert f"{xlsx}: 0 created, 1 updated, 0 skipped" in capsys.readouterr().out
    with cli_env.reading() as session:
        assert [a.link for a in session.scalars(select(Asset).where(Asset.kind == "case_study"))] == [
            "https://acme.example/story-v3"
        ]


def test_dry_run_writes_nothing_and_bad_files_and_maps_are_one_sentence(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(cli_env)
    path = tmp_path / "library.csv"
    path.write_text(LIBRARY, encoding="utf-8")
    assert refbot("import", "--assets", "--dry-run", str(path)) == 0
    assert "2 created, 0 updated, 4 skipped (dry run: nothing written)" in capsys.readouterr().out
    with cli_env.reading() as session:
        assert session.scalars(select(Asset)).all() == []

    no_link = tmp_path / "no_link.csv"
    no_link.write_text("Title,Customer,Kind\nX,Acme Corp,quote\n", encoding="utf-8")
    assert refbot("import", "--assets", str(no_link)) == 1
    err = capsys.readouterr().err
    assert "has no link column" in err and "nothing was imported from it" in err and "Traceback" not in err

    assert refbot("import", "--assets", "--map", "Where=colour", str(path)) == 1
    assert "an asset has no field 'colour'; fields are title, kind, link" in capsys.readouterr().err
    # --map names the link column when its header is not a known spelling.
    no_link.write_text(
        "Title,Customer,Kind,Where\nAcme quote,Acme Corp,quote,https://acme.example/q\n", encoding="utf-8"
    )
    assert refbot("import", "--assets", "--map", "Where=link", str(no_link)) == 0
    assert "Where    → link (--map)" in capsys.readouterr().out
