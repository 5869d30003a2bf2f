"""Whether a post on X's timeline is ours (core/timeline.py), on realistic pairs: X's
answers written out as X sends them, and as the practice server's X-like mode renders them."""

from __future__ import annotations

import pytest

from dutypost.core.timeline import same_post
from dutypost.practice.xlike import x_view

OURS = "【訓練】A&B地区 <土砂災害> 避難所は https://www.city.example.jp/bousai/hinan.html?a=1&b=2 をご覧ください。"
X_TEXT = ("【訓練】A&amp;B地区 &lt;土砂災害&gt; 避難所は https://t.co/Ab12Cd34Ef をご覧ください。")
X_ENTITIES = {"urls": [{"start": 29, "end": 52, "url": "https://t.co/Ab12Cd34Ef",
                        "expanded_url": "https://www.city.example.jp/bousai/hinan.html?a=1&b=2",
                        "display_url": "city.example.jp/bousai/hinan…"}]}
MEDIA = {"start": 80, "end": 103, "url": "https://t.co/Zz99Yy88Xx",
         "expanded_url": "https://x.com/town/status/1/photo/1", "display_url": "pic.x.com/Zz99Yy88Xx",
         "media_key": "3_1"}

CASES = [
    # (ours, X's item, with_media, same?)
    ("entities and a URL as X returns them", OURS, {"text": X_TEXT, "entities": X_ENTITIES}, False, True),
    ("the same, without entities in the answer", OURS, {"text": X_TEXT}, False, True),
    ("a media link appended and marked as media", OURS,
     {"text": X_TEXT + " https://t.co/Zz99Yy88Xx", "entities": {"urls": [*X_ENTITIES["urls"], MEDIA]}}, False, True),
    ("a media link appended, our post had images", OURS, {"text": X_TEXT + " https://t.co/Zz99Yy88Xx"}, True, True),
    ("one t.co link more than our URLs, not media", OURS, {"text": X_TEXT + " https://t.co/Zz99Yy88Xx"}, False, False),
    ("the URL missing on X's side", OURS, {"text": X_TEXT.replace(" https://t.co/Ab12Cd34Ef", "")}, False, False),
    ("another post with the same URL", "【訓練】B地区の避難所は https://www.city.example.jp/ です。",
     {"text": "【訓練】A地区の避難所は https://t.co/Ab12Cd34Ef です。"}, False, False),
    ("the drill marker missing", "【訓練】中央公民館を開設しました。", {"text": "中央公民館を開設しました。"}, False, False),
    ("an entity written literally in our text", "「&amp;」と表示されても正しい情報です。",
     {"text": "「&amp;amp;」と表示されても正しい情報です。"}, False, True),
    ("our text unescaped is not X's unescaped twice", "「&amp;」と表示されても正しい情報です。",
     {"text": "「&amp;」と表示されても正しい情報です。"}, False, False),
    ("line breaks and a trailing newline", "【訓練】避難指示\n対象: 本郷地区\n",
     {"text": "【訓練】避難指示\n対象: 本郷地区"}, False, True),
    ("a long post: the full text in note_tweet", "【訓練】" + "避難所を開設しました。" * 20,
     {"text": "【訓練】" + "避難所を開設しました。" * 12 + "…",
      "note_tweet": {"text": "【訓練】" + "避難所を開設しました。" * 20}}, False, True),
    ("a long post cut with … and no note_tweet", "【訓練】" + "避難所を開設しました。" * 20,
     {"text": "【訓練】" + "避難所を開設しました。" * 12 + "…"}, False, False),
    ("two URLs, two t.co links", "詳細 https://a.example.jp/x と https://b.example.jp/y を。",
     {"text": "詳細 https://t.co/AAAAAAAAAA と https://t.co/BBBBBBBBBB を。"}, False, True),
]


@pytest.mark.parametrize(("ours", "item", "with_media", "same"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_same_post_on_realistic_pairs(ours, item, with_media, same):
    assert same_post(ours, item, with_media=with_media) is same


@pytest.mark.parametrize("text", [
    OURS,
    "【訓練】詳しくは city.example.jp/bousai か https://x.example.com/a?b=<c> を。",
    "【訓練】3 > 2 & 1 < 2 の順に避難してください。",
    "【訓練】" + "避難所 & 給水所を開設しました。https://www.city.example.jp/ " * 12,
])
@pytest.mark.parametrize("media", [[], ["3_1"]])
def test_same_post_as_the_practice_server_renders_it_the_way_x_does(text, media):
    shown = x_view("1234567890", text, media, username="town", note_tweet=True)
    assert same_post(text, shown)
    assert not same_post(text + "追記", shown)
