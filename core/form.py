"""The update request form (様式第1号 ツイッター情報更新伺, 阿見町ポリシー 第7条(2)(4), SPEC R3).

After a post goes out, the posting department submits 様式第1号 to the account manager
(運用管理者). :func:`form_data` fills every field of the paper form from the ledger
(記録); :func:`render` writes it as Markdown, as CSV for Excel, or as HTML that prints on
one A4 sheet.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from dutypost.core.errors import InputError
from dutypost.core.ledger.checklists import EVENT_CORRECTION_LINKED, EVENT_DELETION_REQUESTED
from dutypost.core.media import PostImage
from dutypost.core.templates import post_subject

if TYPE_CHECKING:
    from dutypost.core.config import Settings
    from dutypost.core.ledger import Ledger
    from dutypost.core.templates import TemplateSet

JST = ZoneInfo("Asia/Tokyo")
FORM_NAME = "様式第1号 (第7条関係)"
APPROVAL_COLUMNS = ("課長", "課長補佐", "係長", "担当")
"""決裁欄. The approver of 別表第1 (配信承認者) is 課長-level; the poster is 担当."""
UPDATE_KINDS = ("新規", "変更", "削除")
OTHER_DATA_KINDS = ("動画", "画像", "その他")
METHOD_JA = {"phone": "電話", "in-person": "対面", "in-app": "アプリ内"}

Format = Literal["md", "html", "csv"]


@dataclass(frozen=True)
class UpdateRequestForm:
    """様式第1号 (更新伺) for one post, every field as the paper form has it.

    ``approvals`` maps each 決裁欄 column to what goes in it ("" when empty);
    ``other_data`` lists the kinds of その他公開データ (empty: 無).
    """

    post_id: int
    account: str
    drafted_on: date  # 起案日
    drafter: str  # 起案者
    approvals: dict[str, str]  # 決裁欄
    approved_on: date | None  # 決裁日
    post_hoc: bool  # 事後承認
    scheduled_at: datetime  # 更新予定日時
    update_kind: str  # 更新区分
    subject: str  # 公開する件名
    content: str  # 更新内容
    mail_linked: bool  # あみメールとの連携
    hp_linked: bool  # 町HPへのリンク
    url: str
    other_data: tuple[str, ...]  # その他公開データ
    remarks: tuple[str, ...]  # 備考
    department: str = ""  # 情報配信部署 (別表第1): the issuing department, whose approver approves
    #: The audit chain's head (監査記録の末尾) when the form was made, ``ID:HASH``: an anchor the
    #: paper form carries, for ``dutypost audit verify --anchor`` (issue 17 item 3).
    audit_head: str = ""
    images: tuple[str, ...] = ()  # その他公開データ (画像): each file name and its alt text

    def rows(self) -> list[tuple[str, str]]:
        """The fields as (label, value) rows, in the paper form's order."""
        return [
            ("アカウント", self.account),
            ("起案日", _date_ja(self.drafted_on)),
            ("起案者", self.drafter),
            ("情報配信部署", self.department),
            *((f"決裁欄 {column}", self.approvals[column]) for column in APPROVAL_COLUMNS),
            ("決裁日", _date_ja(self.approved_on) if self.approved_on else ""),
            ("更新予定日時", _datetime_ja(self.scheduled_at)),
            ("更新区分", self.update_kind),
            ("公開する件名", self.subject),
            ("更新内容", self.content),
            ("あみメールとの連携", _yes_no(self.mail_linked)),
            ("町HPへのリンク", _yes_no(self.hp_linked)),
            ("URL", self.url),
            ("その他公開データ", _yes_no(bool(self.other_data))),
            ("その他公開データの種類", "・".join(self.other_data)),
            *((("その他公開データ (画像)", "\n".join(self.images)),) if self.images else ()),
            ("備考", "\n".join(self.remarks)),
            ("投稿番号", f"#{self.post_id}"),
            ("監査記録の末尾 (控え)", self.audit_head),
        ]


def form_data(ledger: Ledger, settings: Settings, post_id: int, *, mail_linked: bool = False,
              templates: TemplateSet | None = None) -> UpdateRequestForm:
    """様式第1号 for ``post_id`` from the ledger. The ledger does not know whether the post
    also went out by あみメール (第7条(3)): the caller says so with ``mail_linked``."""
    post = ledger.get_post(post_id)
    if post is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost history で番号を確かめてください。")
    if templates is None:
        from dutypost.core.templates import bundled_dirs, load_templates

        templates = load_templates(bundled_dirs(settings))
    events = ledger.events(post_id)
    remarks: list[str] = []
    if post.drill:
        remarks.append("訓練の投稿です。")

    approvals = dict.fromkeys(APPROVAL_COLUMNS, "")
    approvals["担当"] = _person(settings, post.operator)
    approval = post.approval
    if approval is not None:
        approver = settings.operator(approval["approver"])
        department = settings.department(approver.department) if approver else None
        title = department.approver_title if department else "承認者"
        mark = "事後承認" if approval["post_hoc"] else METHOD_JA.get(approval["method"], approval["method"])
        name = approver.name if approver else approval["approver"]
        approvals["課長"] = f"{name} ({title}) {mark}"
        if approval["post_hoc"]:
            remarks.append(f"事後承認: {name} ({title}) {_datetime_ja(approval['at'])}")
    elif post.override and "approval" in post.override["lifted"]:
        approvals["課長"] = "事後承認待ち"

    if post.override:
        lifted = "・".join({"hours": "運用時間", "approval": "承認"}.get(c, c) for c in post.override["lifted"])
        session = post.override.get("session_id")
        remarks.append(
            f"緊急オーバーライド{f' (時間枠 #{session})' if session else ''}: {post.override['category']} / 理由: {post.override['reason']}"
            f" / 外した確認: {lifted or 'なし'} / {_person(settings, post.override['operator'])}"
            f" {_datetime_ja(post.override['at'])}"
        )

    update_kind = "新規"
    original_id = post.reply_to_post_id
    for event in events:
        if event.kind == EVENT_CORRECTION_LINKED and event.payload["correction_post_id"] == post_id:
            original_id = event.payload["original_post_id"]
    if post.state == "deleted":
        update_kind = "削除"
        reasons = [e.payload["reason"] for e in events if e.kind == EVENT_DELETION_REQUESTED]
        remarks.append("X から削除しました。" + (f" 理由: {reasons[-1]}" if reasons else ""))
    elif post.kind == "correction" or original_id is not None:
        update_kind = "変更"
    if original_id is not None:
        original = ledger.get_post(original_id)
        if original is not None:
            remarks.append(
                f"訂正の元の投稿: #{original_id} {_datetime_ja(original.sent_at or original.created_at)}"
                f"「{post_subject(original, templates)}」"
            )
    if any(e.kind == "post.reply_refused" for e in events):
        remarks.append("X が返信を受け付けなかったため、元の投稿の日時と件名を書いた単独の投稿で訂正しました。")

    drafter = settings.operator(post.operator)  # 起案者's own department; the post's is the issuing one
    head = ledger.head()
    handle = settings.account.drill_handle if post.drill and settings.account.drill_handle else settings.account.handle
    return UpdateRequestForm(
        post_id=post.id,
        account=f"{settings.account.name} @{handle}",
        drafted_on=post.created_at.astimezone(JST).date(),
        drafter=f"{_person(settings, post.operator)} ({drafter.department if drafter else post.department})",
        department=post.department,
        approvals=approvals,
        approved_on=approval["at"].astimezone(JST).date() if approval else None,
        post_hoc=bool(approval and approval["post_hoc"]),
        scheduled_at=(post.sent_at or post.created_at).astimezone(JST),
        update_kind=update_kind,
        subject=post_subject(post, templates),
        content=post.text,
        mail_linked=mail_linked,
        hp_linked=_links_to_town(post.text, town_domain(settings)),
        url=post.url or "",
        other_data=("画像",) if post.images else (),
        remarks=tuple(remarks),
        audit_head=str(head) if head else "",
        images=tuple(f"{number}. {PostImage.from_json(image).label}" for number, image in enumerate(post.images, 1)),
    )


def town_domain(settings: Settings) -> str:
    """The town's web domain: the host of ``account.inquiry_url`` (without ``www.``), else the
    first allowed link domain."""
    host = urlsplit(settings.account.inquiry_url).hostname or ""
    host = host.removeprefix("www.")
    if host:
        return host
    return settings.gate.allow_domains[0] if settings.gate.allow_domains else ""


def _links_to_town(text: str, domain: str) -> bool:
    from dutypost.core.length import extract_urls

    if not domain:
        return False
    for _, _, url in extract_urls(text):
        host = (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()
        if host == domain or host.endswith("." + domain):
            return True
    return False


def _person(settings: Settings, operator_id: str) -> str:
    operator = settings.operator(operator_id)
    return operator.name if operator else operator_id


def _date_ja(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _datetime_ja(moment: datetime) -> str:
    moment = moment.astimezone(JST)
    return f"{_date_ja(moment.date())} {moment.hour}時{moment.minute:02d}分"


def _yes_no(value: bool) -> str:
    return "有" if value else "無"


# -- rendering -----------------------------------------------------------------


def render(form: UpdateRequestForm, fmt: Format = "md") -> str:
    """The form as Markdown, CSV (UTF-8 with BOM, for Excel) or printable A4 HTML."""
    if fmt == "md":
        return _markdown(form)
    if fmt == "csv":
        return _csv(form)
    if fmt == "html":
        return _html(form)
    raise InputError(f"様式第1号の形式 {fmt!r} は使えません。", hint="md、html、csv のどれかを指定してください。")


def _markdown(form: UpdateRequestForm) -> str:
    def cell(text: str) -> str:
        text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
        return text.replace("\n", "<br>")

    lines = [f"# {FORM_NAME} 情報更新伺", "", "| 項目 | 内容 |", "| --- | --- |"]
    lines += [f"| {label} | {cell(value)} |" for label, value in form.rows()]
    return "\n".join(lines) + "\n"


def _csv(form: UpdateRequestForm) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["項目", "内容"])
    writer.writerows(form.rows())
    return "\ufeff" + out.getvalue()


_CSS = """
@page { size: A4; margin: 15mm; }
body { font-family: "BIZ UDPGothic", "Yu Gothic", "YuGothic", "Hiragino Kaku Gothic ProN", "Meiryo",
       "Noto Sans CJK JP", "Noto Sans JP", sans-serif; font-size: 10.5pt; color: #000; margin: 0; }
.form-no { margin: 0 0 2mm; font-size: 9pt; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 5mm; letter-spacing: 0.2em; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th, td { border: 1px solid #000; padding: 2mm; vertical-align: top; }
th { width: 28%; font-weight: normal; text-align: left; background: #f2f2f2; }
.columns th { width: auto; text-align: center; }
.seal td { height: 18mm; text-align: center; vertical-align: middle; font-size: 9pt; }
.content { white-space: pre-wrap; overflow-wrap: anywhere; min-height: 30mm; }
.url { overflow-wrap: anywhere; }
.choice { margin-right: 4mm; padding: 0 1.5mm; }
.chosen { border: 1px solid #000; border-radius: 50%; }
.note { font-size: 8.5pt; }
tr { break-inside: avoid; }
"""


def _html(form: UpdateRequestForm) -> str:
    e = html.escape

    def choices(options: tuple[str, ...], chosen: set[str]) -> str:
        return "".join(
            f'<span class="choice chosen">{e(o)}</span>' if o in chosen else f'<span class="choice">{e(o)}</span>'
            for o in options
        )

    def row(label: str, body: str, cls: str = "") -> str:
        attr = f' class="{cls}"' if cls else ""
        return f'<tr><th>{e(label)}</th><td colspan="4"{attr}>{body}</td></tr>'

    yes_no = ("有", "無")
    seal = "".join(f"<td>{e(form.approvals[c])}</td>" for c in APPROVAL_COLUMNS)
    other_kinds = (
        '<div class="note">有の場合: ' + choices(OTHER_DATA_KINDS, set(form.other_data)) + "</div>"
        + "".join(f'<div class="image">{e(image)}</div>' for image in form.images)
    )
    body = "\n".join([
        row("アカウント", e(form.account)),
        row("起案日", e(_date_ja(form.drafted_on))),
        row("起案者", e(form.drafter)),
        row("情報配信部署", e(form.department)),
        '<tr class="columns"><th rowspan="2">決裁欄</th>'
        + "".join(f"<th>{e(c)}</th>" for c in APPROVAL_COLUMNS) + "</tr>",
        f'<tr class="seal">{seal}</tr>',
        row("決裁日", e(_date_ja(form.approved_on)) if form.approved_on else ""),
        row("更新予定日時", e(_datetime_ja(form.scheduled_at))),
        row("更新区分", choices(UPDATE_KINDS, {form.update_kind})),
        row("公開する件名", e(form.subject)),
        row("更新内容", e(form.content), "content"),
        row("あみメールとの連携", choices(yes_no, {_yes_no(form.mail_linked)})),
        row("町HPへのリンク", choices(yes_no, {_yes_no(form.hp_linked)})),
        row("URL", e(form.url), "url"),
        row("その他公開データ", choices(yes_no, {_yes_no(bool(form.other_data))}) + other_kinds),
        row("備考", "<br>".join(e(r) for r in form.remarks)),
        row("監査記録の末尾 (控え)", e(form.audit_head), "url"),
    ])
    return (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(FORM_NAME)} 情報更新伺 #{form.post_id}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<p class="form-no">{e(FORM_NAME)}</p>\n<h1>情報更新伺</h1>\n'
        f"<table>\n{body}\n</table>\n"
        f'<p class="note">投稿番号 #{form.post_id} ・ dutypost の記録から作成</p>\n</body>\n</html>\n'
    )
