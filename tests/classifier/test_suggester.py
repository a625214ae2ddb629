"""The default model trained from the shipped corpus: suggestions, admissibility, lifecycle, acceptance figures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask

import classifier
from classifier import lifecycle
from classifier.corpus import Example
from classifier.errors import ModelError
from classifier.model import read_metadata, train
from classifier.stats import acceptance_stats
from models import Petition, utcnow
from models.enums import DeptType, InadmissibleCode, Nature, PetitionKind, PetitionState
from tests.factories import make_district

# The default model at the app's model path (from the suite's cache; get_suggester would otherwise train it here).
pytestmark = pytest.mark.usefixtures("trained_classifier")


def test_default_model_is_trained_on_first_use_and_cached(app: Flask) -> None:
    suggester = classifier.get_suggester(app)
    path = lifecycle.model_path(app)
    assert path.exists() and path.stat().st_size < 20_000_000
    assert read_metadata(path)["source"] == "default"
    assert classifier.get_suggester(app) is suggester
    assert classifier.get_suggester() is suggester  # from the app context


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("我们小区物业天天不作为，楼道里的垃圾一个星期没人清理，物业费一分不少收", "housing"),
        ("家里暖气片冰凉，打热力公司电话没人接，老人孩子冻得够呛", "heating"),
        ("饭店后厨脏乱差，吃完拉肚子，还卖过期的饮料", "market"),
        ("请问孩子明年上小学，学区怎么划分的，需要准备什么材料", "education"),
    ],
)
def test_clear_petitions_get_the_right_department_first(app: Flask, text: str, department: str) -> None:
    suggestion = classifier.get_suggester(app).suggest(text)
    codes = [code for code, _ in suggestion.departments]
    assert codes[0] == department, suggestion.departments
    assert len(codes) == 3 and len(set(codes)) == 3
    scores = [score for _, score in suggestion.departments]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0 + 1e-9
    assert suggestion.admissible and suggestion.inadmissible_code is None


# The confident mistakes (老年人免费乘车卡 → 公安 55 %, 高新技术企业补贴 → 人力资源社会保障 62 %, 农家乐乱收费 →
# 水务 47 %), each with the departments a dispatcher would accept.
@pytest.mark.parametrize(
    ("text", "right"),
    [
        ("老年人免费乘车卡", {"transport", "civil"}),
        ("老年人免费乘车卡怎么办理", {"transport", "civil"}),
        ("高新技术企业补贴", {"industry"}),
        ("高新技术企业补贴什么时候发放", {"industry"}),
        ("农家乐乱收费", {"market", "culture_tourism"}),
        ("崂山农家乐乱收费，一盘菜要两百", {"market", "culture_tourism"}),
    ],
)
def test_former_confident_mistakes_rank_a_right_department_first_or_say_uncertain(
    app: Flask, text: str, right: set[str]
) -> None:
    suggestion = classifier.get_suggester(app).suggest(text)
    codes = [code for code, _ in suggestion.departments]
    if suggestion.uncertain:
        assert right & set(codes), suggestion.departments
        assert len(codes) == 3
    else:
        assert codes[0] in right, suggestion.departments


def test_uncertain_when_the_top_class_is_weak_or_the_top_two_are_close() -> None:
    from classifier.suggest import UNCERTAIN_BELOW, UNCERTAIN_MARGIN, is_uncertain

    assert not is_uncertain([0.9, 0.05, 0.02])
    assert is_uncertain([UNCERTAIN_BELOW - 0.01, 0.1, 0.05])  # weak
    assert is_uncertain([0.7, 0.7 - UNCERTAIN_MARGIN + 0.01, 0.0])  # close
    assert is_uncertain([])
    data = classifier.Suggestion([("housing", 0.4), ("heating", 0.35)], "complaint", 0.9, False, 0.0, True,
                                 None, None, [], uncertain=True).to_dict()  # fmt: skip
    assert data["uncertain"] is True


def test_nature_and_development(app: Flask) -> None:
    suggester = classifier.get_suggester(app)
    consult = suggester.suggest("请问灵活就业人员的养老保险怎么缴纳，在哪里办理？")
    assert consult.nature == Nature.CONSULT
    suggest = suggester.suggest("建议在我们小区门口的路口增设红绿灯，上下学的孩子过马路太危险")
    assert suggest.nature == Nature.SUGGEST
    enterprise = suggester.suggest(
        "我们公司是一家制造业企业，申报的技改补贴资金到现在还没拨付，影响企业扩大生产"
    )
    assert enterprise.development and enterprise.development_score >= 0.5
    citizen = suggester.suggest("楼上邻居天天半夜蹦迪，吵得睡不着")
    assert not citizen.development


def test_terms_explain_the_department_and_come_from_the_text(app: Flask) -> None:
    text = "小区物业乱收停车费，业主不同意，物业还把车锁了"
    suggestion = classifier.get_suggester(app).suggest(text)
    assert suggestion.terms and len(suggestion.terms) <= 5
    assert "物业" in suggestion.terms
    assert all(term in text for term in suggestion.terms)


# The filler: "不敢开 晚上 窗户 楼下 直接", "办 带 哪些 户口 不能".
@pytest.mark.parametrize(
    ("text", "expected", "filler"),
    [
        ("晚上楼下烧烤不敢开窗户，直接熏到家里", "烧烤", {"不敢开", "晚上", "楼下", "直接"}),
        ("办户口带哪些材料，不能网上办吗", "户口", {"办", "带", "哪些", "不能", "带哪些", "材料不能", "不能网上"}),
    ],
)
def test_terms_are_the_words_that_pushed_the_class_without_filler(
    app: Flask, text: str, expected: str, filler: set[str]
) -> None:
    """Rule: the reasons are the words whose contribution (TF-IDF value × class weight) to the first department is
    largest; stop words, function words, time and place-relation words and single characters are not reasons."""
    suggester = classifier.get_suggester(app)
    suggestion = suggester.suggest(text)
    assert expected in suggestion.terms
    assert not filler & set(suggestion.terms), suggestion.terms
    assert all(len(term) >= 2 for term in suggestion.terms)
    # Each term pushes the suggested department up for this text: its contribution is positive.
    head = suggester.model.heads["department"]
    weights = head.class_weights(suggestion.departments[0][0])
    row = suggester.features(text).tocsr()
    names = list(suggester.model.features.transformer_list[0][1].get_feature_names_out())
    for term in suggestion.terms:
        columns = [i for i, name in enumerate(names) if name.replace(" ", "") == term]
        assert any(row[0, c] * weights[c] > 0 for c in columns), term


def test_gibberish_is_screened_alike_by_the_bot_rules_and_the_suggester(app: Flask) -> None:
    """Rule: 恶意攻击、骚扰、无实质诉求 are not admitted; the bot (rules) and `predict` (rules + model) agree."""
    suggester = classifier.get_suggester(app)
    for text in ("asdfghjkl qwerty", "asdkjfh 哈哈 xxxxx 123", "哈哈哈 呵呵 123"):
        assert classifier.screen(text).code == InadmissibleCode.HARASSMENT, text
        assert suggester.suggest(text).inadmissible_code == InadmissibleCode.HARASSMENT.value, text


# Not in the corpus; the rules catch some, the model must not lose any of them.
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("快快快，市北区辽宁路一个饭店着火了，里面还有人", InadmissibleCode.EMERGENCY),
        ("纪委能不能查查我们村的会计，账目不清", InadmissibleCode.LITIGATION),
        ("求你们帮我弄一张假的房产证明，急用", InadmissibleCode.UNLAWFUL),
        ("帮我查查我老公的手机号最近和谁通话了", InadmissibleCode.SECRET_PRIVACY),
        ("驻军营区的大喇叭每天早上六点放起床号", InadmissibleCode.MILITARY),
        ("你们就是一群废物", InadmissibleCode.HARASSMENT),
        ("我住在江苏省苏州市，小区物业不作为", InadmissibleCode.OUT_OF_JURISDICTION),
    ],
)
def test_every_inadmissible_category_is_flagged_with_a_reason(
    app: Flask, text: str, code: InadmissibleCode
) -> None:
    suggestion = classifier.get_suggester(app).suggest(text)
    assert not suggestion.admissible
    assert suggestion.inadmissible_code == code.value
    assert suggestion.reason


def test_district_is_passed_to_the_rules(app: Flask) -> None:
    suggestion = classifier.get_suggester(app).suggest("崂山区沙子口的路灯坏了", "shinan")
    assert suggestion.inadmissible_code == InadmissibleCode.OUT_OF_JURISDICTION.value


def test_to_dict_is_the_predict_json_shape(app: Flask) -> None:
    data = classifier.get_suggester(app).suggest("暖气不热").to_dict()
    assert set(data) >= {"departments", "nature", "admissible", "inadmissible_code", "reason", "terms"}
    assert set(data["departments"][0]) == {"type", "score"}
    assert data["departments"][0]["type"] in {d.value for d in DeptType}


def test_a_damaged_default_model_is_retrained(
    app: Flask, tmp_path: Path, tiny_corpus: list[Example], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config["CLASSIFIER"], "model_path", str(tmp_path / "m.joblib"))
    monkeypatch.setattr(lifecycle, "load_corpus", lambda: tiny_corpus)
    suggester = classifier.get_suggester(app)
    assert read_metadata(tmp_path / "m.joblib")["n_examples"] == len(tiny_corpus)
    (tmp_path / "m.joblib").write_bytes(b"damaged")
    retrained = classifier.get_suggester(app)
    assert retrained is not suggester
    assert retrained.suggest("暖气不热，室温太低").departments[0][0] == "heating"


def test_a_damaged_custom_model_is_not_replaced(
    app: Flask, tmp_path: Path, tiny_corpus: list[Example]
) -> None:
    path = tmp_path / "custom.joblib"
    train(tiny_corpus, source="file").save(path)
    path.write_bytes(b"damaged")
    app.config["CLASSIFIER"]["model_path"] = str(path)
    with pytest.raises(ModelError):
        classifier.get_suggester(app)
    assert path.read_bytes() == b"damaged"


def _petition(session, number: str, **values) -> Petition:  # type: ignore[no-untyped-def]
    make_district(session, "shinan")
    make_district(session, "laoshan")
    petition = Petition(
        number=number, district_code=values.pop("district_code", "shinan"), kind=PetitionKind.LIVELIHOOD,
        content=values.pop("content", "路灯坏了"), **values,
    )  # fmt: skip
    session.add(petition)
    session.flush()
    return petition


def _suggested(dept: str) -> dict:
    return {"departments": [{"type": dept, "score": 0.8}], "nature": "complaint"}


def test_acceptance_stats(db_session) -> None:  # type: ignore[no-untyped-def]
    _petition(db_session, "SN1", suggestion=_suggested("housing"), suggestion_accepted=True)
    _petition(db_session, "SN2", suggestion=_suggested("housing"), suggestion_accepted=False)
    _petition(db_session, "SN3", suggestion=_suggested("heating"), suggestion_accepted=True)
    _petition(db_session, "SN4", suggestion=_suggested("heating"))  # not decided yet
    _petition(
        db_session,
        "LS1",
        district_code="laoshan",
        suggestion=_suggested("heating"),
        suggestion_accepted=False,
    )
    stats = acceptance_stats(db_session)
    assert (stats["total"], stats["accepted"]) == (4, 2)
    assert stats["rate"] == pytest.approx(0.5)
    assert stats["by_department"]["housing"] == {"total": 2, "accepted": 1, "rate": 0.5}
    assert stats["by_department"]["heating"]["total"] == 2
    shinan = acceptance_stats(db_session, district_code="shinan")
    assert (shinan["total"], shinan["accepted"]) == (3, 2)
    future = acceptance_stats(db_session, since=utcnow() + dt.timedelta(days=1))
    assert future == {"total": 0, "accepted": 0, "rate": None, "by_department": {}}


def test_confirmed_examples_from_the_database(db_session) -> None:  # type: ignore[no-untyped-def]
    _petition(db_session, "SN1", content="小区暖气不热", dept_type=DeptType.HEATING, nature=Nature.COMPLAINT,
              suggestion_accepted=False)  # fmt: skip
    _petition(db_session, "SN2", content="还没研判", dept_type=DeptType.HOUSING)
    _petition(db_session, "SN3", content="楼下着火了", state=PetitionState.REJECTED,
              inadmissible_code=InadmissibleCode.EMERGENCY)  # fmt: skip
    examples = lifecycle.confirmed_examples(db_session)
    assert (
        Example(text="小区暖气不热", dept_type="heating", nature="complaint", kind="livelihood") in examples
    )
    assert Example(text="楼下着火了", inadmissible="emergency") in examples
    assert all(e.text != "还没研判" for e in examples)
