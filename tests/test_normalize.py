from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civictext.normalize import controls_to_space, fullwidth_to_halfwidth, lowercase_latin, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("３号楼ＡＢ栋", "3号楼ab栋"),
        ("电话：１３８－１２３４－５６７８", "电话:138-1234-5678"),
        ("停水\u3000两天", "停水 两天"),
        ("a\x00b\x1bc", "a b c"),
        ("第一行\n第二行\t", "第一行\n第二行\t"),
        ("零宽\u200b空格", "零宽 空格"),
        ("ABC水务", "abc水务"),
    ],
)
def test_normalize_table(text: str, expected: str) -> None:
    assert normalize(text) == expected


@given(st.text())
def test_every_step_preserves_length(text: str) -> None:
    for step in (fullwidth_to_halfwidth, controls_to_space, lowercase_latin, normalize):
        assert len(step(text)) == len(text)


def test_steps_are_idempotent() -> None:
    text = "Ｗａｔｅｒ停水\x07！"
    assert normalize(normalize(text)) == normalize(text)
