"""The ``dutypost`` command line (SPEC §10 — stable: tests and automation rely on it).

With no command it starts the TUI. Every failure reaches the user as a Japanese message
and an exit code (0 done, 1 unexpected, 2 bad input/config, 3 gate, 4 publish failed,
5 outcome unknown); tracebacks go to the log file, never to the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Sequence

from dutypost.core.errors import DutypostError, InputError

EXIT_OK, EXIT_UNEXPECTED = 0, 1


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes in Japanese through InputError (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(
            f"コマンドの指定に誤りがあります: {message}",
            hint=f"使い方: {self.format_usage().strip().removeprefix('usage: ')}\n詳しくは {self.prog} --help を見てください。",
        )


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line. Starting the screen takes only the top-level options, so
    the other commands' parsers (milliseconds of start-up, issue 4) are built only when
    the line has something else on it, or asks for help."""
    words = sys.argv[1:] if argv is None else list(argv)
    if not {"-h", "--help"} & set(words):
        args, rest = _parser(commands=False).parse_known_args(words)
        if not rest:
            args.command = None
            return args
    return _parser().parse_args(words)


def _parser(*, commands: bool = True) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="設定ファイル (既定: DUTYPOST_CONFIG か設定ディレクトリ)")
    common.add_argument("--operator", metavar="ID", default=argparse.SUPPRESS, help="職員 ID (SSH のサービスアカウントでだけ有効)")

    p = _Parser(prog="dutypost", parents=[common], description="防災情報を X の公式アカウントに投稿する当直用ツール")
    p.add_argument("--drill", action="store_true", help="訓練モード (【訓練】を付け、練習サーバーか訓練用アカウントに投稿)")
    p.add_argument("--demo", action="store_true", help="内蔵の設定と練習サーバーで訓練モードを試す (認証情報は不要)")
    p.add_argument("--slow-link", action="store_true", help="低速回線モード (低 FPS・マウスなし・ansi テーマ)")
    if not commands:
        return p
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help, description=help)

    t = add("templates", "テンプレートの一覧と検査")
    tsub = t.add_subparsers(dest="templates_command", required=True, metavar="list|check", parser_class=_Parser)
    tl = tsub.add_parser("list", parents=[common], help="テンプレートの一覧")
    tl.add_argument("--json", action="store_true")
    tc = tsub.add_parser("check", parents=[common], help="テンプレートファイルを検査")
    tc.add_argument("dir", nargs="?", type=Path)

    r = add("render", "テンプレートに値を入れて本文を表示 (投稿はしない)")
    r.add_argument("template")
    r.add_argument("--set", dest="values", action="append", default=[], metavar="NAME=VALUE")
    r.add_argument("--json", action="store_true")
    r.add_argument("--drill", action="store_true", default=argparse.SUPPRESS)

    c = add("count", "X の重み付き文字数を数える")
    c.add_argument("text", nargs="?")
    c.add_argument("--json", action="store_true")

    po = add("post", "テンプレートから投稿する (画面と同じ投稿前チェックを通る)")
    po.add_argument("template")
    po.add_argument("--set", dest="values", action="append", default=[], metavar="NAME=VALUE")
    po.add_argument("--approver", metavar="ID")
    po.add_argument("--approval-method", choices=["phone", "in-person"])
    po.add_argument("--override", metavar="CATEGORY")
    po.add_argument("--reason", metavar="TEXT")
    po.add_argument("--ack", action="append", default=[], metavar="RULE")
    po.add_argument("--json", action="store_true")
    po.add_argument("--drill", action="store_true", default=argparse.SUPPRESS)

    h = add("history", "投稿の履歴")
    h.add_argument("--json", action="store_true")
    h.add_argument("--state")
    h.add_argument("--template")
    h.add_argument("--by", dest="by_operator", metavar="OPERATOR")
    h.add_argument("--limit", type=int, default=50)

    o = add("outbox", "送信待ち・失敗・不明の投稿")
    o.add_argument("--json", action="store_true")
    osub = o.add_subparsers(dest="outbox_command", metavar="resolve|resend|cancel", parser_class=_Parser)
    ores = osub.add_parser("resolve", parents=[common], help="結果が不明な投稿をタイムラインで確かめる")
    ores.add_argument("post_id", type=int)
    orsd = osub.add_parser("resend", parents=[common], help="失敗した投稿を再送する")
    orsd.add_argument("post_id", type=int)
    ocan = osub.add_parser("cancel", parents=[common], help="失敗した投稿を送信待ちから外す (別の手段で投稿したときなど)")
    ocan.add_argument("post_id", type=int)
    ocan.add_argument("--reason", required=True, metavar="TEXT")

    a = add("audit", "監査記録の検証と書き出し")
    asub = a.add_subparsers(dest="audit_command", required=True, metavar="verify|export", parser_class=_Parser)
    asub.add_parser("verify", parents=[common], help="監査記録のハッシュ連鎖を検証")
    ae = asub.add_parser("export", parents=[common], help="監査記録を書き出す")
    ae.add_argument("--json", action="store_true")

    lg = add("ledger", "記録ファイルのバックアップと復元")
    lsub = lg.add_subparsers(dest="ledger_command", required=True, metavar="backup|restore", parser_class=_Parser)
    lb = lsub.add_parser("backup", parents=[common], help="記録ファイルの一貫したコピーを作る (使用中でもよい)")
    lb.add_argument("path", type=Path, metavar="PATH", help="コピーの保存先 (ファイルかフォルダー)")
    lr = lsub.add_parser("restore", parents=[common], help="バックアップを検査してから記録ファイルと入れ替える")
    lr.add_argument("path", type=Path, metavar="PATH", help="dutypost ledger backup で作ったファイル")

    fm = add("form", "様式第1号 (ツイッター情報更新伺) を書き出す")
    fm.add_argument("post_id", type=int)
    fm.add_argument("--format", dest="fmt", choices=["md", "html", "csv"], default="md")
    fm.add_argument("--mail-linked", action="store_true", help="メール配信サービスとも連携して配信した (第7条(3))")

    add("auth", "PIN で X にログインし、秘密情報ファイルを作る")

    cf = add("config", "設定の検査")
    csub = cf.add_subparsers(dest="config_command", required=True, metavar="check|path", parser_class=_Parser)
    csub.add_parser("check", parents=[common], help="設定ファイルを検査")
    csub.add_parser("path", parents=[common], help="使われる設定ファイルの場所を表示")

    ps = add("practice-server", "訓練と試験のための練習用 X API サーバー")
    ps.add_argument("--host", default="127.0.0.1")
    ps.add_argument("--port", type=int, default=8787)
    ps.add_argument("--state", type=Path, metavar="FILE", help="受け付けた投稿を保存する JSON ファイル")
    return p


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _parse_values(pairs: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set {pair!r} の形が正しくありません。", hint="--set 項目名=値 の形で指定してください (例: --set area=本郷地区)。")
        values[name.strip()] = value
    return values


def _settings_for_reading(args, *, quiet: bool = False):
    """Settings for commands that only read: fall back to the example town if none exists."""
    from dutypost.core.config import EXAMPLE_CONFIG, load_settings, resolve_config_path

    explicit = getattr(args, "config", None) or os.environ.get("DUTYPOST_CONFIG")
    path = resolve_config_path(getattr(args, "config", None))
    if not explicit and not path.exists():
        if not quiet:
            print(f"(設定ファイル {path} がないため、例の設定 {EXAMPLE_CONFIG.name} を使います)", file=sys.stderr)
        path = EXAMPLE_CONFIG
    return load_settings(path)


def _context(args):
    from dutypost.core.context import build_context

    return build_context(getattr(args, "config", None), operator_id=getattr(args, "operator", None),
                         drill=bool(getattr(args, "drill", False)))


def _template(templates, template_id: str):
    template = templates.get(template_id)
    if template is None:
        ids = ", ".join(t.id for t in templates.templates)
        raise InputError(f"テンプレート {template_id!r} はありません。", hint=f"dutypost templates list で一覧を見てください。使える id: {ids}")
    return template


def _report_json(composition, decision_findings, in_hours: bool, max_length: int) -> dict:
    return {
        "text": composition.text,
        "parts": list(composition.parts),
        "weighted_length": composition.weighted_length,
        "max": max_length,
        "in_hours": in_hours,
        "findings": [f.as_json() for f in decision_findings],
    }


# -- commands ----------------------------------------------------------------


def cmd_templates(args) -> int:
    from dutypost.core.templates import bundled_dirs, describe, load_templates

    if args.templates_command == "check":
        settings = None if args.dir else _settings_for_reading(args)
        dirs = [args.dir] if args.dir else bundled_dirs(settings)
        for d in dirs:
            if not d.is_dir():
                raise InputError(f"テンプレートのディレクトリ {d} がありません。")
        result = load_templates(dirs, fresh=True)
        for err in result.errors:
            where = f"{err.path}:{err.line}" if err.line else str(err.path)
            print(f"{where}: {err.message}", file=sys.stderr)
        print(f"{len(result.templates)} 件のテンプレートを読み込みました。誤り {len(result.errors)} 件。")
        return 2 if result.errors else 0
    settings = _settings_for_reading(args)
    result = load_templates(bundled_dirs(settings))
    for err in result.errors:
        where = f"{err.path}:{err.line}" if err.line else str(err.path)
        print(f"警告: {where}: {err.message}", file=sys.stderr)
    if args.json:
        _print_json([describe(t) for t in result.templates])
        return 0
    category = None
    for t in result.templates:
        if t.category != category:
            category = t.category
            print(f"■ {category}")
        mark = " [緊急]" if t.emergency else ""
        print(f"  {t.id:<24} {t.title}{mark}")
    return 0


def cmd_render(args) -> int:
    from dutypost.core.context import DutyContext
    from dutypost.core.gate import ContentContext, check_content, hours_status
    from dutypost.core.publish import compose
    from dutypost.core.templates import bundled_dirs, load_templates

    settings = _settings_for_reading(args)
    drill = bool(getattr(args, "drill", False))
    template = _template(load_templates(bundled_dirs(settings)), args.template)
    values = _parse_values(args.values)
    ctx = DutyContext(settings=settings, operator=None, drill=drill)  # type: ignore[arg-type]  # rendering needs no operator
    now = ctx.now()
    composition = compose(ctx, template, values, now=now)
    content = ContentContext.from_settings(settings, drill=drill, emergency=template.emergency,
                                           threads_allowed=template.threads, now=now)
    findings = check_content(composition.text, content)
    in_hours = hours_status(now, settings.hours).in_hours
    if args.json:
        _print_json(_report_json(composition, findings, in_hours, settings.x.max_weighted_length))
        return 0
    for i, part in enumerate(composition.parts, 1):
        if len(composition.parts) > 1:
            print(f"--- {i}/{len(composition.parts)} ---")
        print(part)
    print(f"--- {composition.weighted_length}/{settings.x.max_weighted_length} (X の重み付き文字数)", file=sys.stderr)
    for f in findings:
        print(f"[{f.severity}] {f.rule}: {f.message}", file=sys.stderr)
    return 0


def cmd_count(args) -> int:
    from dutypost.core.length import parse

    text = args.text if args.text is not None else sys.stdin.read()
    if args.text is None:
        text = text.removesuffix("\n")
    max_length = 280
    try:
        max_length = _settings_for_reading(args, quiet=True).x.max_weighted_length
    except InputError:
        pass
    result = parse(text, max_length)
    if args.json:
        _print_json({"weighted_length": result.weighted_length, "max": result.max, "valid": result.valid})
    else:
        verdict = "投稿できます" if result.valid else "長すぎるか空です"
        print(f"{result.weighted_length}/{result.max} ({verdict})")
    return 0


def cmd_post(args) -> int:
    from dutypost.core.publish import compose, make_approval, make_override, publish, review

    ctx = _context(args)
    template = _template(ctx.templates, args.template)
    composition = compose(ctx, template, _parse_values(args.values))
    approval = override = None
    if args.approver or args.approval_method:
        if not (args.approver and args.approval_method):
            raise InputError("承認の記録には --approver と --approval-method の両方が必要です。",
                             hint="例: --approver suzuki --approval-method phone")
        approval = make_approval(ctx, args.approver, args.approval_method)
    if args.override or args.reason:
        if not (args.override and args.reason):
            raise InputError("緊急オーバーライドには --override と --reason の両方が必要です。",
                             hint='例: --override "生命・身体・財産の保護に必要な緊急情報" --reason "台風で土砂災害の危険が高まったため"')
        override = make_override(ctx, args.override, args.reason)
    # What the gate said before sending (after sending, the post would count as its own duplicate).
    before = review(ctx, composition, approval=approval, override=override, acks=args.ack) if args.json else None

    def report() -> dict:
        return _report_json(composition, before.decision.findings, before.decision.hours.in_hours,
                            ctx.settings.x.max_weighted_length)

    # A hang-up (SSH drop) must not cut a publish in half: finish it and record the outcome.
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN) if hasattr(signal, "SIGHUP") else None
    try:
        result = publish(ctx, composition, approval=approval, override=override, acks=args.ack)
    except DutypostError:
        if before is not None:
            _print_json(report())
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGHUP, previous)
    if before is not None:
        _print_json(report() | {"post_id": result.post_id, "state": "sent", "url": result.url})
    else:
        print(result.url or f"投稿 #{result.post_id} を送信しました。")
    return 0


def _print_posts(posts) -> None:
    from dutypost.core.ledger import POST_STATE_LABELS
    from dutypost.core.templates import format_jst_datetime

    if not posts:
        print("該当する投稿はありません。")
        return
    for p in posts:
        flags = []
        if p.drill:
            flags.append("訓練")
        if p.override:
            flags.append(f"オーバーライド: {p.override['category']} / 理由: {p.override['reason']}")
        if p.approval:
            flags.append(f"承認: {p.approval['approver']} ({p.approval['method']})")
        first_line = p.text.splitlines()[0] if p.text else ""
        print(f"#{p.id} [{POST_STATE_LABELS.get(p.state, p.state)}] {format_jst_datetime(p.created_at)} {p.operator} {p.template_id or '-'}")
        print(f"    {first_line}")
        if flags:
            print("    " + " | ".join(flags))
        if p.url:
            print(f"    {p.url}")
        if p.error and p.state != "sent":
            print(f"    {p.error}")


def cmd_history(args) -> int:
    ctx = _context(args)
    states = [args.state] if args.state else None
    posts = ctx.ledger.list_posts(states=states, operator=args.by_operator, template_id=args.template, limit=args.limit)
    if args.json:
        _print_json([p.as_json() for p in posts])
    else:
        _print_posts(posts)
    return 0


def cmd_outbox(args) -> int:
    from dutypost.core.publish import cancel, reconcile, resend

    ctx = _context(args)
    if args.outbox_command == "cancel":
        cancel(ctx, args.post_id, args.reason)
        print(f"投稿 #{args.post_id} を送信待ちから外しました (取消)。理由は記録に残りました。")
        return 0
    if args.outbox_command == "resolve":
        result = reconcile(ctx, args.post_id)
        print(result.message)
        return 0
    if args.outbox_command == "resend":
        previous = signal.signal(signal.SIGHUP, signal.SIG_IGN) if hasattr(signal, "SIGHUP") else None
        try:
            result = resend(ctx, args.post_id)
        finally:
            if previous is not None:
                signal.signal(signal.SIGHUP, previous)
        print(result.url or f"投稿 #{result.post_id} を送信しました。")
        return 0
    posts = ctx.ledger.outbox()
    if args.json:
        _print_json([p.as_json() for p in posts])
    else:
        _print_posts(posts)
    return 0


def _progress_line(what: str):
    """A progress line on stderr when it is a terminal (else None: nothing is printed)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\r{what} {done:,} / {total:,} 件", end=end, file=sys.stderr, flush=True)

    return show


def cmd_audit(args) -> int:
    ctx = _context(args)
    if args.audit_command == "verify":
        from dutypost.core.ledger import LedgerError
        from dutypost.core.ledger.connection import RESTORE_HINT

        problems = ctx.ledger.integrity_problems()
        if problems:
            raise LedgerError(f"記録ファイル {ctx.ledger.path} が壊れています (integrity_check: {problems[0]})。",
                              hint=RESTORE_HINT, path=ctx.ledger.path)
        result = ctx.ledger.verify(progress=_progress_line("監査記録を確認しています"))
        print(result.reason if not result.ok else f"監査記録は改ざんされていません ({result.checked} 件を確認)。")
        return 0 if result.ok else 1
    events = ctx.ledger.export()
    if args.json:
        _print_json(events)
    else:
        for e in events:
            print(f"#{e['id']} {e['at']} {e['operator']} {e['kind']} post={e.get('post_id')} {json.dumps(e['payload'], ensure_ascii=False)}")
    return 0


def cmd_ledger(args) -> int:
    from dutypost.core.config import load_settings, resolve_config_path
    from dutypost.core.ledger.backup import backup, restore

    settings = load_settings(resolve_config_path(getattr(args, "config", None)))
    ledger_path = settings.ledger.path
    if args.ledger_command == "backup":
        copy = backup(ledger_path, args.path)
        print(f"記録ファイル {ledger_path} のバックアップを {copy} に作りました。")
        return 0
    result = restore(ledger_path, args.path)
    kept = f"元の記録ファイルは {result.kept} に残しました。" if result.kept else ""
    print(f"バックアップ {result.restored_from} を検査し (監査記録 {result.events} 件、改ざんなし)、"
          f"記録ファイル {ledger_path} に戻しました。{kept}")
    print("バックアップより後の投稿と操作は、この記録にありません。X のアカウントの投稿と照らし合わせてください。", file=sys.stderr)
    return 0


def cmd_form(args) -> int:
    from dutypost.core.form import form_data, render

    ctx = _context(args)
    sys.stdout.write(render(form_data(ctx.ledger, ctx.settings, args.post_id, mail_linked=args.mail_linked,
                                    templates=ctx.templates), args.fmt))
    return 0


def cmd_auth(args) -> int:
    from dutypost.core.auth import pin_login
    from dutypost.core.config import load_settings, resolve_config_path, secrets_path, write_secrets

    settings = load_settings(resolve_config_path(getattr(args, "config", None)))
    base = settings.api_base_url(bool(getattr(args, "drill", False)))
    if not sys.stdin.isatty():
        raise InputError("dutypost auth は端末から対話的に実行してください (PIN を入力します)。")
    import getpass

    consumer_key = os.environ.get("DUTYPOST_X__CONSUMER_KEY") or input("API Key (consumer key): ").strip()
    consumer_secret = os.environ.get("DUTYPOST_X__CONSUMER_SECRET") or getpass.getpass("API Key Secret (consumer secret): ").strip()

    def ask_pin(url: str) -> str:
        print("次の URL をブラウザ (スマートフォン可) で開き、アカウントでログインして表示される PIN を入力してください:")
        print(url)
        return input("PIN: ").strip()

    tokens = pin_login(base, consumer_key, consumer_secret, ask_pin=ask_pin, timeout=settings.x.timeout_seconds)
    path = secrets_path(settings)
    write_secrets(path, {k: tokens[k] for k in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")})
    print(f"ログインしました (@{tokens.get('screen_name', '?')})。秘密情報を {path} (権限 0600) に保存しました。")
    return 0


def cmd_config(args) -> int:
    from dutypost.core.config import load_settings, resolve_config_path

    path = resolve_config_path(getattr(args, "config", None))
    if args.config_command == "path":
        print(path)
        return 0
    settings = load_settings(path, fresh=True)
    print(f"{path}: 設定に誤りはありません。所属 {len(settings.departments)}、職員 {len(settings.operators)}、"
          f"地区 {len(settings.lists.areas)}、避難所 {len(settings.lists.shelters)}。")
    return 0


def cmd_practice_server(args) -> int:
    from dutypost.core.practice_server import serve

    serve(args.host, args.port, state_file=args.state)
    return 0


def cmd_tui(args) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError(
            "画面を表示する端末がありません。",
            hint="端末から起動してください。SSH では ssh -t で接続します (~/.ssh/config なら RequestTTY yes)。\n"
                 "(admin) No terminal on stdin/stdout; connect with ssh -t.",
        )
    if args.demo:
        from dutypost.core.demo import demo_context

        ctx, server = demo_context()
        settings = ctx.settings
    else:
        ctx = _context(args)
        settings, server = ctx.settings, None
    from dutypost.core.encoding import locale_problem

    problem = locale_problem()
    if problem:
        print(problem, file=sys.stderr)
        ctx.notices.append(problem.splitlines()[0])
    from dutypost.tui.terminal import prepare_terminal  # sets env vars; does not import textual

    prepare_terminal(settings.tui, slow_link=args.slow_link)
    from dutypost.tui.app import run

    try:
        return run(ctx, slow_link=args.slow_link or settings.tui.slow_link)
    finally:
        ctx.close()
        if server is not None:
            server.stop()


COMMANDS = {
    "templates": cmd_templates,
    "render": cmd_render,
    "count": cmd_count,
    "post": cmd_post,
    "history": cmd_history,
    "outbox": cmd_outbox,
    "audit": cmd_audit,
    "ledger": cmd_ledger,
    "form": cmd_form,
    "auth": cmd_auth,
    "config": cmd_config,
    "practice-server": cmd_practice_server,
}


def _log_unexpected(exc: BaseException) -> Path | None:
    import traceback

    from platformdirs import user_state_path

    try:
        path = user_state_path("dutypost") / "dutypost.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc)))
        return path
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the real entry point, not a test calling main() in-process
        from dutypost.core.encoding import ensure_utf8_mode

        ensure_utf8_mode()
    try:
        args = _parse(argv)
        handler = COMMANDS.get(args.command or "", cmd_tui)
        code = handler(args)
    except DutypostError as exc:
        print(f"エラー: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(exc.hint, file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("中断しました。", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        code = EXIT_OK
    except Exception as exc:  # the last line of defence: no traceback reaches the user
        log = _log_unexpected(exc)
        where = f" 詳細は {log} に記録しました。" if log else ""
        print(f"予期しないエラーが起きました ({type(exc).__name__})。{where}", file=sys.stderr)
        print("運用管理者に連絡してください。(admin) Unexpected error; see the log file.", file=sys.stderr)
        code = EXIT_UNEXPECTED
    return code


if __name__ == "__main__":
    sys.exit(main())
