"""様式第1号 (update request form) from the ledger, field by field, in md, csv and html."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from clock import Clock

from dutypost.core import checklists
from dutypost.core.config import BUNDLED_TEMPLATES
from dutypost.core.config_loader import load_settings
from dutypost.core.errors import InputError
from dutypost.core.form import APPROVAL_COLUMNS, form_data, post_subject, render, town_domain
from dutypost.core.ledger import Ledger
from dutypost.core.templates import load_templates

SHELTER_TEXT = (
    "【避難所開設】\n12時00分現在、町は次の避難所を開設しています。\n中央公民館\n"
    "https://www.town.ami.lg.jp/bousai/hinanjo.html\n#阿見町 #避難所"
)






@pytest.fixture
def settings(config_file):
    return load_settings(config_file())


@pytest.fixture
def ledger(settings, clock):
    with Ledger(settings.ledger.path, now=clock) as opened:
        yield opened


def publish(ledger: Ledger, clock: Clock, *, text: str = SHELTER_TEXT, template_id: str | None = "shelter-open",
            x_id: str = "1001", **extra) -> int:
    post_id = ledger.create_post(operator="tanaka", department="防災危機管理課", template_id=template_id,
                                 text=text, parts=[text], drill=False, **extra)
    clock.advance(minutes=3)
    ledger.set_state(post_id, "sending")
    ledger.set_state(post_id, "sent", x_post_ids=[x_id], url=f"https://x.com/i/web/status/{x_id}")
    return post_id


def test_a_plain_post_fills_every_field(ledger, settings, clock):
    post_id = ledger.create_post(operator="tanaka", department="防災危機管理課", template_id="shelter-open",
                                 text=SHELTER_TEXT, parts=[SHELTER_TEXT], drill=False)
    ledger.record_approval(post_id, approver="suzuki", method="phone", recorded_by="tanaka")
    clock.advance(minutes=3)
    ledger.set_state(post_id, "sending")
    ledger.set_state(post_id, "sent", x_post_ids=["1001"], url="https://x.com/i/web/status/1001")

    form = form_data(ledger, settings, post_id)

    assert form.post_id == post_id
    assert form.account == "阿見町公式 @TownAmi"
    assert form.drafted_on == date(2026, 9, 1)
    assert form.drafter == "田中 一郎 (防災危機管理課)"
    assert form.approvals == {"課長": "鈴木 花子 (防災危機管理課長) 電話", "課長補佐": "", "係長": "", "担当": "田中 一郎"}
    assert form.approved_on == date(2026, 9, 1)
    assert form.post_hoc is False
    assert form.scheduled_at == datetime(2026, 9, 1, 12, 3, tzinfo=timezone(timedelta(hours=9)))
    assert form.update_kind == "新規"
    assert form.subject == "避難所 開設"
    assert form.content == SHELTER_TEXT
    assert form.mail_linked is False
    assert form.hp_linked is True
    assert form.url == "https://x.com/i/web/status/1001"
    assert form.other_data == ()
    assert form.remarks == ()
    rows = dict(form.rows())
    assert rows["起案日"] == "2026年9月1日"
    assert rows["更新予定日時"] == "2026年9月1日 12時03分"
    assert rows["決裁日"] == "2026年9月1日"
    assert rows["あみメールとの連携"] == "無" and rows["町HPへのリンク"] == "有" and rows["その他公開データ"] == "無"
    assert form_data(ledger, settings, post_id, mail_linked=True).mail_linked is True


def test_links_only_to_other_sites_are_not_an_hp_link(ledger, settings, clock):
    first = "【気象警報】12時00分現在、阿見町に大雨警報と洪水警報が出ています。今後の情報に注意してください。"
    text = first + "\nhttps://www.jma.go.jp/bosai/warning/"
    post_id = publish(ledger, clock, text=text, template_id=None)
    form = form_data(ledger, settings, post_id)
    assert form.hp_linked is False
    assert form.approvals["課長"] == "" and form.approved_on is None
    assert form.subject == first[:29] + "…" and len(form.subject) == 30


def test_the_town_domain_comes_from_the_inquiry_url_or_the_first_allowed_domain(settings):
    assert town_domain(settings) == "town.ami.lg.jp"
    bare = replace(settings, account=replace(settings.account, inquiry_url=""))
    assert town_domain(bare) == "town.ami.lg.jp"  # allow_domains[0] of the example config


def test_an_overridden_post_with_post_hoc_approval(ledger, settings, clock):
    clock.at = datetime(2026, 9, 1, 18, 20, tzinfo=timezone.utc)  # 03:20 JST on 9/2, out of hours
    post_id = ledger.create_post(operator="tanaka", department="防災危機管理課", template_id="evac-l4",
                                 text="【警戒レベル4 避難指示】3時20分現在…", parts=["【警戒レベル4 避難指示】3時20分現在…"],
                                 drill=False)
    ledger.record_override(post_id, operator="tanaka", category="生命・身体・財産の保護に必要な緊急情報",
                           reason="河川の水位が急上昇し、課長に連絡がつかないため", lifted=["hours", "approval"])
    ledger.set_state(post_id, "sending")
    ledger.set_state(post_id, "sent", x_post_ids=["2002"], url="https://x.com/i/web/status/2002")

    pending = form_data(ledger, settings, post_id)
    assert pending.approvals["課長"] == "事後承認待ち"
    assert pending.approved_on is None

    clock.at = datetime(2026, 9, 2, 0, 40, tzinfo=timezone.utc)  # 09:40 JST
    ledger.sign_off(post_id, approver="suzuki", note="確認しました")
    form = form_data(ledger, settings, post_id)
    assert form.drafted_on == date(2026, 9, 2)
    assert form.approvals == {"課長": "鈴木 花子 (防災危機管理課長) 事後承認", "課長補佐": "", "係長": "", "担当": "田中 一郎"}
    assert form.post_hoc is True
    assert form.approved_on == date(2026, 9, 2)
    assert form.scheduled_at.strftime("%H:%M") == "03:20"
    assert form.update_kind == "新規"
    assert form.subject == "警戒レベル4 避難指示 発令"
    assert form.hp_linked is False
    assert form.remarks == (
        "事後承認: 鈴木 花子 (防災危機管理課長) 2026年9月2日 9時40分",
        "緊急オーバーライド: 生命・身体・財産の保護に必要な緊急情報 / 理由: 河川の水位が急上昇し、課長に連絡がつかないため"
        " / 外した確認: 運用時間・承認 / 田中 一郎 2026年9月2日 3時20分",
    )


def test_a_correction_is_a_change_naming_its_original(ledger, settings, clock):
    original = publish(ledger, clock)
    clock.advance(minutes=30)
    correction = publish(ledger, clock, text="【訂正】\n9月1日 12時03分に投稿した「避難所 開設」に誤りがありました。",
                         template_id="correction", x_id="1002", kind="correction", reply_to_post_id=original)
    form = form_data(ledger, settings, correction)
    assert form.update_kind == "変更"
    assert form.subject == "訂正"
    assert form.remarks == ("訂正の元の投稿: #1 2026年9月1日 12時03分「避難所 開設」",)
    assert form_data(ledger, settings, original).update_kind == "新規"


def test_a_standalone_correction_linked_by_its_checklist_is_a_change(ledger, settings, clock):
    original = publish(ledger, clock)
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=original)
    correction = publish(ledger, clock, text="【訂正】単独の投稿", template_id=None, x_id="1003")
    assert form_data(ledger, settings, correction).update_kind == "新規"
    checklists.link_correction(ledger, checklist_id, correction_post_id=correction, operator="tanaka")
    form = form_data(ledger, settings, correction)
    assert form.update_kind == "変更"
    assert form.remarks[0].startswith(f"訂正の元の投稿: #{original} ")


def test_a_deleted_post_is_a_deletion_with_its_reason(ledger, settings, clock, x_client):
    created = x_client.create_post("消す投稿")
    original = publish(ledger, clock, text="消す投稿", template_id=None, x_id=created.id)
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=original)
    checklists.request_deletion(ledger, checklist_id, operator="tanaka", reason="個人情報を載せたため")
    checklists.confirm_deletion(ledger, checklist_id, operator="suzuki")
    checklists.delete_original(ledger, x_client, checklist_id, operator="suzuki")
    form = form_data(ledger, settings, original)
    assert form.update_kind == "削除"
    assert "X から削除しました。 理由: 個人情報を載せたため" in form.remarks


def test_a_drill_post_names_the_drill_account(ledger, settings, clock):
    post_id = ledger.create_post(operator="tanaka", department="防災危機管理課", template_id=None,
                                 text="【訓練】【お知らせ】\n訓練です。", parts=["【訓練】【お知らせ】\n訓練です。"], drill=True)
    form = form_data(ledger, settings, post_id)
    assert form.account == "阿見町公式 @TownAmi_drill"
    assert form.remarks == ("訓練の投稿です。",)
    assert form.subject == "お知らせ"
    assert form.url == ""


def test_an_unknown_post_is_an_input_error(ledger, settings):
    with pytest.raises(InputError, match="投稿 #77 は記録にありません"):
        form_data(ledger, settings, 77)


def test_post_subject_uses_the_template_title(ledger, clock):
    templates = load_templates([BUNDLED_TEMPLATES])
    post = ledger.get_post(publish(ledger, clock))
    assert post_subject(post, templates) == "避難所 開設"


# -- rendering ----------------------------------------------------------------------


@pytest.fixture
def hostile_form(ledger, settings, clock):
    text = "<script>alert('x')</script> & 本文 | 縦棒\n二行目"
    return form_data(ledger, settings, publish(ledger, clock, text=text, template_id=None))


def test_html_prints_on_a4_and_escapes_the_text(hostile_form):
    page = render(hostile_form, "html")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; 本文" in page
    assert "@page { size: A4; margin: 15mm; }" in page
    assert "<html lang=\"ja\">" in page and "<meta charset=\"utf-8\">" in page
    assert "src=" not in page and "<link" not in page and "@import" not in page
    assert "Noto Sans CJK JP" in page
    for column in APPROVAL_COLUMNS:
        assert f"<th>{column}</th>" in page
    assert '<span class="choice chosen">新規</span>' in page
    assert '<span class="choice">変更</span>' in page


def test_markdown_keeps_the_table_intact(hostile_form):
    text = render(hostile_form, "md")
    assert "<script>" not in text
    content = next(line for line in text.splitlines() if line.startswith("| 更新内容 |"))
    assert content == "| 更新内容 | &lt;script&gt;alert('x')&lt;/script&gt; & 本文 \\| 縦棒<br>二行目 |"
    assert len([line for line in text.splitlines() if line.startswith("| ")]) == len(hostile_form.rows()) + 2


def test_csv_has_a_bom_and_every_field(hostile_form):
    text = render(hostile_form, "csv")
    assert text.startswith("\ufeff項目,内容\r\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert rows[0] == ["項目", "内容"]
    assert [tuple(r) for r in rows[1:]] == hostile_form.rows()
    labels = [r[0] for r in rows[1:]]
    for label in ("起案日", "起案者", "決裁欄 課長", "決裁欄 課長補佐", "決裁欄 係長", "決裁欄 担当", "決裁日",
                  "更新予定日時", "更新区分", "公開する件名", "更新内容", "あみメールとの連携", "町HPへのリンク",
                  "URL", "その他公開データ"):
        assert label in labels
    assert dict(rows[1:])["更新内容"] == hostile_form.content


def test_an_unknown_format_is_an_input_error(hostile_form):
    with pytest.raises(InputError, match="md、html、csv"):
        render(hostile_form, "pdf")
