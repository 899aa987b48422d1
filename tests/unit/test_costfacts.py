"""The cost fact store: exact amounts, checked staging, roll-ups for the allocation engine."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.costfacts import (
    AMOUNT_SCALE,
    STAGED_COLUMNS,
    CostFactStore,
    CostFactStoreError,
    CostGroup,
    SourceFile,
    install_sql_macros,
)
from ledger.errors import InputError, NotFoundError

QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    install_sql_macros(connection)
    yield connection
    connection.close()


def parse_all(con, texts: list[str]) -> list[Decimal | None]:
    con.execute("CREATE OR REPLACE TEMP TABLE t (i INTEGER, x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    return [row[0] for row in con.execute("SELECT exact_decimal(x) FROM t ORDER BY i").fetchall()]


amounts = st.decimals(
    min_value=Decimal("-1e19"), max_value=Decimal("1e19"), allow_nan=False, allow_infinity=False,
    places=None,
).filter(lambda d: d.as_tuple().exponent >= -30)


@settings(max_examples=60, deadline=None)
@given(st.lists(amounts, min_size=1, max_size=40))
def test_text_amounts_become_exact_decimals_rounded_half_up_beyond_18_places(con, values) -> None:
    texts = []
    for value in values:
        texts += [format(value, "f"), format(value, "E"), str(value)]
    parsed = parse_all(con, texts)
    for index, value in enumerate(values):
        with localcontext() as context:
            context.prec = 60
            expected = value.quantize(QUANTUM, rounding=ROUND_HALF_UP)
        assert parsed[3 * index : 3 * index + 3] == [expected] * 3, texts[3 * index]


def test_only_numbers_are_amounts(con) -> None:
    good = ["1", "+1.5", "-.25", "1.", "0012.50", "7.0E-10", "5.64902E-05", "1e3", "-0"]
    bad = ["", ".", "-", "1.2.3", "1,5", "12,50", "abc", "NaN", "inf", "1e", "0x10", "1 000"]
    assert parse_all(con, good) == [
        Decimal(t) for t in ["1", "1.5", "-0.25", "1", "12.5", "7E-10", "0.0000564902", "1000", "0"]
    ]
    assert parse_all(con, bad) == [None] * len(bad)


# -- a store fed by a fake importer ---------------------------------------------------------------


def fact(**overrides) -> dict[str, object]:
    row: dict[str, object] = {
        "billing_period": "2024-09",
        "charge_period_start": "2024-09-01 10:00:00",
        "charge_period_end": "2024-09-01 11:00:00",
        "provider": "AWS",
        "billing_account_id": "111",
        "sub_account_id": "222",
        "service_name": "Amazon S3",
        "resource_id": "bucket-1",
        "charge_category": "Usage",
        "billed_cost": "0.0000000000000000011",
        "effective_cost": "1",
        "billing_currency": "USD",
        "tags": {},
    }
    row.update(overrides)
    return row


class FakeImporter:
    """Stages the given rows (source row 2 upwards), with an optional importer-found problem."""

    format_name = "fake"
    first_row = 2

    def __init__(self, rows: list[dict[str, object]], problem: tuple[int, str] | None = None,
                 columns: dict[str, str] | None = None) -> None:
        self.rows = rows
        self.problem = problem
        self.columns = columns or STAGED_COLUMNS

    def stage(self, con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
        defs = ", ".join(f'"{n}" {k}' for n, k in self.columns.items())
        con.execute(
            f"CREATE TABLE staged_facts ({defs}, _problem_field VARCHAR, "
            f"_problem_value VARCHAR, _problem VARCHAR)"
        )
        for index, row in enumerate(self.rows):
            values = [row.get(name) for name in self.columns]
            problem = [None, None, None]
            if self.problem and self.problem[0] == index:
                problem = [self.problem[1], "x", "is broken"]
            marks = ", ".join("?" for _ in range(len(values) + 3))
            con.execute(f"INSERT INTO staged_facts VALUES ({marks})", [*values, *problem])


def fake_import(store: CostFactStore, tmp_path: Path, name: str, importer: FakeImporter):
    path = tmp_path / name
    path.write_text(name + repr(importer.rows))  # the content decides the idempotency key
    return store.import_file(path, importer)


@pytest.fixture
def store(tmp_path: Path) -> CostFactStore:
    return CostFactStore(tmp_path / "costfacts")


def test_an_empty_store_answers_every_query_with_nothing(store) -> None:
    assert store.totals() == []
    assert store.tag_keys() == []
    assert store.periods() == []
    assert list(store.groups(period="2024-09")) == []
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM cost_facts").fetchone() == (0,)


def test_groups_roll_hourly_facts_up_by_dimensions_and_tags(tmp_path: Path, store) -> None:
    rows = [
        fact(billed_cost="1.1", tags={"env": "prod", "team": "a"}),
        fact(billed_cost="2.2", charge_period_start="2024-09-01 11:00:00",
             tags={"team": "a", "env": "prod"}),
        fact(billed_cost="-0.3", charge_category="Credit", tags={"env": "prod", "team": "b"}),
        fact(billed_cost="4", billing_currency="EUR"),
        fact(billed_cost="100", billing_period="2024-10"),
    ]
    fake_import(store, tmp_path, "a.csv", FakeImporter(rows))

    by_all_tags = list(store.groups(period="2024-09", by=("service_name",)))
    assert [(g.currency, g.tags, g.rows, g.billed_cost) for g in by_all_tags] == [
        ("EUR", (), 1, Decimal(4)),
        ("USD", (("env", "prod"), ("team", "a")), 2, Decimal("3.3")),
        ("USD", (("env", "prod"), ("team", "b")), 1, Decimal("-0.3")),
    ]
    by_env = list(store.groups(period="2024-09", by=("charge_category",), tag_keys=["env"]))
    assert [(g.dimension("charge_category"), g.tag("env"), g.billed_cost) for g in by_env] == [
        ("Usage", None, Decimal(4)),
        ("Credit", "prod", Decimal("-0.3")),
        ("Usage", "prod", Decimal("3.3")),
    ]
    assert all(isinstance(g, CostGroup) and g.origin == "billing" for g in by_env)
    assert len({*by_env, *by_env}) == 3  # hashable: rules can be cached per group
    assert store.tag_keys(periods=["2024-09"]) == ["env", "team"]
    assert store.periods() == ["2024-09", "2024-10"]


def test_groups_refuse_unknown_dimensions_and_malformed_periods(store) -> None:
    with pytest.raises(ValueError, match="cannot group by"):
        list(store.groups(period="2024-09", by=("billed_cost; DROP",)))
    with pytest.raises(ValueError, match="YYYY-MM"):
        list(store.groups(period="2024-9"))


def test_amounts_keep_eighteen_decimals(tmp_path: Path, store) -> None:
    fake_import(store, tmp_path, "a.csv", FakeImporter([fact(), fact()]))
    assert store.currency_totals() == {"USD": Decimal("0.000000000000000002")}


def test_the_store_checks_the_invariants_an_importer_missed(tmp_path: Path, store) -> None:
    rows = [fact(), fact(), fact(charge_category="Refund")]
    with pytest.raises(InputError) as caught:
        fake_import(store, tmp_path, "bad.csv", FakeImporter(rows))
    assert (caught.value.source, caught.value.row, caught.value.field) == (
        "bad.csv", 4, "charge_category"
    )
    assert store.imports() == []


def test_the_first_problem_an_importer_reports_is_raised(tmp_path: Path, store) -> None:
    rows = [fact(), fact(billing_currency="usd"), fact()]
    with pytest.raises(InputError) as caught:
        fake_import(store, tmp_path, "bad.csv", FakeImporter(rows, problem=(0, "Cost")))
    assert (caught.value.row, caught.value.field) == (2, "Cost")


def test_an_importer_with_the_wrong_schema_is_a_bug_not_bad_input(tmp_path: Path, store) -> None:
    columns = {**STAGED_COLUMNS, "billed_cost": "DOUBLE"}
    with pytest.raises(CostFactStoreError, match="billed_cost is DOUBLE"):
        fake_import(store, tmp_path, "a.csv", FakeImporter([fact()], columns=columns))


def test_removing_an_unknown_import_is_not_found(store) -> None:
    with pytest.raises(NotFoundError):
        store.remove_import("nope")


def test_a_damaged_manifest_is_reported(store) -> None:
    (store.root / "manifest.json").write_text("{not json")
    with pytest.raises(CostFactStoreError, match="not valid JSON"):
        store.totals()
