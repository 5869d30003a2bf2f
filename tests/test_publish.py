"""The publish path itself (core/publish.py) for corrections: reply, fallback, resend."""

from __future__ import annotations

import pytest

from clock import Clock
from dutypost.core.checklists import standalone_fallback_text
from dutypost.core.config_loader import load_settings
from dutypost.core.context import DutyContext
from dutypost.core.errors import InputError, OutcomeUnknown, PublishFailed
from dutypost.core.publish import compose_text, make_override, publish, reconcile, resend


@pytest.fixture
def ctx(config_file, practice_server):
    path = config_file(replace={"drill": f'api_base_url = "{practice_server.url}"'})
    settings = load_settings(path)
    context = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True, clock=Clock())
    yield context
    context.close()


def _post(ctx, text, **kwargs):
    composition = compose_text(ctx, text, template_id=None, emergency=False, threads_allowed=False)
    override = make_override(ctx, "誤った投稿への対応", "避難所の名前を誤って投稿したため")
    return publish(ctx, composition, override=override, acks=["cost"], **kwargs)


def test_a_correction_replies_to_the_original(ctx, practice_server):
    original = _post(ctx, "中央公民館を開設しました。")
    correction = _post(ctx, "訂正: 開設したのは本郷小学校です。", kind="correction", reply_to_post_id=original.post_id,
                       fallback_text="別の文")
    stored = {p["id"]: p for p in practice_server.posts()}
    assert stored[correction.x_post_ids[0]]["reply_to"] == original.x_post_ids[0]
    assert not correction.reply_fallback


def test_a_correction_of_an_unsent_post_is_refused_before_anything_is_recorded(ctx):
    with pytest.raises(InputError):
        _post(ctx, "訂正です。", kind="correction", reply_to_post_id=999)
    assert ctx.ledger.list_posts() == []


def test_a_resent_correction_still_falls_back_when_x_refuses_the_reply(ctx, practice_server):
    original = _post(ctx, "中央公民館を開設しました。")
    practice_server.inject({"kind": "status", "status": 503})
    text = "【訓練】訂正: 開設したのは本郷小学校です。"
    with pytest.raises(PublishFailed) as failed:
        _post(ctx, text, kind="correction", reply_to_post_id=original.post_id,
              fallback_text=standalone_fallback_text(ctx.ledger, original.post_id, text))
    practice_server.set_refuse_replies(True)
    result = resend(ctx, failed.value.post_id)
    assert result.reply_fallback
    sent = practice_server.posts()[0]
    assert sent["reply_to"] is None
    assert sent["text"] == standalone_fallback_text(ctx.ledger, original.post_id, text)
    assert len(practice_server.posts()) == 2


def test_a_refused_reply_records_the_text_that_went_out(ctx, practice_server):
    original = _post(ctx, "中央公民館を開設しました。")
    text = "【訓練】訂正: 開設したのは本郷小学校です。"
    fallback = standalone_fallback_text(ctx.ledger, original.post_id, text)
    practice_server.set_refuse_replies(True)
    result = _post(ctx, text, kind="correction", reply_to_post_id=original.post_id, fallback_text=fallback)
    post = ctx.ledger.get_post(result.post_id)
    assert (post.text, list(post.parts), post.state) == (fallback, [fallback], "sent")
    [refused] = [e for e in ctx.ledger.events(result.post_id) if e.kind == "post.reply_refused"]
    assert refused.payload == {"reply_text": text, "fallback_text": fallback}
    assert ctx.ledger.verify().ok


def test_an_unknown_outcome_of_the_standalone_text_is_found_on_the_timeline_not_sent_twice(ctx, practice_server):
    original = _post(ctx, "中央公民館を開設しました。")
    text = "【訓練】訂正: 開設したのは本郷小学校です。"
    fallback = standalone_fallback_text(ctx.ledger, original.post_id, text)
    practice_server.set_refuse_replies(True)
    # the reply is refused; the standalone post is stored, and its answer never arrives
    practice_server.inject({"kind": "slow", "delay": 0})
    practice_server.inject({"kind": "drop_after_store"})
    with pytest.raises(OutcomeUnknown) as unknown:
        _post(ctx, text, kind="correction", reply_to_post_id=original.post_id, fallback_text=fallback)
    found = reconcile(ctx, unknown.value.post_id)
    assert found.found and ctx.ledger.get_post(unknown.value.post_id).state == "sent"
    assert [p["text"] for p in practice_server.posts()].count(fallback) == 1


def test_a_drill_post_links_to_the_practice_server_not_to_x(ctx, practice_server):
    result = _post(ctx, "中央公民館を開設しました。")
    assert result.url == f"{practice_server.url}/i/web/status/{result.x_post_ids[0]}"
    import httpx

    page = httpx.get(result.url)
    assert page.status_code == 200 and "中央公民館" in page.text


# -- a checklist item's post: publish takes its purpose (DraftPurpose) -----------------------


def _correction_checklist(ctx, original_post_id):
    from dutypost.core import checklists

    return checklists.start(ctx.ledger, kind="correction", operator="tanaka", post_id=original_post_id)


def test_a_correction_with_its_purpose_replies_and_is_recorded_on_its_checklist(ctx, practice_server):
    from dutypost.core import checklists
    from dutypost.core.ledger import DraftPurpose

    original = _post(ctx, "中央公民館を開設しました。")
    checklist_id = _correction_checklist(ctx, original.post_id)
    purpose = DraftPurpose(checklist_id=checklist_id, item_key="correction_post", kind="correction",
                           reply_to_post_id=original.post_id)
    result = _post(ctx, "【訓練】訂正: 開設したのは本郷小学校です。", purpose=purpose)
    post = ctx.ledger.get_post(result.post_id)
    assert (post.kind, post.reply_to_post_id) == ("correction", original.post_id)
    stored = {p["id"]: p for p in practice_server.posts()}
    assert stored[result.x_post_ids[0]]["reply_to"] == original.x_post_ids[0]
    assert not result.reply_fallback
    assert checklists.get(ctx.ledger, checklist_id).item("correction_post").value == {"post_id": result.post_id}
    linked = [e for e in ctx.ledger.events(original.post_id) if e.kind == "post.correction_linked"]
    assert linked[0].payload["correction_post_id"] == result.post_id
    assert result.checklist_note == f"チェックリスト #{checklist_id} に投稿 #{result.post_id} を記録しました。"


def test_a_correction_with_its_purpose_falls_back_to_the_standalone_text_itself(ctx, practice_server):
    from dutypost.core import checklists
    from dutypost.core.ledger import DraftPurpose

    original = _post(ctx, "中央公民館を開設しました。")
    checklist_id = _correction_checklist(ctx, original.post_id)
    purpose = DraftPurpose(checklist_id=checklist_id, item_key="correction_post", kind="correction",
                           reply_to_post_id=original.post_id)
    text = "【訓練】訂正: 開設したのは本郷小学校です。"
    fallback = standalone_fallback_text(ctx.ledger, original.post_id, text)
    practice_server.set_refuse_replies(True)
    result = _post(ctx, text, purpose=purpose)
    assert result.reply_fallback
    sent = practice_server.posts()[0]
    assert sent["reply_to"] is None and sent["text"] == fallback
    assert ctx.ledger.get_post(result.post_id).reply_to_post_id == original.post_id  # the link is kept
    assert checklists.get(ctx.ledger, checklist_id).item("correction_post").value == {"post_id": result.post_id}


def test_a_failed_checklist_post_is_still_recorded_on_its_item_and_resent_by_the_same_rules(ctx, practice_server):
    from dutypost.core import checklists
    from dutypost.core.ledger import DraftPurpose

    original = _post(ctx, "中央公民館を開設しました。")
    checklist_id = _correction_checklist(ctx, original.post_id)
    purpose = DraftPurpose(checklist_id=checklist_id, item_key="correction_post", kind="correction",
                           reply_to_post_id=original.post_id)
    text = "【訓練】訂正: 開設したのは本郷小学校です。"
    practice_server.inject({"kind": "status", "status": 503})
    with pytest.raises(PublishFailed) as failed:
        _post(ctx, text, purpose=purpose)
    post_id = failed.value.post_id
    assert failed.value.checklist_note == f"チェックリスト #{checklist_id} に投稿 #{post_id} を記録しました。"
    assert checklists.get(ctx.ledger, checklist_id).item("correction_post").value == {"post_id": post_id}
    practice_server.set_refuse_replies(True)
    result = resend(ctx, post_id)  # `dutypost outbox resend`: the reply is tried, then the standalone text
    assert result.reply_fallback
    assert practice_server.posts()[0]["text"] == standalone_fallback_text(ctx.ledger, original.post_id, text)
    assert ctx.ledger.get_post(post_id).state == "sent"


def test_an_incident_notice_with_its_purpose_is_standalone_and_recorded_on_its_item(ctx, practice_server):
    from dutypost.core import checklists
    from dutypost.core.ledger import DraftPurpose

    checklist_id = checklists.start(ctx.ledger, kind="flaming", operator="tanaka", post_id=None)
    purpose = DraftPurpose(checklist_id=checklist_id, item_key="responding_post", kind="post", reply_to_post_id=None)
    result = _post(ctx, "【訓練】避難所の運営について、防災危機管理課で対応しています。", purpose=purpose)
    assert practice_server.posts()[0]["reply_to"] is None
    assert ctx.ledger.get_post(result.post_id).kind == "post"
    assert checklists.get(ctx.ledger, checklist_id).item("responding_post").value == {"post_id": result.post_id}


def test_a_purpose_whose_checklist_cannot_record_it_says_so_and_the_post_still_goes_out(ctx, practice_server):
    from dutypost.core import checklists
    from dutypost.core.ledger import DraftPurpose

    checklist_id = checklists.start(ctx.ledger, kind="flaming", operator="tanaka", post_id=None)
    purpose = DraftPurpose(checklist_id=checklist_id, item_key="no_such_item", kind="post", reply_to_post_id=None)
    result = _post(ctx, "【訓練】避難所の運営について、防災危機管理課で対応しています。", purpose=purpose)
    assert ctx.ledger.get_post(result.post_id).state == "sent"
    assert result.checklist_note.startswith("チェックリストに記録できませんでした: ")
