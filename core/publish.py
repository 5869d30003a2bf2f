"""The publish path (投稿): compose → gate → ledger → X, used by the CLI and the TUI alike.

Guarantees (SPEC §6):
- the intent is written to the ledger (``queued``, then ``sending``) before a request leaves;
- once the request has left, only a definite refusal from X makes a post ``failed`` (a 4xx
  other than 429, a 503 or 429 with X's problem JSON; :mod:`dutypost.core.xapi`); a
  timeout, a dropped connection, a 500 or a body that is not JSON is ``unknown`` and is
  never retried here: :func:`reconcile` looks for the text on the account's timeline
  (:mod:`dutypost.core.timeline` compares it the way X returns it); a miss inside
  ``[x] reconcile_grace_seconds`` of the send is not evidence (X's timeline lags), and only
  a post still not there after it becomes ``failed``;
- a resend is a publish (:func:`resend`): it looks at the timeline first, runs the whole
  gate at that moment, and treats X's duplicate refusal as proof the first one is there;
- refused connections are ``failed``, kept in the outbox, retryable by the operator;
  401/403 carry a Japanese explanation of what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from dutypost.core.context import DutyContext
from dutypost.core.errors import (DutypostError, GateBlocked, InputError, NoCredentials, OutcomeUnknown,
                                  PublishFailed, StorageFault)
from dutypost.core.gate import (Approval, GateDecision, Override, PlaceValue, by_severity, cost_finding, evaluate,
                                validate_override)
from dutypost.core.length import Room, extract_urls, rooms_at, split_thread, weighted_length
from dutypost.core.media import PostImage, check_images, upload_images
from dutypost.core.models import Finding
from dutypost.core.templates import (Template, default_value, municipality_variables, render, unfilled_page_hint,
                                     unfilled_pages, version_values)

if TYPE_CHECKING:
    from dutypost.core.ledger import DraftPurpose, OverrideSession

SAME_TEMPLATE_RULE = "same-template"


@dataclass(frozen=True)
class Composition:
    """A post ready for the gate: its final text and, when long, its thread parts."""

    text: str
    parts: tuple[str, ...]
    template_id: str | None
    emergency: bool
    threads_allowed: bool
    values: Mapping[str, str] = field(default_factory=dict)
    expects: frozenset[str] = frozenset()  # the template's expected gate rules (``expects``)
    drill_only: bool = False  # the template is 訓練専用 (``drill_only``)
    #: The template's category (分類), for the override-fit check; None without a template.
    category: str | None = None
    #: The template's issuing department (情報配信部署); None: the poster's own.
    department: str | None = None
    #: The versions (やさしい日本語・English, the template's ``versions``) added to the post,
    #: each composed from its own template. They go out as the following parts of the
    #: thread, replying to the main post's last part: ``text`` and ``parts`` include them.
    versions: tuple[Composition, ...] = ()
    #: The main post alone, when versions are added (``text`` then holds them all).
    lead: Composition | None = None
    #: A version's name in findings: its template's title (e.g. 「English: 警戒レベル4 避難指示」).
    label: str = ""
    #: Notices about how the template was filled (info findings the gate adds to its own),
    #: e.g. a link left out because the config lacks the page (rule ``page``).
    notes: tuple[Finding, ...] = ()
    #: The area and facility fields' values (地区・避難所), for the unknown-place check.
    places: tuple[PlaceValue, ...] = ()

    @property
    def weighted_length(self) -> int:
        return weighted_length(self.text)

    @property
    def sections(self) -> tuple[Composition, ...]:
        """The main post, then each version: what the gate checks one by one."""
        return (self.lead or self, *self.versions)


#: Between the main post's text and each version's in the recorded text (記録の本文).
VERSION_SEPARATOR = "\n\n"


def compose(ctx: DutyContext, template: Template, values: Mapping[str, str], *, now: datetime | None = None,
            versions: bool = False) -> Composition:
    """Render ``template`` with the municipality's variables and mark it 【訓練】 in drill mode.

    With ``versions``, its versions (やさしい日本語・English) follow as parts of the thread,
    each rendered from the same values (:func:`core.templates.version_values`); ``values``
    may then hold the fields only a version has (``area_en``). A template without versions
    composes as without."""
    now = now or ctx.now()
    linked = ctx.templates.versions_of(template) if versions else []
    own = {k: v for k, v in values.items() if template.field(k) is not None} if versions else values
    main = _compose_one(ctx, template, own, now, recorded=values)
    if not linked:
        return main
    added = tuple(replace(_compose_one(ctx, v, version_values(template, v, values), now), label=v.title)
                  for v in linked)
    return with_versions(main, added)


def _compose_one(ctx: DutyContext, template: Template, values: Mapping[str, str], now: datetime, *,
                 recorded: Mapping[str, str] | None = None) -> Composition:
    """``template`` rendered with ``values``; ``recorded``: the values kept with the post."""
    variables = municipality_variables(ctx.settings)
    text = render(template, values, now=now, variables=variables)
    composition = compose_text(ctx, text, template_id=template.id, emergency=template.emergency,
                               threads_allowed=template.threads, values=values if recorded is None else recorded,
                               expects=template.expects,
                               drill_only=template.drill_only, category=template.category,
                               department=template.department)
    notes = tuple(_unfilled_page_note(ctx, name) for name in unfilled_pages(template, variables))
    places = tuple(PlaceValue(f.label, f.source, values[f.name]) for f in template.fields
                   if f.kind in ("area", "facility") and f.source and (values.get(f.name) or "").strip())
    return replace(composition, notes=notes, places=places) if notes or places else composition


def _unfilled_page_note(ctx: DutyContext, name: str) -> Finding:
    """The notice that the link ``{name}`` was left out, saying which config key to fill."""
    where = f"設定ファイル {ctx.config_path} の " if ctx.config_path else "設定の "
    return Finding("page", "info", f"リンク {{{name}}} のページが設定にないため、リンクなしで投稿します。"
                                   f"付けるには、{where}{unfilled_page_hint(name)}")


def with_versions(main: Composition, versions: tuple[Composition, ...]) -> Composition:
    """``main`` followed by ``versions``: one thread, recorded as one post."""
    return replace(
        main,
        text=VERSION_SEPARATOR.join(c.text for c in (main, *versions)),
        parts=main.parts + tuple(p for v in versions for p in v.parts),
        threads_allowed=True,
        versions=versions,
        lead=main,
        notes=tuple(dict.fromkeys(n for c in (main, *versions) for n in c.notes)),  # a page each version links too: once
    )


def section_findings(composition: Composition, check: Callable[[Composition], Iterable[Finding]]) -> list[Finding]:
    """``check`` on each version of ``composition``: findings named by the version's title,
    their spans moved into the recorded text. The main post's findings are not included."""
    found: list[Finding] = []
    offset = len(composition.sections[0].text)
    for version in composition.versions:
        offset += len(VERSION_SEPARATOR)
        for f in check(version):
            moved = (f.start + offset, f.end + offset) if f.end else (0, 0)
            found.append(replace(f, message=f"{version.label}: {f.message}", start=moved[0], end=moved[1]))
        offset += len(version.text)
    return found


#: Marks where a field's text ends when its room is measured (private use: never in a post).
_FIELD_END = 0xE000


def field_rooms(ctx: DutyContext, template: Template, values: Mapping[str, str], *,
                now: datetime | None = None) -> dict[str, Room]:
    """How much room each field has left (残りの文字数, issue 12 item 5), by field name.

    A thread template (``threads = true``) counts the room in the part the field's text goes
    into — the first part for the order's level, time, reason and areas — up to the end of
    the last field's line in it (:func:`core.length.rooms_at`); any other template counts
    the room in the post. An empty optional field is measured as if its line were there,
    and a choice not made yet as its longest choice. Nothing when the values cannot be
    rendered."""
    now = now or ctx.now()
    filled = {f.name: (values.get(f.name) or default_value(f, now)).strip() for f in template.fields}
    for f in template.fields:
        if f.kind == "choice" and not filled[f.name] and f.choices:
            filled[f.name] = max(f.choices, key=weighted_length)
    given = [name for name, value in filled.items() if value]
    try:
        rooms = _rooms_marking(ctx, template, filled, given, now)
        for name in filled:
            if name not in given:  # its line left out: measured with the line in
                rooms[name] = _rooms_marking(ctx, template, filled, [*given, name], now)[name]
    except (InputError, ValueError):  # ValueError: a limit too small to split (the preview says so)
        return {}
    return rooms


def _rooms_marking(ctx: DutyContext, template: Template, values: Mapping[str, str], names: list[str],
                   now: datetime) -> dict[str, Room]:
    """Render with a mark after each of ``names``' values, and measure the room at each mark."""
    marks = {name: chr(_FIELD_END + n) for n, name in enumerate(names)}
    # Marked fields render as text, so that a mark passes the number and choice checks.
    as_text = replace(template, fields=tuple(replace(f, kind="text", choices=()) if f.name in marks else f
                                             for f in template.fields))
    marked = {**values, **{name: values[name] + mark for name, mark in marks.items()}}
    text = render(as_text, marked, now=now, variables=municipality_variables(ctx.settings))
    if ctx.drill and ctx.settings.drill.marker not in text:
        text = ctx.settings.drill.marker + text
    by_mark = {mark: name for name, mark in marks.items()}
    clean: list[str] = []
    ends: dict[str, int] = {}
    at = 0
    for char in text:
        if char in by_mark:
            ends.setdefault(by_mark[char], at)
        else:
            clean.append(char)
            at += 1
    return rooms_at("".join(clean), ends, ctx.settings.x.max_weighted_length, threads=template.threads)


def compose_text(ctx: DutyContext, text: str, *, template_id: str | None, emergency: bool,
                 threads_allowed: bool, values: Mapping[str, str] | None = None,
                 expects: Iterable[str] = (), drill_only: bool = False,
                 category: str | None = None, department: str | None = None) -> Composition:
    marker = ctx.settings.drill.marker
    if ctx.drill and marker not in text:
        text = marker + text
    limit = ctx.settings.x.max_weighted_length
    parts = split_thread(text, limit) if threads_allowed else [text]
    return Composition(text=text, parts=tuple(parts), template_id=template_id, emergency=emergency,
                       threads_allowed=threads_allowed, values=dict(values or {}),
                       expects=frozenset(expects), drill_only=drill_only, category=category,
                       department=department)


def issuing_department(ctx: DutyContext, composition: Composition, department: str | None = None) -> str:
    """The department that issues the post (情報配信部署, 別表第1), whose approver is required:
    the officer's choice, else the template's, else the poster's own department.

    A named department must be a ``[[departments]]`` row of the config (its full name, or
    the first name of a joint row, see ``Settings.find_department``); else InputError."""
    if department is None and composition.department is None:
        return ctx.operator.department
    chosen = department if department is not None else composition.department
    if chosen == ctx.operator.department:
        return chosen
    row = ctx.settings.find_department(chosen)
    if row is None:
        where = ("--department に指定した" if department is not None
                 else f"テンプレート {composition.template_id} の department に書かれた")
        config = f"設定ファイル {ctx.config_path} の" if ctx.config_path else "設定の"
        raise InputError(
            f"{where}所属「{chosen}」は、{config} [[departments]] (別表第1) にありません。",
            hint="[[departments]] の name (連名の所属は最初の名前でも可) を書いてください"
                 " (dutypost config check で設定を確かめられます)。",
        )
    return row.name


@dataclass(frozen=True)
class Review:
    """The gate's decision plus what only the ledger knows (another operator's recent post,
    the operator's active override session).

    ``override`` is the override the gate applied: the one given, else the operator's
    active session's (``override.session_id`` set). ``department`` is the issuing
    department whose approver is required."""

    decision: GateDecision
    same_template: Finding | None
    acks: frozenset[str]
    override: Override | None = None
    department: str | None = None

    @property
    def unacknowledged(self) -> tuple[Finding, ...]:
        extra = (self.same_template,) if self.same_template and SAME_TEMPLATE_RULE not in self.acks else ()
        return self.decision.unacknowledged + extra

    @property
    def warnings(self) -> tuple[Finding, ...]:
        found = tuple(f for f in self.decision.findings if f.severity == "warn")
        return found + ((self.same_template,) if self.same_template else ())

    @property
    def allowed(self) -> bool:
        return not self.decision.blocking and not self.unacknowledged

    def explain(self, *, for_cli: bool = True) -> str:
        text = self.decision.explain(for_cli=for_cli)
        if self.override is not None and self.override.session_id is not None and self.decision.lifted:
            text = (f"{text}\n緊急オーバーライドの時間枠 #{self.override.session_id} を使っています"
                    f" (区分: {self.override.category})。")
        if self.same_template and SAME_TEMPLATE_RULE not in self.acks:
            if self.decision.allowed:  # the gate alone passed, but this warning still stops the post
                text = text.replace(PASSED, STOPPED, 1)
            text = f"{text}\n{same_template_line(self.same_template, for_cli=for_cli)}".strip()
        return text


PASSED, STOPPED = "投稿前チェックを通りました。", "投稿前チェックで止まっています。"


def same_template_line(finding: Finding, *, for_cli: bool = True) -> str:
    """The same-template warning (同じテンプレート) as a line of the gate's explanation."""
    how = f"確認したら --ack {SAME_TEMPLATE_RULE} を付けてください。" if for_cli else "確認してから進んでください。"
    return f"・要確認 (同じテンプレート): {finding.message} {how}"


def review(
    ctx: DutyContext,
    composition: Composition,
    *,
    approval: Approval | None = None,
    override: Override | None = None,
    acks: Iterable[str] = (),
    now: datetime | None = None,
    department: str | None = None,
) -> Review:
    """The gate on ``composition``. Without ``override``, the operator's active override
    session (緊急オーバーライドの時間枠) applies, if there is one."""
    now = now or ctx.now()
    gate = ctx.settings.gate
    issuing = issuing_department(ctx, composition, department)
    if override is None:
        override = session_override(ctx, now)
    recent = ctx.ledger.recent_sent_texts(now - timedelta(hours=gate.duplicate_window_hours), ctx.drill)
    acks = frozenset(acks)
    lead = composition.sections[0]
    decision = evaluate(
        text=lead.text,
        settings=ctx.settings,
        poster=ctx.operator,
        now=now,
        drill=ctx.drill,
        emergency=composition.emergency,
        approval=approval,
        override=override,
        acks=acks,
        threads_allowed=lead.threads_allowed,
        recent_texts=_recent_for(lead.text, recent),
        expected_rules=composition.expects,
        drill_only=composition.drill_only,
        department=issuing,
        account=ctx.account,
        category=composition.category,
        notes=composition.notes,
        places=composition.places,
    )
    if composition.versions:
        def check(version: Composition) -> tuple[Finding, ...]:
            own = evaluate(text=version.text, settings=ctx.settings, poster=ctx.operator, now=now, drill=ctx.drill,
                           emergency=version.emergency, approval=approval, override=override, acks=acks,
                           threads_allowed=version.threads_allowed, recent_texts=_recent_for(version.text, recent),
                           expected_rules=version.expects, drill_only=version.drill_only, department=issuing,
                           account=ctx.account, category=composition.category)
            return own.findings

        decision = _with_version_findings(ctx, decision, composition, check, acks)
    return Review(decision=decision, same_template=_same_template_warning(ctx, composition, now), acks=acks,
                  override=override, department=issuing)


def _recent_for(text: str, recent: list[tuple[str, datetime]]) -> tuple[tuple[str, datetime], ...]:
    """The recent texts the duplicate check compares ``text`` (a post, or one of its versions)
    with: each sent text, and ``text`` itself where it went out as the main post or a version
    of a post with versions (its recorded text holds them all; X refuses each part alike)."""
    joined = [(text, at) for previous, at in recent
              if previous != text and VERSION_SEPARATOR in previous
              and (previous.startswith(text + VERSION_SEPARATOR) or previous.endswith(VERSION_SEPARATOR + text)
                   or VERSION_SEPARATOR + text + VERSION_SEPARATOR in previous)]
    return (*recent, *joined)


#: Findings about the post as a whole, said once for the main post (not again for a version).
_WHOLE_POST_RULES = frozenset({"cost", "override-fit"})


def with_version_findings(settings, composition: Composition, main: Iterable[Finding],
                          check: Callable[[Composition], Iterable[Finding]]) -> tuple[list[Finding], list[Finding]]:
    """The findings on the main post with ``check`` on each version added (named and placed
    by :func:`section_findings`), sorted by severity; the cost is that of every part.
    Returns all of them, and the versions' own."""
    found = [f for f in section_findings(composition, check) if f.rule not in _WHOLE_POST_RULES]
    own = [cost_finding(settings, list(composition.parts)) if f.rule == "cost" else f for f in main]
    return by_severity((*own, *found)), found


def _with_version_findings(ctx: DutyContext, decision: GateDecision, composition: Composition,
                           check: Callable[[Composition], Iterable[Finding]], acks: frozenset[str]) -> GateDecision:
    """The gate's decision on the main post with its versions' content findings added: a
    version's block blocks and its warning needs the same acknowledgement (by rule) as any
    part's."""
    findings, found = with_version_findings(ctx.settings, composition, decision.findings, check)
    return replace(
        decision,
        findings=tuple(findings),
        blocking=decision.blocking + tuple(f for f in found if f.severity == "block"),
        unacknowledged=decision.unacknowledged + tuple(f for f in found if f.severity == "warn"
                                                       and f.rule not in acks),
    )


def _same_template_warning(ctx: DutyContext, composition: Composition, now: datetime) -> Finding | None:
    minutes = ctx.settings.gate.same_template_warn_minutes
    if not composition.template_id or minutes <= 0:
        return None
    last = ctx.ledger.last_post_of_template(composition.template_id, now - timedelta(minutes=minutes), ctx.drill)
    if last is None or last.operator == ctx.operator.id:
        return None
    return _same_template_finding(ctx, last)


def _same_template_finding(ctx: DutyContext, last) -> Finding:
    who = ctx.settings.operator(last.operator)
    name = who.name if who else last.operator
    from dutypost.core.templates import format_jst_time

    return Finding(
        SAME_TEMPLATE_RULE,
        "warn",
        f"{name}さんが {format_jst_time(last.created_at)} に同じテンプレートで投稿しています"
        f" (状態: {last.state})。重複していないか確かめてください。",
    )


def make_override(ctx: DutyContext, category: str, reason: str, *, now: datetime | None = None) -> Override:
    validate_override(ctx.settings, category, reason)
    return Override(category=category, reason=reason.strip(), operator_id=ctx.operator.id, at=now or ctx.now())


def make_approval(ctx: DutyContext, approver_id: str, method: str, *, now: datetime | None = None) -> Approval:
    return Approval(approver_id=approver_id, method=method, at=now or ctx.now())


# -- time-boxed override sessions (緊急オーバーライドの時間枠, issue 12 item 7) ----------------


def start_override_session(ctx: DutyContext, category: str, reason: str, hours: float, *,
                           now: datetime | None = None) -> "OverrideSession":
    """Start the operator's override session: ``category`` and ``reason`` cover their posts
    for ``hours`` (more than 0, at most 12). Each post still awaits 事後承認."""
    from dutypost.core.ledger import MAX_SESSION_HOURS

    validate_override(ctx.settings, category, reason)
    if not 0 < hours <= MAX_SESSION_HOURS:
        raise InputError(f"緊急オーバーライドの時間枠は {MAX_SESSION_HOURS} 時間までです (指定: {hours:g} 時間)。",
                         hint=f"--hours に 1〜{MAX_SESSION_HOURS} の時間を指定してください。朝になったら、"
                              "続けて必要なときは改めて開始します。")
    now = now or ctx.now()
    running = ctx.ledger.active_override_session(ctx.operator.id, now, ctx.drill)
    if running is not None:
        from dutypost.core.templates import format_jst_datetime

        raise InputError(f"緊急オーバーライドの時間枠 #{running.id} が {format_jst_datetime(running.until)} まで続いています。",
                         hint="区分や時間を変えるときは、先に dutypost override end で終えてください。")
    session_id = ctx.ledger.start_override_session(operator=ctx.operator.id, category=category,
                                                   reason=reason.strip(), starts_at=now,
                                                   ends_at=now + timedelta(hours=hours), drill=ctx.drill)
    return ctx.ledger.get_override_session(session_id)


def end_override_session(ctx: DutyContext, *, now: datetime | None = None) -> "OverrideSession":
    """End the operator's running session early; InputError when none is running."""
    now = now or ctx.now()
    running = ctx.ledger.active_override_session(ctx.operator.id, now, ctx.drill)
    if running is None:
        raise InputError("終える緊急オーバーライドの時間枠はありません。",
                         hint="dutypost override status で状態を確かめられます。")
    ctx.ledger.end_override_session(running.id, ended_by=ctx.operator.id, at=now)
    return ctx.ledger.get_override_session(running.id)


def active_override_session(ctx: DutyContext, now: datetime | None = None) -> "OverrideSession | None":
    """The operator's session that applies now (in this mode: 本番 or 訓練), if any."""
    return ctx.ledger.active_override_session(ctx.operator.id, now or ctx.now(), ctx.drill)


def session_override(ctx: DutyContext, now: datetime) -> Override | None:
    """The override an active session gives a post made at ``now``, or None."""
    running = active_override_session(ctx, now)
    if running is None:
        return None
    return Override(category=running.category, reason=running.reason, operator_id=ctx.operator.id, at=now,
                    session_id=running.id)


@dataclass(frozen=True)
class PublishResult:
    post_id: int
    url: str | None
    x_post_ids: tuple[str, ...]
    reply_fallback: bool = False
    #: A resend found the post on the timeline (or X called it a duplicate of one there):
    #: recorded ``sent``, nothing was sent again.
    found_on_timeline: bool = False
    #: For a checklist item's post: its record on the checklist, in words (or why it failed).
    checklist_note: str = ""


def publish(
    ctx: DutyContext,
    composition: Composition,
    *,
    approval: Approval | None = None,
    override: Override | None = None,
    acks: Iterable[str] = (),
    kind: str = "post",
    reply_to_post_id: int | None = None,
    fallback_text: str | None = None,
    purpose: DraftPurpose | None = None,
    draft_id: str | None = None,
    images: Iterable[PostImage | tuple[str, str]] = (),
    now: datetime | None = None,
    department: str | None = None,
) -> PublishResult:
    """Pass the gate, record the intent, then send. Raises GateBlocked/PublishFailed/OutcomeUnknown.

    ``images`` (画像, up to 4, each with its alt text) are checked before anything is
    recorded, recorded with the intent, and uploaded with their alt text right before the
    first part is created (:mod:`dutypost.core.media`); they go with the first part.

    Before the first publish of the process the credentials must belong to the configured
    account (:meth:`DutyContext.check_account`): another account's token raises
    :class:`~dutypost.core.errors.WrongAccount` and nothing is recorded or sent. When X
    cannot be used at all — no credentials, 401, credits refused (402), unreachable — the
    post is recorded and kept in the outbox as ``failed`` with the reason and the next
    step (:class:`PublishFailed`), so that it can be resent or posted from a phone.

    With ``reply_to_post_id`` (a correction), the first part is sent as a reply to that
    post; if X refuses the reply (SPEC §5), ``fallback_text`` goes out as a standalone post.

    With ``purpose`` (a checklist item's post, チェックリストの投稿: 訂正・お詫び, 炎上, なりすまし,
    運用停止), the post's kind and reply target are the purpose's, the standalone text is
    worked out here (:func:`core.checklists.standalone_fallback_text`: the original's date
    and subject), and once the post is recorded it is recorded on its checklist item too —
    sent, failed or unknown alike, so the checklist shows it and the outbox resends it by
    the same rules. ``PublishResult.checklist_note`` (or the raised error's) says so in words.
    Without ``override``, the operator's active override session applies (see :func:`review`).
    ``department`` names the issuing department (情報配信部署); the post is recorded under it.
    """
    now = now or ctx.now()
    result = review(ctx, composition, approval=approval, override=override, acks=acks, now=now,
                    department=department)
    override = result.override
    if not result.allowed:
        headline, _, details = result.explain(for_cli=True).partition("\n")
        raise GateBlocked(headline, hint=details)
    ledger = ctx.ledger
    checked_images = check_images(images)
    x_problem = _x_unusable(ctx)  # raises WrongAccount before anything is recorded
    if purpose is not None:
        kind, reply_to_post_id = purpose.kind, purpose.reply_to_post_id
    reply_x_id = _reply_target(ctx, reply_to_post_id)
    if purpose is not None and reply_to_post_id is not None and fallback_text is None:
        from dutypost.core.checklists import standalone_fallback_text

        fallback_text = standalone_fallback_text(ledger, reply_to_post_id, composition.parts[0],
                                                 templates=ctx.templates)
    from dutypost.core.ledger import SameTemplateTaken

    minutes = ctx.settings.gate.same_template_warn_minutes
    # The same-template check is made again in the transaction that records the post, so that
    # two operators publishing the same template at the same moment cannot both miss it.
    guard = now - timedelta(minutes=minutes) if minutes > 0 and SAME_TEMPLATE_RULE not in result.acks else None
    try:
        post_id = ledger.create_post(
            operator=ctx.operator.id,
            department=result.department or ctx.operator.department,
            template_id=composition.template_id,
            text=composition.text,
            parts=list(composition.parts),
            drill=ctx.drill,
            kind=kind,
            reply_to_post_id=reply_to_post_id,
            draft_id=draft_id,
            acks=sorted(result.acks),
            findings=[f.as_json() for f in result.decision.findings],
            same_template_since=guard,
            values=dict(composition.values),
            images=[i.as_json() for i in checked_images],
            account=ctx.account.id,
        )
    except SameTemplateTaken as taken:
        finding = _same_template_finding(ctx, ledger.get_post(taken.post_id))
        raise GateBlocked(STOPPED, hint=same_template_line(finding)) from None
    if approval is not None and result.decision.approval_problem is None:
        ledger.record_approval(post_id, approver=approval.approver_id, method=approval.method,
                               at=approval.at, recorded_by=ctx.operator.id)
    if override is not None and result.decision.lifted:
        ledger.record_override(post_id, operator=ctx.operator.id, category=override.category,
                               reason=override.reason, lifted=list(result.decision.lifted),
                               session_id=override.session_id)
    if draft_id:
        ledger.close_draft(draft_id, "published")
    if x_problem is not None:
        failure = _kept_failed(ctx, post_id, x_problem)
        if purpose is not None:
            failure.checklist_note = _record_on_checklist(ctx, purpose, post_id)
        raise failure
    if purpose is None:
        return _send(ctx, post_id, list(composition.parts), sent=[], reply_to=reply_x_id, fallback_text=fallback_text)
    try:
        result = _send(ctx, post_id, list(composition.parts), sent=[], reply_to=reply_x_id,
                       fallback_text=fallback_text)
    except Exception as exc:  # failed or unknown: the item still records the post, to be resolved
        exc.checklist_note = _record_on_checklist(ctx, purpose, post_id)
        raise
    return replace(result, checklist_note=_record_on_checklist(ctx, purpose, post_id))


def _x_unusable(ctx: DutyContext) -> DutypostError | None:
    """Why X cannot be used for this publish (no credentials, 401, 402, unreachable), or None.

    Checks the account (``users/me``, cached) on the first publish of the process; a
    token for another account raises :class:`~dutypost.core.errors.WrongAccount`."""
    from dutypost.core.xapi import XApiError

    try:
        ctx.x_client()
        ctx.check_account()
    except NoCredentials as exc:
        return exc
    except XApiError as exc:  # users/me failed: nothing was posted, whatever its outcome
        return exc
    return None


def _kept_failed(ctx: DutyContext, post_id: int, problem: DutypostError) -> PublishFailed:
    """Record ``post_id`` as ``failed`` because X cannot be used; the error to raise."""
    from dutypost.core.xapi import XAuthError, XPaymentRequired

    if isinstance(problem, NoCredentials):
        step = ("dutypost auth で PIN ログインして認証情報を用意してから、dutypost outbox resend "
                f"{post_id} で再送してください。")
    elif isinstance(problem, XAuthError):
        step = f"dutypost auth でログインし直してから、dutypost outbox resend {post_id} で再送してください。"
    elif isinstance(problem, XPaymentRequired):
        step = f"運用管理者がクレジットを補充してから、dutypost outbox resend {post_id} で再送してください。"
    else:
        step = f"X に接続できるようになったら dutypost outbox resend {post_id} で再送してください。"
    phone = ("急ぐときは本文をコピーしてスマートフォンなど別の手段で投稿し、"
             f"dutypost outbox cancel {post_id} --reason 理由 で送信待ちから外してください。")
    reason = f"X を使えません: {problem.message} {step}"
    # queued → sending → failed: the audit trail shows the attempt and, in the failure, why.
    ctx.ledger.set_state(post_id, "sending", operator=ctx.operator.id)
    ctx.ledger.set_state(post_id, "failed", error=reason, operator=ctx.operator.id)
    details = f"\n{problem.hint}" if problem.hint else ""
    return PublishFailed(
        f"投稿 #{post_id} は送信できませんでした。X を使えません: {problem.message}",
        hint=f"投稿は送信待ち (outbox) に「失敗」として残っています。{step}{phone}{details}",
        post_id=post_id, cause=problem,
    )


def _record_on_checklist(ctx: DutyContext, purpose: DraftPurpose, post_id: int) -> str:
    """Record ``post_id`` on its checklist item; the outcome in words (never raises a
    DutypostError: the post itself is recorded already)."""
    from dutypost.core import checklists

    try:
        if purpose.item_key == "correction_post":
            checklists.link_correction(ctx.ledger, purpose.checklist_id, correction_post_id=post_id,
                                       operator=ctx.operator.id)
        else:
            checklists.record(ctx.ledger, purpose.checklist_id, purpose.item_key, operator=ctx.operator.id,
                              value=post_id)
    except DutypostError as exc:
        return f"チェックリストに記録できませんでした: {exc.message}"
    return f"チェックリスト #{purpose.checklist_id} に投稿 #{post_id} を記録しました。"


def _reply_target(ctx: DutyContext, reply_to_post_id: int | None) -> str | None:
    """The X id a correction replies to: the first part of the original, which must be out."""
    if reply_to_post_id is None:
        return None
    original = ctx.ledger.get_post(reply_to_post_id)
    if original is None or not original.x_post_ids:
        raise InputError(f"訂正の元になる投稿 #{reply_to_post_id} が送信済みではありません。",
                         hint="履歴で元の投稿の状態を確かめてください。")
    return original.x_post_ids[0]


def _send(ctx: DutyContext, post_id: int, parts: list[str], *, sent: list[str],
          reply_to: str | None, fallback_text: str | None = None,
          duplicate_is_evidence: bool = False) -> PublishResult:
    """Send the unsent parts of ``post_id``, each replying to the previous one.

    A ledger write that fails (:class:`StorageFault`) before ``sending`` is recorded is exit 2
    and nothing was sent; once it is recorded, a failed write is :class:`OutcomeUnknown`
    (exit 5) with the resolve hint, since the request may have left (issue 17 item 4).

    ``duplicate_is_evidence`` (a resend): X's 403 duplicate means the first attempt is on
    the account, so it is looked up on the timeline and recorded ``sent`` — or, while the
    timeline has not caught up, left ``unknown`` to resolve."""
    ctx.x_client()  # credentials are checked before ``sending`` is recorded
    ctx.check_account()  # a resend, too, goes to the configured account only (cached)
    images = [] if sent else [PostImage.from_json(i) for i in (ctx.ledger.get_post(post_id).images or [])]
    ctx.ledger.set_state(post_id, "sending", operator=ctx.operator.id)
    try:
        return _send_recorded(ctx, post_id, parts, ids=list(sent), reply_to=reply_to, fallback_text=fallback_text,
                              duplicate_is_evidence=duplicate_is_evidence, images=images)
    except StorageFault as fault:
        # The request may have left: the ledger could not record what became of it.
        raise OutcomeUnknown(
            f"投稿 #{post_id} の送信の結果を記録ファイルに書けませんでした: {fault.message}",
            hint=(f"X に届いているかもしれません。再送はしないでください。{fault.hint.splitlines()[0]}\n"
                  f"書けるようになったら dutypost outbox resolve {post_id} でタイムラインを確かめます。"),
            post_id=post_id, cause=fault,
        ) from None


def _send_recorded(ctx: DutyContext, post_id: int, parts: list[str], *, ids: list[str], reply_to: str | None,
                   fallback_text: str | None, duplicate_is_evidence: bool,
                   images: list[PostImage]) -> PublishResult:
    """:func:`_send` once ``sending`` is recorded: every ledger write from here on may come
    after a request left."""
    from dutypost.core.xapi import XApiError, XDuplicateError, XReplyNotAllowed

    ledger = ctx.ledger
    client = ctx.x_client()
    url = None
    fallback_used = False
    try:
        # The images first: no post is created until they are uploaded and described.
        media_ids = upload_images(client, images) if images else None
        for index in range(len(ids), len(parts)):
            text = parts[index]
            parent = ids[-1] if ids else reply_to
            media = media_ids if index == 0 else None
            try:
                created = client.create_post(text, reply_to=parent, media_ids=media)
            except XReplyNotAllowed:
                if index != 0 or not fallback_text:
                    raise
                # X refused the reply: the correction goes out standalone, naming the original,
                # recorded first (an unknown outcome is then looked for by the text that was sent).
                ledger.use_standalone_text(post_id, fallback_text, operator=ctx.operator.id)
                created = client.create_post(fallback_text, media_ids=media)
                fallback_used = True
            ids.append(created.id)
            url = url or created.url
    except XDuplicateError as exc:
        if not duplicate_is_evidence:
            _record_failure(ctx, post_id, ids, exc)
        return _found_as_duplicate(ctx, post_id, ids, exc)
    except XApiError as exc:
        _record_failure(ctx, post_id, ids, exc)
    post = ledger.get_post(post_id)
    if url is None and post and post.url:
        url = post.url
    ledger.set_state(post_id, "sent", x_post_ids=ids, url=url, operator=ctx.operator.id)
    return PublishResult(post_id=post_id, url=url, x_post_ids=tuple(ids), reply_fallback=fallback_used)


def _found_as_duplicate(ctx: DutyContext, post_id: int, ids: list[str], exc: Exception) -> PublishResult:
    """A resend X refused as a duplicate: the first attempt is there. Record it ``sent``."""
    import time

    post = ctx.ledger.get_post(post_id)
    found = list(ids)
    for wait in (0.0, *DUPLICATE_LOOKUP_WAITS):  # X said it is there; its timeline may lag a little
        time.sleep(wait)
        try:
            found = _find_on_timeline(ctx, post, known=ids)
        except PublishFailed:  # the timeline could not be read: X's word is still evidence
            break
        if len(found) == len(post.parts):
            break
    if len(found) == len(post.parts):
        url = post.url or f"{ctx.settings.web_base_url(ctx.drill, ctx.account)}/i/web/status/{found[0]}"
        ctx.ledger.set_state(post_id, "sent", x_post_ids=found, url=url, operator=ctx.operator.id)
        return PublishResult(post_id=post_id, url=url, x_post_ids=tuple(found), found_on_timeline=True)
    message = "X が同じ本文の投稿を重複として拒否しました。最初の送信は X に届いています (タイムラインにはまだ見つかりません)。"
    ctx.ledger.set_state(post_id, "unknown", x_post_ids=found, error=message, operator=ctx.operator.id)
    raise OutcomeUnknown(
        f"投稿 #{post_id}: {message}",
        hint=f"再送はしないでください。少し待ってから dutypost outbox resolve {post_id} でタイムラインを確かめます。",
        post_id=post_id, cause=exc,
    ) from None


def _record_failure(ctx: DutyContext, post_id: int, ids: list[str], exc) -> None:
    """Record a send that did not end ``sent`` and raise what the operator should know."""
    ledger = ctx.ledger
    state = "unknown" if exc.outcome == "unknown" else "failed"
    ledger.set_state(post_id, state, x_post_ids=ids, error=exc.message, operator=ctx.operator.id)
    details = f"\n{exc.hint}" if exc.hint else ""
    if state == "unknown":
        raise OutcomeUnknown(
            f"投稿 #{post_id} が X に届いたかどうか分かりません: {exc.message}",
            hint=f"再送はしないでください。dutypost outbox resolve {post_id} でタイムラインを確かめます。{details}",
            post_id=post_id, cause=exc,
        ) from None
    raise PublishFailed(
        f"投稿 #{post_id} は送信できませんでした: {exc.message}",
        hint=f"投稿は送信待ち (outbox) に残っています。状況が直ったら dutypost outbox resend {post_id} で再送できます。"
             f"スマートフォンなど別の手段で投稿したときは dutypost outbox cancel {post_id} --reason 理由 で取り消します。{details}",
        post_id=post_id, cause=exc,
    ) from None


#: After X refuses a resend as a duplicate, the timeline is read again after these waits
#: (seconds) before the post is left ``unknown`` for a later resolve.
DUPLICATE_LOOKUP_WAITS = (1.0, 2.0)
#: How many timeline pages (of 100) reconciliation reads at most, back to the post's time.
RECONCILE_MAX_PAGES = 10
#: How far before the ledger's ``created_at`` the timeline window starts (clock skew).
RECONCILE_WINDOW_LEAD = timedelta(minutes=5)
#: Gate findings that depend on the moment of sending: a resend does not inherit their
#: acknowledgement (ack) from the first attempt.
MOMENT_RULES = frozenset({"stale-time", "duplicate"})


@dataclass(frozen=True)
class Reconciliation:
    """What a look at the timeline (照合) found. ``state`` is the post's state afterwards:
    ``sent`` (found), ``unknown`` (not found yet, inside the grace period: look again at
    ``look_again_at``) or ``failed`` (not found after it: a resend is offered)."""

    post_id: int
    found: bool
    x_post_ids: tuple[str, ...]
    message: str
    state: str = ""
    look_again_at: datetime | None = None


def _sent_at(ctx: DutyContext, post) -> datetime:
    """When the post's last attempt left: its last ``post.sending`` event (else its update)."""
    sending = [e.at for e in ctx.ledger.events(post.id) if e.kind == "post.sending"]
    return sending[-1] if sending else post.updated_at


def _find_on_timeline(ctx: DutyContext, post, known: list[str] | None = None) -> list[str]:
    """The X ids of ``post``'s parts found on the account's timeline, in order (those
    already known first). Reads the whole window: every page back to the post's time."""
    from dutypost.core.timeline import same_post
    from dutypost.core.xapi import XApiError

    client = ctx.x_client()
    ids = list(post.x_post_ids if known is None else known)
    try:
        me = ctx.account_user()
        timeline = client.user_posts(
            me["id"],
            start_time=post.created_at - RECONCILE_WINDOW_LEAD,
            since_id=ids[-1] if ids else None,
            max_pages=RECONCILE_MAX_PAGES,
            note_tweet=ctx.settings.x.max_weighted_length > 280,
        )
    except XApiError as exc:  # reconciliation itself could not reach X
        raise PublishFailed(f"タイムラインを確かめられませんでした: {exc.message}",
                            hint=f"状態は変えていません。後でもう一度 dutypost outbox resolve {post.id} を実行してください。",
                            post_id=post.id, cause=exc) from None
    oldest_first = list(reversed(timeline))  # so that a thread's parts line up
    for part in post.parts[len(ids):]:
        match = next((item for item in oldest_first
                      if str(item.get("id")) not in ids and same_post(part, item)), None)
        if match is None:
            break
        ids.append(str(match["id"]))
    return ids


def _record_found(ctx: DutyContext, post, ids: list[str]) -> str:
    url = post.url or f"{ctx.settings.web_base_url(ctx.drill, ctx.account)}/i/web/status/{ids[0]}"
    ctx.ledger.set_state(post.id, "sent", x_post_ids=ids, url=url, operator=ctx.operator.id)
    return url


def reconcile(ctx: DutyContext, post_id: int) -> Reconciliation:
    """Look for an uncertain or failed post on the account's timeline (SPEC §6) — never resend here.

    Found: ``sent``. Not found within ``[x] reconcile_grace_seconds`` of the send: still
    ``unknown`` (X's timeline lags), with the time to look again. Not found after it:
    ``failed``, and a resend is offered. A ``failed`` post that is not found stays ``failed``.
    """
    ledger = ctx.ledger
    post = ledger.get_post(post_id)
    if post is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost outbox で番号を確かめてください。")
    if post.state not in ("unknown", "sending", "failed"):
        raise InputError(
            f"投稿 #{post_id} は確認の必要がありません (状態: {post.state})。",
            hint="確認できるのは状態が unknown (不明)・sending (送信中)・failed (失敗) の投稿です。",
        )
    if post.state == "sending" and post.updated_at > ctx.now() - timedelta(seconds=2 * ctx.settings.x.timeout_seconds):
        raise InputError(
            f"投稿 #{post_id} はいま送信中です。",
            hint=f"{int(2 * ctx.settings.x.timeout_seconds)} 秒ほど待ってから、もう一度確かめてください。",
        )
    _require_same_account(ctx, post, "resolve")
    ids = _find_on_timeline(ctx, post)
    if len(ids) == len(post.parts):
        url = _record_found(ctx, post, ids)
        return Reconciliation(post_id, True, tuple(ids), f"投稿 #{post_id} はタイムラインにありました。送信済みにしました: {url}",
                              state="sent")
    resend_hint = f"届いていないので、再送できます: dutypost outbox resend {post_id}"
    if post.state == "failed":
        return Reconciliation(post_id, False, tuple(post.x_post_ids),
                              f"投稿 #{post_id} はタイムラインにありませんでした。{resend_hint}", state="failed")
    look_again_at = _sent_at(ctx, post) + timedelta(seconds=ctx.settings.x.reconcile_grace_seconds)
    if ctx.now() < look_again_at:
        from dutypost.core.templates import format_jst_time

        if post.state == "sending":
            ledger.set_state(post_id, "unknown", x_post_ids=ids, error="タイムラインにまだ見つかりません (X の反映待ちの可能性があります)。",
                             operator=ctx.operator.id)
        at = format_jst_time(look_again_at)
        return Reconciliation(
            post_id, False, tuple(ids),
            f"投稿 #{post_id} はまだ見つかりません。X の反映待ちの可能性があります。再送はしないでください。"
            f"{at}以降にもう一度 dutypost outbox resolve {post_id} で確認してください。",
            state="unknown", look_again_at=look_again_at,
        )
    ledger.set_state(post_id, "failed", x_post_ids=ids,
                     error="タイムラインに見つかりませんでした (X に届いていません)。", operator=ctx.operator.id)
    return Reconciliation(post_id, False, tuple(ids), f"投稿 #{post_id} はタイムラインにありませんでした。{resend_hint}",
                          state="failed")


def resend_composition(ctx: DutyContext, post) -> Composition:
    """The ledger's post as the gate sees it again: its text and parts, what its
    template says (emergency, expected rules, 訓練専用, category) and the issuing department
    (情報配信部署) it was recorded under."""
    template = ctx.templates.get(post.template_id) if post.template_id else None
    return Composition(
        text=post.text,
        parts=tuple(post.parts),
        template_id=post.template_id,
        emergency=bool(template and template.emergency),
        threads_allowed=bool(template and template.threads) or len(post.parts) > 1,
        expects=frozenset(template.expects) if template else frozenset(),
        drill_only=bool(template and template.drill_only),
        category=template.category if template else None,
        department=post.department,
    )


def _require_same_account(ctx: DutyContext, post, command: str) -> None:
    """A post is looked for and resent on the account it was written for, never another."""
    if post.account and post.account != ctx.account.id:
        raise InputError(
            f"投稿 #{post.id} はアカウント {post.account} の投稿です (いま選んでいるのは {ctx.account.id})。",
            hint=f"dutypost --account {post.account} outbox {command} {post.id} を実行してください。",
        )


def _carried_approval(post) -> Approval | None:
    """The approval given before the first attempt (not a 事後承認), for the resend's gate."""
    given = post.approval
    if not given or given.get("post_hoc"):
        return None
    return Approval(approver_id=given["approver"], method=given["method"], at=given["at"])


def review_resend(
    ctx: DutyContext,
    post_id: int,
    *,
    approval: Approval | None = None,
    override: Override | None = None,
    acks: Iterable[str] = (),
    now: datetime | None = None,
) -> Review:
    """The gate on a resend, at the moment of resending: role (the resending operator),
    hours (lifted only by a new override), approval (the first one, or a new one) and the
    content checks — a 「○時○分現在」 gone stale needs its own acknowledgement now.
    Without ``override``, the resending operator's active override session applies."""
    post = ctx.ledger.get_post(post_id)
    if post is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost outbox で番号を確かめてください。")
    _require_same_account(ctx, post, "resend")
    kept = set(post.acks) - MOMENT_RULES
    result = review(ctx, resend_composition(ctx, post), approval=approval or _carried_approval(post),
                    override=override, acks=kept | set(acks), now=now)
    return replace(result, same_template=None)  # the same-template warning would name this very post


def resend(
    ctx: DutyContext,
    post_id: int,
    *,
    approval: Approval | None = None,
    override: Override | None = None,
    acks: Iterable[str] = (),
    now: datetime | None = None,
) -> PublishResult:
    """Send a ``failed`` post again: a resend is a publish (issue 17).

    First the timeline, as a resolve does (a post X stored after all is recorded ``sent``
    and not sent again); then the whole gate at this moment (:func:`review_resend`); the
    audit event ``post.resend`` names who resent it. A resend X refuses as a duplicate
    proves the first one is there: it is looked up and recorded ``sent``. An ``unknown``
    post must be resolved first.
    """
    now = now or ctx.now()
    post = ctx.ledger.get_post(post_id)
    if post is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost outbox で番号を確かめてください。")
    if post.state in ("unknown", "sending"):
        raise InputError(
            f"投稿 #{post_id} は X に届いたかどうか分かりません。再送すると二重投稿になるおそれがあります。",
            hint=f"先に dutypost outbox resolve {post_id} でタイムラインを確かめてください。",
        )
    if post.state != "failed":
        raise InputError(f"投稿 #{post_id} は再送できません (状態: {post.state})。")
    if post.drill != ctx.drill:
        mode = "訓練" if post.drill else "本番"
        raise InputError(f"投稿 #{post_id} は{mode}の投稿です。{mode}モードで再送してください。",
                         hint="訓練の投稿は --drill を付けて、本番の投稿は付けずに操作します。")
    _require_same_account(ctx, post, "resend")
    ids = _find_on_timeline(ctx, post)
    if len(ids) == len(post.parts):
        url = _record_found(ctx, post, ids)
        return PublishResult(post_id=post_id, url=url, x_post_ids=tuple(ids), found_on_timeline=True)
    result = review_resend(ctx, post_id, approval=approval, override=override, acks=acks, now=now)
    if not result.allowed:
        headline, _, details = result.explain(for_cli=True).partition("\n")
        blocked = GateBlocked(f"投稿 #{post_id} は再送できません。{headline}", hint=details)
        blocked.review = result
        raise blocked
    override = result.override  # the one given, else the resending operator's active session's
    ledger = ctx.ledger
    if approval is not None and result.decision.approval_problem is None:
        ledger.record_approval(post_id, approver=approval.approver_id, method=approval.method,
                               at=approval.at, recorded_by=ctx.operator.id)
    if override is not None and result.decision.lifted and post.override is None:
        ledger.record_override(post_id, operator=ctx.operator.id, category=override.category,
                               reason=override.reason, lifted=list(result.decision.lifted),
                               session_id=override.session_id)
    ledger.append_event(operator=ctx.operator.id, kind="post.resend", post_id=post_id, payload={
        "resent_by": ctx.operator.id,
        "first_sent_by": post.operator,
        "acks": sorted(result.acks),
        "lifted": list(result.decision.lifted),
        "override": ({"category": override.category, "reason": override.reason,
                      **({"session_id": override.session_id} if override.session_id is not None else {})}
                     if override is not None and result.decision.lifted else None),
        "approval": ({"approver": (approval or _carried_approval(post)).approver_id,
                      "method": (approval or _carried_approval(post)).method}
                     if result.decision.approval_problem is None else None),
    })
    reply_to = fallback_text = None
    if post.reply_to_post_id is not None and not post.x_post_ids:
        from dutypost.core.checklists import standalone_fallback_text

        reply_to = _reply_target(ctx, post.reply_to_post_id)
        fallback_text = standalone_fallback_text(ctx.ledger, post.reply_to_post_id, post.parts[0], templates=ctx.templates)
    return _send(ctx, post_id, list(post.parts), sent=ids, reply_to=reply_to,
                 fallback_text=fallback_text, duplicate_is_evidence=True)


def cancel(ctx: DutyContext, post_id: int, reason: str) -> None:
    """Take a ``failed`` or ``queued`` post out of the outbox (取消), e.g. after the officer
    posted it from a phone while X could not be reached. The reason is recorded."""
    post = ctx.ledger.get_post(post_id)
    if post is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost outbox で番号を確かめてください。")
    if post.state in ("unknown", "sending"):
        raise InputError(
            f"投稿 #{post_id} は X に届いたかどうか分かりません。取り消す前に確かめてください。",
            hint=f"dutypost outbox resolve {post_id} でタイムラインを確かめてください。",
        )
    if post.state not in ("failed", "queued"):
        raise InputError(f"投稿 #{post_id} は取り消せません (状態: {post.state})。")
    if len(reason.strip()) < 4:
        raise InputError("取り消す理由を書いてください (例: 「スマートフォンから投稿したため」)。")
    ctx.ledger.set_state(post_id, "cancelled", error=f"取消: {reason.strip()}", operator=ctx.operator.id)
