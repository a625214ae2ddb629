"""Fixtures for the classifier's tests: a tiny hand-written corpus, and the `classifier` CLI group on the app."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from flask import Flask

import classifier
from classifier.corpus import CORPUS_COLUMNS, Example

# Three departments a model can tell apart from a handful of examples each, with nature and kind labels,
# and two inadmissible categories for the admissibility head.
TINY_ROWS: list[tuple[str, str, str, str, str]] = [
    ("小区物业乱收停车费，业主都不同意", "housing", "complaint", "livelihood", ""),
    ("物业公司不作为，楼道灯坏了一个月没人修", "housing", "complaint", "livelihood", ""),
    ("电梯天天坏，物业只会贴通知", "housing", "complaint", "livelihood", ""),
    ("物业费涨价没有开业主大会", "housing", "complaint", "livelihood", ""),
    ("请问物业维修基金怎么申请使用", "housing", "consult", "livelihood", ""),
    ("建议小区物业公开收支账目", "housing", "suggest", "livelihood", ""),
    ("楼顶漏水物业推给开发商", "housing", "complaint", "livelihood", ""),
    ("物业保安态度恶劣，业主进门还要登记", "housing", "complaint", "livelihood", ""),
    ("暖气不热，家里室温只有十四度", "heating", "complaint", "livelihood", ""),
    ("供暖季开始了暖气还是凉的", "heating", "complaint", "livelihood", ""),
    ("热力公司收了供暖费暖气却不热", "heating", "complaint", "livelihood", ""),
    ("请问供暖费可以申请停暖吗", "heating", "consult", "livelihood", ""),
    ("建议延长供暖时间到三月底", "heating", "suggest", "livelihood", ""),
    ("暖气管道漏水，热力公司不来修", "heating", "complaint", "livelihood", ""),
    ("老楼暖气片不热，室温太低", "heating", "complaint", "livelihood", ""),
    ("暖气阀门打不开，供热站电话打不通", "heating", "complaint", "livelihood", ""),
    ("公司拖欠工资三个月不发", "hrss", "complaint", "livelihood", ""),
    ("老板欠薪跑路了，农民工工资没人管", "hrss", "complaint", "livelihood", ""),
    ("请问灵活就业社保怎么缴纳", "hrss", "consult", "livelihood", ""),
    ("单位不给交社保，还不签劳动合同", "hrss", "complaint", "livelihood", ""),
    ("建议简化养老金资格认证手续", "hrss", "suggest", "livelihood", ""),
    ("工伤认定迟迟办不下来", "hrss", "complaint", "livelihood", ""),
    ("我们企业想咨询稳岗补贴的申报条件", "hrss", "consult", "development", ""),
    ("企业招工难，希望人社部门组织招聘会", "hrss", "suggest", "development", ""),
    ("楼下着火了浓烟滚滚", "", "complaint", "livelihood", "emergency"),
    ("有人晕倒在路边不省人事", "", "complaint", "livelihood", "emergency"),
    ("路口发生车祸有人受伤", "", "complaint", "livelihood", "emergency"),
    ("我要起诉前夫，法院判决不执行", "", "complaint", "livelihood", "litigation"),
    ("劳动仲裁裁决了公司还不给钱", "", "complaint", "livelihood", "litigation"),
    ("已经向法院起诉了，希望平台督促法院快点判", "", "complaint", "livelihood", "litigation"),
]


def tiny_examples() -> list[Example]:
    return [
        Example(text=text, dept_type=dept or None, nature=nature, kind=kind, inadmissible=code or None)
        for text, dept, nature, kind, code in TINY_ROWS
    ]


def write_tiny_corpus(path: Path) -> Path:
    """The tiny corpus as a CSV in the shipped corpus's format."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CORPUS_COLUMNS)
        writer.writerows(TINY_ROWS)
    return path


@pytest.fixture
def tiny_corpus() -> list[Example]:
    return tiny_examples()


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_tiny_corpus(tmp_path / "tiny.csv")


@pytest.fixture
def app(app: Flask) -> Flask:
    """The shared app, with the `classifier` group registered if the factory does not do it yet."""
    if "classifier" not in app.cli.commands:
        classifier.init_app(app)
    return app
