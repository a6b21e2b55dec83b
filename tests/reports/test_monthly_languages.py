"""The monthly report in each language: the HTML's lang, dir and text, the PDF's text read back
with pdftotext (the words of the language, no English sentence, an Arabic-script font embedded),
the paper (Letter in English, A4 otherwise), and the mailer's subject in REPORT_LANGUAGE."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from services.cli import main
from services.common import i18n
from services.reports import delivery
from services.reports.monthly import render
from tests.reports.test_delivery import mail_env, seed, smtp  # noqa: F401  (fixtures)
from tests.reports.test_languages import KEPT, english_texts
from tests.support.smtp_server import SmtpServer

UTC = ZoneInfo("UTC")
needs_tools = pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("pdftotext")),
    reason="needs chromium and pdftotext: apt-get install chromium poppler-utils (.ci/run does)",
)
# A figure-field word each language must show, as its people write it.
WORDS = {"tr": "Etkileşim", "ar": "التفاعل", "fa": "تعامل", "fi": "Sitoutuminen"}
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_text(html: str) -> str:
    body = re.sub(r"(?s)<(style|code)>.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def english_left(text: str) -> list[str]:
    return [e for e in english_texts() if re.search(rf"(?<!\w){re.escape(e)}(?!\w)", text)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["tr", "ar", "fa", "fi"])
def test_the_html_report_in_each_language(engine: Engine, language: str) -> None:
    seed(engine)
    html = render(engine, month="2026-03", tz=UTC, group_id="rapport", language=language)
    direction = "rtl" if language in ("ar", "fa") else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in html
    text = visible_text(html)
    assert WORDS[language] in text
    assert not english_left(text), english_left(text)
    if language in ("ar", "fa"):
        latin = {w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in KEPT}
        assert not latin, sorted(latin)
        # 120,000 impressions in the language's own digits, no Latin ones among the figures.
        assert i18n.speaker(language).number(120_000) in text
        assert not re.search(r"[0-9]", re.sub(r"rapport-\d", "", text))
    assert "@page { size: A4; }" in html


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    (tmp_path / "r.pdf").write_bytes(pdf)
    run = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True
    )
    return BIDI_MARKS.sub("", run.stdout)


def pdf_fonts(tmp_path: Path) -> str:
    return subprocess.run(
        ["pdffonts", str(tmp_path / "r.pdf")], capture_output=True, text=True, check=True
    ).stdout


@needs_tools
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("language", "words"),
    [
        pytest.param("fa", ["تعامل", "گفتگوهای پشتیبانی", "دنبال‌کنندگان", "۱۲۰٬۰۰۰"], id="fa"),
        pytest.param("ar", ["التفاعل", "مرات الظهور", "المتابعون", "١٢٠٬٠٠٠"], id="ar"),
        pytest.param("fi", ["Sitoutuminen", "Näyttökerrat", "120 000"], id="fi"),
        pytest.param("tr", ["Etkileşim", "Gösterim", "120.000"], id="tr"),
    ],
)
def test_the_pdf_reads_back_in_the_language(
    engine: Engine, tmp_path: Path, language: str, words: list[str]
) -> None:
    seed(engine)
    html = render(engine, month="2026-03", tz=UTC, group_id="rapport", language=language)
    text = pdf_text(delivery.pdf_of(html), tmp_path)
    # Whole words in reading order: pdftotext reads the shaped runs back as the words they are.
    flat = re.sub(r"\s+", " ", text).replace("\u00a0", " ")
    for word in words:
        assert word.replace("\u00a0", " ") in flat, (word, flat[:400])
    assert not english_left(flat), english_left(flat)
    if language in ("ar", "fa"):
        # Shaped by Chromium (HarfBuzz) in a font that covers Arabic script, embedded.
        assert "NotoSansArabic" in pdf_fonts(tmp_path) or "NotoNaskhArabic" in pdf_fonts(tmp_path)


@needs_tools
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_cli_writes_the_language_asked_on_its_paper(
    engine: Engine, cli_env: None, tmp_path: Path
) -> None:
    seed(engine)
    for language, paper in (("fi", (595, 842)), ("en", (612, 792))):
        out = tmp_path / f"{language}.pdf"
        args = ["report", "monthly", "--month", "2026-03", "--language", language]
        assert main([*args, "--pdf", str(out), "--out", str(tmp_path / f"{language}.html")]) == 0
        info = subprocess.run(
            ["pdfinfo", str(out)], capture_output=True, text=True, check=True
        ).stdout
        size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info)
        assert size and (round(float(size[1])), round(float(size[2]))) == paper, info
    assert 'lang="fi"' in (tmp_path / "fi.html").read_text(encoding="utf-8")


@needs_tools
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_mailer_writes_in_report_language(
    engine: Engine,
    mail_env: None,  # noqa: F811
    smtp: SmtpServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPORT_LANGUAGE", "fa")
    monkeypatch.setenv("RAPPORT_LANGUAGE", "fi")  # REPORT_LANGUAGE wins for the report
    seed(engine)
    assert main(["report", "monthly", "--month", "2026-03", "--email", "ceo@a.example"]) == 0
    [message] = smtp.inbox.messages
    assert message["Subject"] == "Rapport · مارس ۲۰۲۶"
    body = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert '<html lang="fa" dir="rtl">' in body
    plain = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "پیوست" in plain and "attached" not in plain
