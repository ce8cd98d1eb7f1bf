"""The fact-kind registry: what each kind declares, against the database and the public names."""

from __future__ import annotations

import pytest

from crawler.db import open_db
from pipelines import kinds as registry
from pipelines.facts import article_facts
from pipelines.kinds import FactKind, kinds, tables


def test_the_kinds_keep_the_public_table_and_export_names_in_digest_order():
    assert [(k.__kind__, k.table, k.digest_section) for k in kinds()] == [
        ("figures", "figures", "figures"), ("references", "directives", "documents"),
        ("instructions", "instructions", "instructions")]


def test_each_kind_declares_exactly_the_columns_of_its_table(tmp_path):
    db = open_db(tmp_path / "dxwatch.db")
    for kind in kinds():
        stored = [c.name for c in db[kind.table].columns if c.name not in ("id", "article_id", "document_id",
                                                                          "first_seen")]
        assert sorted(stored) == sorted(kind.columns), kind.__kind__
        assert kind.columns[0] == "key"


def test_article_facts_holds_one_list_per_kind_each_row_with_the_kind_columns():
    found = article_facts("Tỷ lệ hồ sơ trực tuyến đạt 46,2%",
                          "Theo Quyết định số 2971/QĐ-UBND, tỷ lệ hồ sơ trực tuyến đạt 46,2%. Chủ tịch UBND tỉnh "
                          "yêu cầu Sở Thông tin và Truyền thông hoàn thành trước ngày 30/6/2025.", "Thanh Hóa")
    assert list(found) == list(tables())
    for kind in kinds():
        assert found[kind.table], kind.__kind__
        assert all(set(kind.columns) - {"ambiguous", "label", "role"} <= set(row) for row in found[kind.table])
        assert all(kind.describe(row) for row in found[kind.table])
    assert found["directives"][0]["key"] == "2971/QĐ-UBND (Thanh Hóa)"  # a local number is the province's


def test_a_subclass_with_a_kind_name_registers_and_a_second_one_of_that_name_is_refused():
    class Budgets(FactKind):
        __kind__ = "test-budgets"
        order, table, columns = 99, "budgets", ("key", "amount")

    try:
        assert registry._REGISTRY["test-budgets"] is Budgets
        with pytest.raises(TypeError, match="defined twice"):
            type("Again", (FactKind,), {"__kind__": "test-budgets", "order": 99, "table": "b", "columns": ("key",)})
        with pytest.raises(TypeError, match="key"):
            type("NoKey", (FactKind,), {"__kind__": "test-nokey", "order": 99, "table": "b", "columns": ("x",)})
    finally:
        registry._REGISTRY.pop("test-budgets", None)


def test_article_items_declare_a_field_for_every_kind():
    from dataclasses import fields

    from crawler.items import ArticleItem

    assert set(tables()) <= {f.name for f in fields(ArticleItem)}
