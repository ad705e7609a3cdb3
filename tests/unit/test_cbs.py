"""The shipped CBS list of municipalities (backend/tenancy/cbs.py) and reading a typed CBS code."""

from __future__ import annotations

import csv
import io
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.tenancy import cbs


def _rows() -> list[dict[str, str]]:
    text = (resources.files("backend.tenancy") / "data" / "cbs_municipalities.csv").read_text(
        encoding="utf-8"
    )
    return list(csv.DictReader(io.StringIO(text)))


def test_the_file_lists_every_municipality_once_sorted_by_code() -> None:
    rows = _rows()
    codes = [row["code"] for row in rows]
    assert list(rows[0]) == ["code", "name"]
    assert len(rows) == len(cbs.MUNICIPALITIES) == 342
    assert len(set(codes)) == len(codes)
    assert codes == sorted(codes)
    assert all(len(code) == 4 and code.isascii() and code.isdigit() for code in codes)
    assert all(row["name"] == row["name"].strip() != "" for row in rows)


def test_the_list_is_read_only() -> None:
    with pytest.raises(TypeError):
        cbs.MUNICIPALITIES["9999"] = "Nergenshuizen"  # type: ignore[index]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("0599", "Rotterdam"),
        ("0606", "Schiedam"),
        ("0363", "Amsterdam"),
        ("0518", "'s-Gravenhage"),
        ("0796", "'s-Hertogenbosch"),
        ("1900", "Súdwest-Fryslân"),
        ("1970", "Noardeast-Fryslân"),
        ("0893", "Bergen (L.)"),
        ("0373", "Bergen (NH.)"),
        ("0164", "Hengelo (O.)"),
        ("0820", "Nuenen, Gerwen en Nederwetten"),
    ],
)
def test_names_are_spelled_as_cbs_spells_them(code: str, name: str) -> None:
    assert cbs.name_of(code) == name


@pytest.mark.parametrize(
    ("dissolved", "successor", "successor_name"),
    [
        ("0501", "1992", "Voorne aan Zee"),
        ("0530", "1992", "Voorne aan Zee"),
        ("0614", "1992", "Voorne aan Zee"),
        ("0457", "0363", "Amsterdam"),
        ("0398", "1980", "Dijk en Waard"),
    ],
)
def test_a_municipality_dissolved_by_a_merger_is_gone_and_its_successor_listed(
    dissolved: str, successor: str, successor_name: str
) -> None:
    assert cbs.name_of(dissolved) is None
    assert cbs.name_of(successor) == successor_name


def test_the_reference_date_is_new_year_2026() -> None:
    assert cbs.REFERENCE_DATE.isoformat() == "2026-01-01"


def test_an_unknown_code_has_no_name() -> None:
    assert cbs.name_of("0000") is None
    assert cbs.name_of("599") is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("0599", "0599"),
        ("  0599\t", "0599"),
        ("GM0599", "0599"),
        ("gm0599", "0599"),
        ("GM 0599", "0599"),
        ("gm 599", "0599"),
        (" GM0606 ", "0606"),
        ("599", "0599"),
        ("14", "0014"),
        ("7", "0007"),
    ],
)
def test_normalise_reads_what_an_admin_types(raw: str, code: str) -> None:
    assert cbs.normalise(raw) == code


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "GM",
        "gm ",
        "05a9",
        "Rotterdam",
        "GM05x9",
        "05999",
        "GM12345",
        "0599GM",
        "G M0599",
        "-599",
        "5 99",
        "０５９９",
    ],
)
def test_normalise_refuses_what_is_no_code(raw: str) -> None:
    assert cbs.normalise(raw) is None


@given(st.text())
def test_normalise_gives_none_or_a_code_that_stays_put(raw: str) -> None:
    code = cbs.normalise(raw)
    assert code is None or (
        len(code) == 4 and code.isascii() and code.isdigit() and cbs.normalise(code) == code
    )


@given(st.integers(min_value=0, max_value=9999), st.sampled_from(["", "GM", "gm", "GM ", "gm "]))
def test_normalise_reads_any_typed_number_back(number: int, prefix: str) -> None:
    assert cbs.normalise(f" {prefix}{number} ") == f"{number:04d}"
