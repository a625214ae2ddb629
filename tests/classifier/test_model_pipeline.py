"""The pipeline learns on a tiny corpus; the fast heads reproduce scikit-learn's probabilities; models round-trip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifier.corpus import Example, load_corpus
from classifier.errors import DataError, ModelError
from classifier.model import FORMAT, LinearHead, head_labels, load, read_metadata, train
from classifier.pipeline import build_features, build_head, build_pipeline, calibration_folds
from classifier.suggest import Suggester
from classifier.text import tokenize

UNSEEN = {
    "housing": "业主反映物业公司乱收费，小区电梯坏了也不修",
    "heating": "家里暖气一点都不热，室温才十二度",
    "hrss": "工厂老板拖欠我们两个月工资还不给交社保",
}


def test_tokenizer_uses_the_user_dictionary_and_drops_stop_words() -> None:
    tokens = tokenize("我们在市南区香港中路，物业费太贵了！！")
    assert "市南区" in tokens
    assert "香港中路" in tokens
    assert "物业费" in tokens
    assert not {"我们", "在", "了", "，", "！"} & set(tokens)


def test_jieba_is_silent_at_import_and_first_use(tmp_path: Path) -> None:
    code = "import classifier.text as t; t.tokenize('青岛市市南区物业')"
    env = {"QINGSU_JIEBA_CACHE_DIR": str(tmp_path), "PATH": ""}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert (tmp_path / "qingsu-jieba.cache").exists()


def test_pipeline_learns_and_predicts_on_a_tiny_corpus(tiny_corpus: list[Example]) -> None:
    rows = [e for e in tiny_corpus if e.dept_type]
    labels = [e.dept_type or "" for e in rows]
    pipeline = build_pipeline(labels).fit([e.text for e in rows], labels)
    assert list(pipeline.predict(list(UNSEEN.values()))) == list(UNSEEN)
    probabilities = pipeline.predict_proba(list(UNSEEN.values()))
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_calibration_folds_follow_the_rarest_class() -> None:
    assert calibration_folds(["a"] * 10 + ["b"] * 10) == 3
    assert calibration_folds(["a"] * 10 + ["b"] * 2) == 2
    with pytest.raises(DataError, match="only 1 example"):
        calibration_folds(["a"] * 10 + ["b"])
    with pytest.raises(DataError, match="two classes"):
        calibration_folds(["a"] * 10)


@pytest.mark.parametrize("classes", [["housing", "heating", "hrss"], ["housing", "heating"]])
def test_linear_head_matches_scikit_learn(tiny_corpus: list[Example], classes: list[str]) -> None:
    rows = [e for e in tiny_corpus if e.dept_type in classes]
    labels = [e.dept_type or "" for e in rows]
    features = build_features()
    matrix = features.fit_transform([e.text for e in rows])
    calibrated = build_head(calibration_folds(labels)).fit(matrix, labels)
    fast = LinearHead.from_calibrated(calibrated)
    probe = features.transform([*UNSEEN.values(), "完全无关的一句话", "物业 暖气 工资"]).tocsr()
    expected = calibrated.predict_proba(probe)
    got = np.vstack([fast.probabilities(probe[i]) for i in range(probe.shape[0])])
    assert list(fast.classes) == list(calibrated.classes_)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_heads_learn_from_the_rows_that_carry_their_label(tiny_corpus: list[Example]) -> None:
    labelled = head_labels(tiny_corpus)
    assert len(labelled["department"][1]) == 24
    assert set(labelled["admissibility"][1]) == {"admissible", "emergency", "litigation"}
    assert set(labelled["development"][1]) == {"True", "False"}


def test_train_save_load_round_trip(tiny_corpus: list[Example], tmp_path: Path) -> None:
    model = train(tiny_corpus, source="test")
    path = tmp_path / "m.joblib"
    size = model.save(path)
    assert size == path.stat().st_size < 20_000_000
    again = load(path)
    meta = read_metadata(path)
    assert meta["source"] == "test" and meta["format"] == FORMAT
    assert (
        meta["data_hash"]
        == again.metadata["data_hash"]
        == train(list(reversed(tiny_corpus))).metadata["data_hash"]
    )
    assert set(meta["metrics"]) == {"department", "nature", "development", "admissibility"}
    assert meta["versions"]["scikit-learn"]
    # The fast feature path gives the FeatureUnion's columns.
    text = UNSEEN["heating"]
    assert (again.transform(text) != again.features.transform([text])).nnz == 0
    suggester = Suggester(again)
    assert suggester.suggest(text).departments[0][0] == "heating"
    # The suggester's own TF-IDF path gives the same row as scikit-learn's, including for unknown-only text.
    for probe in [*UNSEEN.values(), *(e.text for e in tiny_corpus), "！！！", "ABC 物业 Ｗｉｆｉ"]:
        np.testing.assert_allclose(
            suggester.features(probe).toarray(), again.transform(probe).toarray(), rtol=1e-5, atol=1e-6
        )


def test_a_damaged_or_foreign_file_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.joblib"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot read"):
        load(garbage)
    import joblib

    foreign = tmp_path / "foreign.joblib"
    joblib.dump({"format": FORMAT + 1, "model": None}, foreign)
    with pytest.raises(ModelError, match="format"):
        load(foreign)


def test_the_shipped_corpus_is_valid_and_covers_every_label() -> None:
    from models.enums import DeptType, InadmissibleCode

    corpus = load_corpus()
    labelled = head_labels(corpus)
    departments = set(labelled["department"][1])
    assert departments == {d.value for d in DeptType}
    assert set(labelled["admissibility"][1]) == {c.value for c in InadmissibleCode} | {"admissible"}
    assert set(labelled["nature"][1]) == {"consult", "suggest", "complaint"}


def test_a_corpus_file_with_an_unknown_label_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "corpus_bad.csv"
    bad.write_text(
        "text,dept_type,nature,kind,inadmissible\n路灯坏了,lamps,complaint,livelihood,\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"corpus_bad\.csv:2: unknown dept_type 'lamps'"):
        load_corpus([bad])
