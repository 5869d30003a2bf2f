"""Each field's room left (残りの文字数, issue 12 item 5): core.length.rooms_at on text,
core.publish.field_rooms on a template with the example town's config."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dutypost.core.config_loader import load_settings
from dutypost.core.context import DutyContext
from dutypost.core.length import Room, rooms_at, split_thread, weighted_length
from dutypost.core.publish import compose, field_rooms

from tests.clock import Clock

JST = ZoneInfo("Asia/Tokyo")
REASON = "大雨で土砂災害の危険が高まったため"
FOUR_AREAS = "本郷地区、吉原地区、君原地区、舟島地区"
FOUR_SHELTERS = "本郷小学校、君原小学校、舟島小学校、中央公民館"


def test_one_post_has_the_room_the_post_has_left():
    text = "12時00分現在、本郷地区に避難所を開設しました。"
    assert rooms_at(text, {"area": text.index("に避難所")}) == {"area": Room(280 - weighted_length(text))}
    assert rooms_at(text, {"area": 5}, threads=True) == {"area": Room(280 - weighted_length(text), threads=True)}


def test_a_post_that_cannot_be_split_says_how_far_over_it_is():
    text = "あ" * 150
    assert rooms_at(text, {"body": 150}) == {"body": Room(-20)}


def test_in_a_thread_the_fields_of_a_part_share_its_room_up_to_the_last_fields_line():
    lead = "【警戒レベル4】避難指示 発令\n3時00分現在\n町は、本郷地区に避難指示を発令しました。"
    tail = "\n" + "危険な場所から全員避難してください。\n" * 6 + "避難所: 本郷小学校"
    text = lead + tail
    ends = {"time": text.index("現在"), "area": text.index("に避難指示を"), "shelter": len(text)}
    rooms = rooms_at(text, ends, threads=True)
    first, *rest = split_thread(text)
    assert first.startswith(lead) and rest
    # Up to the area's line (the lines after it may move on), plus the part's (1/n).
    expected = 280 - weighted_length(lead + f"\n(1/{len(rest) + 1})")
    assert rooms["time"] == rooms["area"] == Room(expected, 1, len(rest) + 1, threads=True)
    assert expected > 280 - weighted_length(first)
    assert rooms["shelter"].part == len(rest) + 1 == rooms["shelter"].parts


# -- field_rooms on the bundled templates -------------------------------------------------


@pytest.fixture
def ctx(config_file):
    settings = load_settings(config_file())
    context = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True,
                          clock=Clock(datetime(2026, 11, 24, 3, 0, tzinfo=JST)))
    yield context
    context.close()


def evac_l4_values(area: str = FOUR_AREAS, shelter: str = FOUR_SHELTERS) -> dict[str, str]:
    return {"time": "3時00分", "reason": REASON, "area": area, "shelter": shelter}


def test_four_areas_and_four_shelters_the_area_has_the_first_parts_room(ctx):
    template = ctx.templates.get("evac-l4")
    composition = compose(ctx, template, evac_l4_values())
    assert len(composition.parts) == 2
    rooms = field_rooms(ctx, template, evac_l4_values())
    assert {name: (room.part, room.parts) for name, room in rooms.items()} == {
        "time": (1, 2), "reason": (1, 2), "area": (1, 2), "shelter": (2, 2)}
    assert rooms["area"].left > 0


def test_the_area_may_grow_by_its_room_and_stay_in_the_first_part_and_not_by_more(ctx):
    """The number means what it says: grow the area by ``left`` and the first part still
    carries the whole order line; grow it past that and it does not."""
    template = ctx.templates.get("evac-l4")
    left = field_rooms(ctx, template, evac_l4_values())["area"].left

    def first_part_carries(area: str) -> bool:
        first = compose(ctx, template, evac_l4_values(area=area)).parts[0]
        return f"{area}に避難指示を発令しました。" in first

    fits = FOUR_AREAS + "、" + "実" * (left // 2 - 1)  # 「、」 and the rest: exactly ``left`` or one less
    assert weighted_length(fits) - weighted_length(FOUR_AREAS) in (left, left - 1)
    assert first_part_carries(fits)
    assert not first_part_carries(fits + "実地区")


def test_every_order_length_keeps_the_area_where_its_room_says(ctx):
    template = ctx.templates.get("evac-l4")
    areas = ctx.settings.lists.areas
    for n in range(1, len(areas) + 1):
        values = evac_l4_values(area="、".join(areas[:n]))
        room = field_rooms(ctx, template, values)["area"]
        parts = compose(ctx, template, values).parts
        assert room.parts == len(parts) and room.left >= 0, n
        assert (f"{values['area']}に避難指示を発令しました。" in parts[room.part - 1]), n


def test_an_empty_optional_field_is_measured_with_its_line(ctx):
    template = ctx.templates.get("evac-l4")
    rooms = field_rooms(ctx, template, evac_l4_values(area="本郷地区", shelter=""))
    assert rooms["shelter"].left == rooms["area"].left - weighted_length("\n避難所: ")


def test_a_choice_not_made_yet_is_measured_as_its_longest_choice(ctx):
    template = ctx.templates.get("quake-intensity")
    rooms = field_rooms(ctx, template, {"quake_time": "3時00分", "time": "3時05分", "intensity": ""})
    chosen = max(template.field("intensity").choices, key=weighted_length)
    text = compose(ctx, template, {"quake_time": "3時00分", "time": "3時05分", "intensity": chosen}).text
    assert rooms["intensity"] == Room(280 - weighted_length(text))


def test_a_10000_character_paste_is_measured_fast(ctx):
    template = ctx.templates.get("emergency-free-text")
    values = {"time": "3時00分", "subject": "大雨", "message": "大雨です。" * 2000}
    compose(ctx, template, values)  # the preview has split it already
    started = time.perf_counter()
    rooms = field_rooms(ctx, template, values)
    assert time.perf_counter() - started < 0.5
    assert rooms["subject"].part == 1 and rooms["message"].part == rooms["message"].parts > 30
