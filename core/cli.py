"""The ``dutypost`` command line (SPEC §10 — stable: tests and automation rely on it).

With no command it starts the TUI. Every failure reaches the user as a Japanese message
and an exit code (0 done, 1 unexpected, 2 bad input/config or a file that cannot be
written, 3 gate, 4 publish failed, 5 outcome unknown, 6 tampering detected); tracebacks go
to the log file (created 0600), never to the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Sequence

from dutypost.core.errors import DutypostError, InputError, OutcomeUnknown

EXIT_OK, EXIT_UNEXPECTED = 0, 1
EXIT_UNKNOWN = OutcomeUnknown.exit_code  # 5: `outbox resolve` did not find the post yet


#: argparse's own words in Japanese. argparse looks each one up through ``gettext``
#: (``argparse._``); :func:`_japanese` answers from this table and falls back to English.
ARGPARSE_WORDS = {
    "usage: ": "使い方: ",
    "positional arguments": "引数",
    "options": "オプション",
    "show this help message and exit": "このヘルプを表示して終了",
    "the following arguments are required: %s": "次の指定が必要です: %s",
    "unrecognized arguments: %s": "知らない指定です: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "%(value)r は選べません (選べるもの: %(choices)s)",
    "argument %(argument_name)s: %(message)s": "%(argument_name)s: %(message)s",
    "expected one argument": "値が 1 つ必要です",
    "expected at least one argument": "値が 1 つ以上必要です",
    "expected at most one argument": "値は 1 つまでです",
    "invalid %(type)s value: %(value)r": "%(value)r は正しい値ではありません (%(type)s)",
    "ambiguous option: %(option)s could match %(matches)s": "%(option)s はどれのことか分かりません: %(matches)s",
    "not allowed with argument %s": "%s と一緒には使えません",
    "one of the arguments %s is required": "%s のどれかが必要です",
    "ignored explicit argument %r": "%r は使われません",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "%(parser_name)r というコマンドはありません (使えるもの: %(choices)s)",
    "%(prog)s: error: %(message)s\n": "%(prog)s: エラー: %(message)s\n",
}


def _japanese(message: str) -> str:
    return ARGPARSE_WORDS.get(message, message)


def _japanese_n(singular: str, plural: str, n: int) -> str:
    if singular == "expected %s argument":
        return "値が %s 個必要です"
    return singular if n == 1 else plural


argparse._ = _japanese  # type: ignore[attr-defined]  # the gettext lookup argparse makes
argparse.ngettext = _japanese_n  # type: ignore[attr-defined]


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes in Japanese through InputError (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(
            f"コマンドの指定に誤りがあります: {message}",
            hint=f"使い方: {self.format_usage().strip().removeprefix(ARGPARSE_WORDS['usage: '])}\n詳しくは {self.prog} --help を見てください。",
        )


class _ImageAction(argparse.Action):
    """``--image PATH --alt TEXT`` (repeatable): each ``--alt`` belongs to the ``--image``
    before it. Collected as ``[[path, alt | None], …]`` in ``args.images``; the pairs are
    checked by :func:`_image_pairs`."""

    def __call__(self, parser, namespace, value, option_string=None) -> None:
        pairs = list(getattr(namespace, self.dest, None) or [])
        if option_string == "--image":
            pairs.append([value, None])
        elif not pairs or pairs[-1][1] is not None:
            raise InputError(f"--alt {value!r} の前に、その画像の --image がありません。",
                             hint="画像ごとに --image パス --alt 代替テキスト の順で指定してください。")
        else:
            pairs[-1][1] = value
        setattr(namespace, self.dest, pairs)


def _image_pairs(pairs) -> list[tuple[str, str]]:
    """The ``--image``/``--alt`` pairs; an image without its alt text is exit 2, naming it."""
    for path, alt in pairs or []:
        if alt is None or not alt.strip():
            raise InputError(f"--image {path} に代替テキスト (--alt) がありません。",
                             hint=f"例: --image {path} --alt \"本郷地区の避難所の地図\" (画像の内容を言葉で書きます)")
    return [(path, alt) for path, alt in pairs or []]


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line. Starting the screen takes only the top-level options, so
    the other commands' parsers (milliseconds of start-up, issue 4) are built only when
    the line has something else on it, or asks for help."""
    words = sys.argv[1:] if argv is None else list(argv)
    if argv is None and "_ARGCOMPLETE" in os.environ:
        _complete()
    if not {"-h", "--help"} & set(words):
        args, rest = _parser(commands=False).parse_known_args(words)
        if not rest:
            args.command = None
            return args
    return _parser().parse_args(words)


def _complete() -> None:
    """Shell completion (Tab), asked for by the shell through ``_ARGCOMPLETE``: argcomplete
    (the extra ``dutypost[completion]``) answers from the full parser and ends the process.
    Without argcomplete installed, nothing is completed."""
    try:
        import argcomplete
    except ImportError:
        sys.exit(1)
    argcomplete.autocomplete(_parser())


class _Version(argparse.Action):
    """``--version``: the installed distribution's version, looked up only when asked for
    (importlib.metadata is not on the way to the first screen)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("dutypost")
        except PackageNotFoundError:  # run from a checkout that was never installed
            number = "(インストールされていません)"
        print(f"dutypost {number}")
        parser.exit(0)


def _parser(*, commands: bool = True) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="設定ファイル (既定: DUTYPOST_CONFIG か設定ディレクトリ)")
    common.add_argument("--operator", metavar="ID", default=argparse.SUPPRESS, help="職員 ID (SSH のサービスアカウントでだけ有効)")
    common.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                        help="内蔵の設定と練習サーバーで訓練モードを試す (認証情報は不要)")
    common.add_argument("--account", metavar="ID", default=argparse.SUPPRESS,
                        help="投稿するアカウント ([[accounts]] の id。既定: 最初の公式アカウント)")

    p = _Parser(prog="dutypost", parents=[common], description="防災情報を X の公式アカウントに投稿する当直用ツール")
    p.add_argument("--drill", action="store_true", help="訓練モード (【訓練】を付け、練習サーバーか訓練用アカウントに投稿)")
    p.add_argument("--slow-link", action="store_true", help="低速回線モード (低 FPS・マウスなし・ansi テーマ)")
    p.add_argument("--version", action=_Version, help="バージョンを表示して終了")
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
    r.add_argument("--with-versions", action="store_true",
                    help="テンプレートの版 (やさしい日本語・English) を、続きのスレッドとして足す")

    c = add("count", "X の重み付き文字数を数える")
    c.add_argument("text", nargs="?")
    c.add_argument("--json", action="store_true")

    ck = add("check", "任意の本文に投稿前チェック (本文の検査) をかける (投稿はしない)。問題なければ 0、止まるなら 3")
    ck.add_argument("text", nargs="?", help="検査する本文 (省略すると標準入力から読みます)")
    ck.add_argument("--template", metavar="ID", help="このテンプレートの投稿として検査 (既定: 緊急情報の投稿)")
    ck.add_argument("--json", action="store_true")
    ck.add_argument("--drill", action="store_true", default=argparse.SUPPRESS)

    po = add("post", "テンプレートから投稿する (画面と同じ投稿前チェックを通る)")
    po.add_argument("template")
    po.add_argument("--set", dest="values", action="append", default=[], metavar="NAME=VALUE")
    po.add_argument("--approver", metavar="ID")
    po.add_argument("--approval-method", choices=["phone", "in-person"])
    po.add_argument("--override", metavar="CATEGORY")
    po.add_argument("--reason", metavar="TEXT")
    po.add_argument("--department", metavar="NAME",
                    help="情報を発信する所属 (別表第1 の [[departments]] の name)。承認はその所属の承認者 (既定: テンプレートの指定か自分の所属)")
    po.add_argument("--ack", action="append", default=[], metavar="RULE")
    po.add_argument("--image", dest="images", action=_ImageAction, default=[], metavar="PATH",
                    help="画像 (PNG/JPEG、4 枚まで)。それぞれの後に --alt で代替テキストを付けます")
    po.add_argument("--alt", dest="images", action=_ImageAction, metavar="TEXT", help="直前の --image の代替テキスト")
    po.add_argument("--json", action="store_true")
    po.add_argument("--drill", action="store_true", default=argparse.SUPPRESS)
    po.add_argument("--with-versions", action="store_true",
                    help="テンプレートの版 (やさしい日本語・English) を、続きのスレッドとして足す"
                         " (版だけの項目は --set area_en=… のように指定)")

    ov = add("override", "緊急オーバーライドの時間枠 (一晩など、最長 12 時間。投稿ごとに事後承認が必要)")
    ovsub = ov.add_subparsers(dest="override_command", required=True, metavar="start|end|status", parser_class=_Parser)
    ovs = ovsub.add_parser("start", parents=[common], help="時間枠を始める: この間の自分の投稿に区分と理由を使う")
    ovs.add_argument("--category", required=True, metavar="CATEGORY")
    ovs.add_argument("--reason", required=True, metavar="TEXT")
    ovs.add_argument("--hours", required=True, type=float, metavar="N", help="何時間続けるか (12 まで)")
    ovs.add_argument("--drill", action="store_true", default=argparse.SUPPRESS)
    ove = ovsub.add_parser("end", parents=[common], help="時間枠を早めに終える")
    ove.add_argument("--drill", action="store_true", default=argparse.SUPPRESS)
    ovst = ovsub.add_parser("status", parents=[common], help="いま使っている時間枠")
    ovst.add_argument("--json", action="store_true")
    ovst.add_argument("--drill", action="store_true", default=argparse.SUPPRESS)

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
    orsd = osub.add_parser("resend", parents=[common],
                           help="失敗した投稿を再送する (先にタイムラインを確かめ、その時点の投稿前チェックを通る)")
    orsd.add_argument("post_id", type=int)
    orsd.add_argument("--approver", metavar="ID")
    orsd.add_argument("--approval-method", choices=["phone", "in-person"])
    orsd.add_argument("--override", metavar="CATEGORY")
    orsd.add_argument("--reason", metavar="TEXT")
    orsd.add_argument("--ack", action="append", default=[], metavar="RULE")
    ocan = osub.add_parser("cancel", parents=[common], help="失敗した投稿を送信待ちから外す (別の手段で投稿したときなど)")
    ocan.add_argument("post_id", type=int)
    ocan.add_argument("--reason", required=True, metavar="TEXT")

    a = add("audit", "監査記録の検証と書き出し")
    asub = a.add_subparsers(dest="audit_command", required=True, metavar="verify|head|export", parser_class=_Parser)
    av = asub.add_parser("verify", parents=[common],
                         help="監査記録のハッシュ連鎖と、投稿・承認・緊急オーバーライドの行を検証 (改ざんは終了コード 6)")
    av.add_argument("--anchor", dest="anchors", action="append", default=[], metavar="ID:HASH",
                    help="別に控えておいた末尾 (dutypost audit head の出力) と照らし合わせる (繰り返し可)")
    ahd = asub.add_parser("head", parents=[common], help="監査記録の末尾 (番号:ハッシュ) を表示。別の場所に控えておく")
    ahd.add_argument("--json", action="store_true")
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

    st = add("status", "発令中の一覧 (発令して、まだ解除していない避難情報・避難所・通行止めなど)")
    st.add_argument("--json", action="store_true")
    st.add_argument("--drill", action="store_true", default=argparse.SUPPRESS, help="訓練の投稿の発令中")

    ho = add("handover", "引き継ぎ (投稿・発令中・送信待ち・事後承認待ち・未完了のチェックリスト) を書き出す")
    ho.add_argument("--format", dest="fmt", choices=["md", "html"], default="md")
    ho.add_argument("--since", metavar="TIME", help="この時刻以降の投稿 (例: 2026-09-01T08:30、12h)。既定: 12 時間前から")
    ho.add_argument("--drill", action="store_true", default=argparse.SUPPRESS, help="訓練の投稿の引き継ぎ")

    add("auth", "PIN で X にログインし、秘密情報ファイルを作る")

    cf = add("config", "設定の検査")
    csub = cf.add_subparsers(dest="config_command", required=True, metavar="check|path|init", parser_class=_Parser)
    csub.add_parser("check", parents=[common], help="設定ファイルを検査")
    ci = csub.add_parser("init", parents=[common], help="例の設定から自治体の設定ファイルを作る (--config か既定の場所)")
    ci.add_argument("--municipality", required=True, metavar="NAME", help="自治体名 (例: 流山市)")
    ci.add_argument("--kind", choices=["町", "市", "村", "区"], help="町・市・村・区 (既定: 自治体名の最後の文字)")
    ci.add_argument("--force", action="store_true", help="今ある設定ファイルを上書きする")
    csub.add_parser("path", parents=[common], help="使われる設定ファイルの場所を表示")

    sb = add("standby", "予備機 (待機系) への記録の複製 (Litestream、追加パッケージ dutypost[standby])")
    sbsub = sb.add_subparsers(dest="standby_command", required=True, metavar="replicate|status|restore", parser_class=_Parser)
    sbsub.add_parser("replicate", parents=[common], help="記録を複製先に送り続ける (前面で動く。systemd から起動)")
    sbs = sbsub.add_parser("status", parents=[common], help="複製がどれだけ遅れているか")
    sbs.add_argument("--json", action="store_true")
    sbr = sbsub.add_parser("restore", parents=[common], help="予備機で最新の複製から記録を復元し、監査記録を確かめる")
    sbr.add_argument("--to", type=Path, metavar="PATH", help="復元先 (既定: 設定の [ledger] path。今ある記録は名前を変えて残す)")

    rc = add("recover", "X にあって (復元した) 記録にない投稿を記録に取り込む")
    rc.add_argument("--since", metavar="TIME", help="この時刻以降のタイムラインを見る (例: 2026-09-01T03:00、2h)。既定: 最後の複製の少し前")
    rc.add_argument("--json", action="store_true")
    rc.add_argument("--drill", action="store_true", default=argparse.SUPPRESS, help="訓練: 練習サーバーのタイムラインと照らし合わせる")

    ps = add("practice-server", "訓練と試験のための練習用 X API サーバー")
    ps.add_argument("--host", default="127.0.0.1")
    ps.add_argument("--port", type=int, default=8787)
    ps.add_argument("--state", type=Path, metavar="FILE", help="受け付けた投稿を保存する JSON ファイル")
    ps.add_argument("--x-like", action="store_true",
                    help="X と同じ形で応答する (&amp; などの文字参照、t.co のリンク、画像のリンク、note_tweet)")
    ps.add_argument("--lag", type=float, default=0.0, metavar="SECONDS",
                    help="新しい投稿がタイムラインに出るまでの秒数 (0〜3600、X の遅れを再現)")
    return p


def visible(text: str) -> str:
    """``text`` with its control characters written out (``\\x1b``…), line breaks and tabs
    kept: a value given to ``--set`` must not drive the terminal (ESC, OSC sequences)."""
    return "".join(ch if ch in "\n\t" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F)
                   else f"\\x{ord(ch):02x}" for ch in text)


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
    from dutypost.core.config import EXAMPLE_CONFIG
    from dutypost.core.config_loader import load_settings, resolve_config_path

    explicit = getattr(args, "config", None) or os.environ.get("DUTYPOST_CONFIG")
    path = resolve_config_path(getattr(args, "config", None))
    if not explicit and not path.exists():
        if not quiet:
            print(f"(設定ファイル {path} がないため、例の設定 {EXAMPLE_CONFIG} を使います)", file=sys.stderr)
        path = EXAMPLE_CONFIG
    return load_settings(path)


def _context(args):
    """The context of a command: ``--demo`` is the demo town's (drill mode, its own
    ledger and practice server), as for the screen."""
    if getattr(args, "demo", False):
        import atexit

        from dutypost.core.demo import demo_context

        ctx, server = demo_context()
        atexit.register(server.stop)
        return ctx
    from dutypost.core.context import build_context

    return build_context(getattr(args, "config", None), operator_id=getattr(args, "operator", None),
                         drill=bool(getattr(args, "drill", False)), account_id=getattr(args, "account", None))


def _override_category(settings, given: str) -> str:
    """``--override``: the category's number (1, 2, …), the whole category, or a short
    name that is part of exactly one category (「生命」「誤った」「その他」)."""
    categories = list(settings.gate.override_categories)
    given = given.strip()
    if given.isdigit() and 1 <= int(given) <= len(categories):
        return categories[int(given) - 1]
    if given in categories:
        return given
    matches = [c for c in categories if given and given in c]
    if len(matches) == 1:
        return matches[0]
    listed = "\n".join(f"  {i}: {c}" for i, c in enumerate(categories, 1))
    problem = (f"「{given}」に当てはまる区分が {len(matches)} つあります。" if matches
               else f"緊急オーバーライドの区分「{given}」はありません。")
    raise InputError(problem, hint=f"--override には番号、区分の全体、または区分の一部 (例: {categories[0][:2]}) を指定します"
                                   f" (設定ファイルの [gate] override_categories):\n{listed}" if categories else
                     "設定ファイルの [gate] override_categories に区分がありません。運用管理者に連絡してください。")


def _template(templates, template_id: str):
    template = templates.get(template_id)
    if template is None:
        ids = ", ".join(t.id for t in templates.templates)
        raise InputError(f"テンプレート {template_id!r} はありません。", hint=f"dutypost templates list で一覧を見てください。使える id: {ids}")
    return template


def _versions_asked(template, args) -> bool:
    """``--with-versions``: True; for a template that has no versions, an InputError."""
    if not getattr(args, "with_versions", False):
        return False
    if not template.versions:
        raise InputError(f"テンプレート {template.id} には版 (やさしい日本語・English) がありません。",
                         hint="--with-versions を外してください。版のあるテンプレートは避難情報・避難所開設・地震・津波です"
                              " (テンプレートファイルの versions)。")
    return True


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
    from dutypost.core.templates import bundled_dirs, check_directory, describe, load_templates

    if args.templates_command == "check":
        settings = None if args.dir else _settings_for_reading(args)
        dirs = [args.dir] if args.dir else bundled_dirs(settings)
        for d in dirs:
            if not d.is_dir():
                raise InputError(f"テンプレートのディレクトリ {d} がありません。")
        # A folder named alone is read on top of the bundled set, as a start reads a site folder.
        result = check_directory(args.dir) if args.dir else load_templates(dirs, fresh=True)
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
    from dutypost.core.gate import ContentContext, by_severity, check_content, check_places, hours_status
    from dutypost.core.publish import compose, with_version_findings
    from dutypost.core.templates import bundled_dirs, load_templates

    settings = _settings_for_reading(args)
    drill = bool(getattr(args, "drill", False))
    template = _template(load_templates(bundled_dirs(settings)), args.template)
    values = _parse_values(args.values)
    ctx = DutyContext(settings=settings, operator=None, drill=drill)  # type: ignore[arg-type]  # rendering needs no operator
    now = ctx.now()
    composition = compose(ctx, template, values, now=now, versions=_versions_asked(template, args))

    def content_of(section) -> list:
        return check_content(section.text, ContentContext.from_settings(
            settings, drill=drill, emergency=section.emergency, threads_allowed=section.threads_allowed, now=now,
            expected_rules=section.expects, drill_only=section.drill_only))

    findings = content_of(composition.sections[0])
    if composition.versions:  # each version checked as its own part of the thread
        findings, _ = with_version_findings(settings, composition, findings, content_of)
    # As the gate has them for `post`: names that are not configured 地区・避難所 (unknown-place).
    places = check_places(composition.sections[0].text, composition.places, settings.lists, settings.municipality.name)
    findings = by_severity([*findings, *places, *composition.notes])
    in_hours = hours_status(now, settings.hours).in_hours
    if args.json:
        _print_json(_report_json(composition, findings, in_hours, settings.x.max_weighted_length))
        return 0
    for i, part in enumerate(composition.parts, 1):
        if len(composition.parts) > 1:
            print(f"--- {i}/{len(composition.parts)} ---")
        print(visible(part))
    if composition.versions:  # the recorded text is no one post: each part's count
        from dutypost.core.length import weighted_length

        counts = ", ".join(f"{weighted_length(p)}/{settings.x.max_weighted_length}" for p in composition.parts)
        print(f"--- {counts} (X の重み付き文字数、{len(composition.parts)} 件のスレッド)", file=sys.stderr)
    else:
        print(f"--- {composition.weighted_length}/{settings.x.max_weighted_length} (X の重み付き文字数)", file=sys.stderr)
    for f in findings:
        print(visible(f"[{f.severity}] {f.rule}: {f.message}"), file=sys.stderr)
    return 0


def cmd_check(args) -> int:
    """The content checks of SPEC §4 on any text (issue 12): exit 0, or 3 when something blocks.

    The text is checked as it is (in drill mode it must carry 【訓練】 itself: a text posted
    from a phone gets no marker added), as a post of ``--template``'s kind — emergency,
    thread, ``expects``, ``drill_only`` — or, by default, as an emergency post. The moment of
    checking stands in for the moment of publishing (「○時○分現在」, hours).
    """
    from dutypost.core.gate import ContentContext, check_content, hours_status
    from dutypost.core.length import split_thread, weighted_length
    from dutypost.core.templates import bundled_dirs, format_jst_time, load_templates

    text = args.text if args.text is not None else sys.stdin.read().removesuffix("\n")
    settings = _settings_for_reading(args, quiet=args.json)
    drill = bool(getattr(args, "drill", False))
    template = _template(load_templates(bundled_dirs(settings)), args.template) if args.template else None
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    limit = settings.x.max_weighted_length
    threads = bool(template and template.threads)
    content = ContentContext.from_settings(
        settings, drill=drill, emergency=template.emergency if template else True, threads_allowed=threads, now=now,
        expected_rules=template.expects if template else (), drill_only=bool(template and template.drill_only))
    findings = check_content(text, content)
    parts = split_thread(text, limit) if threads and text.strip() else [text]
    blocking = [f for f in findings if f.severity == "block"]
    in_hours = hours_status(now, settings.hours).in_hours
    if args.json:
        _print_json({"text": text, "parts": parts, "weighted_length": weighted_length(text), "max": limit,
                     "in_hours": in_hours, "findings": [f.as_json() for f in findings]})
        return 3 if blocking else 0
    kind = f"テンプレート {template.id} ({template.title})" if template else "緊急情報の投稿"
    mode = "訓練" if drill else "本番"
    print(f"{kind}として {mode} の基準で検査しました ({format_jst_time(now)} 時点、"
          f"{weighted_length(text)}/{limit})。")
    labels = {"block": "止まります", "warn": "要確認", "info": "参考"}
    for f in findings:
        where = f" 「{text[f.start:f.end]}」" if f.end > f.start and f.end - f.start <= 30 else ""
        print(visible(f"[{labels[f.severity]}] {f.rule}:{where} {f.message}"))
    warned = sorted({f.rule for f in findings if f.severity == "warn"})
    if blocking:
        print("投稿前チェックで止まります。本文を直してから、もう一度検査してください。", file=sys.stderr)
        return 3
    if warned:
        print(f"止まる問題はありません。要確認の項目は、投稿するときに確認が必要です ({' '.join('--ack ' + r for r in warned)})。")
    else:
        print("問題はありません。")
    return 0


def cmd_count(args) -> int:
    from dutypost.core.length import parse

    text = args.text if args.text is not None else sys.stdin.read()
    if args.text is None:
        text = text.removesuffix("\n")
    if not text.strip():
        raise InputError("数える本文が空です。",
                         hint='本文を引数に書くか (dutypost count "本文")、標準入力から渡してください (echo 本文 | dutypost count)。')
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


def _approval_and_override(ctx, args):
    """``--approver/--approval-method`` and ``--override/--reason`` (post and outbox resend)."""
    from dutypost.core.publish import make_approval, make_override

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
        override = make_override(ctx, _override_category(ctx.settings, args.override), args.reason)
    return approval, override


def cmd_post(args) -> int:
    from dutypost.core.publish import compose, publish, review

    images = _image_pairs(args.images)
    ctx = _context(args)
    template = _template(ctx.templates, args.template)
    composition = compose(ctx, template, _parse_values(args.values), versions=_versions_asked(template, args))
    approval, override = _approval_and_override(ctx, args)
    department = args.department
    # What the gate said before sending (after sending, the post would count as its own duplicate).
    before = (review(ctx, composition, approval=approval, override=override, acks=args.ack, department=department)
              if args.json else None)

    def report() -> dict:
        return _report_json(composition, before.decision.findings, before.decision.hours.in_hours,
                            ctx.settings.x.max_weighted_length)

    # A hang-up (SSH drop) must not cut a publish in half: finish it and record the outcome.
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN) if hasattr(signal, "SIGHUP") else None
    try:
        result = publish(ctx, composition, approval=approval, override=override, acks=args.ack, images=images,
                         department=department)
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
    _warn_anchor(ctx)
    return 0


def _warn_anchor(ctx) -> None:
    """Say so when the anchor file could not be written (the ledger itself was)."""
    problem = ctx.ledger.anchor_problem if "ledger" in ctx.__dict__ else None
    if problem:
        print(f"警告: {problem} 運用管理者に連絡してください。", file=sys.stderr)


def _print_posts(posts, settings=None) -> None:
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
            session = p.override.get("session_id")
            flags.append(f"オーバーライド{f' (時間枠 #{session})' if session else ''}: {p.override['category']}"
                         f" / 理由: {p.override['reason']}")
        if p.approval:
            flags.append(f"承認: {p.approval['approver']} ({p.approval['method']})")
        first_line = p.text.splitlines()[0] if p.text else ""
        account = ""
        if settings is not None:
            from dutypost.core.form import account_text

            account = f" {account_text(settings, p.account, drill=p.drill)}"
        print(f"#{p.id} [{POST_STATE_LABELS.get(p.state, p.state)}] {format_jst_datetime(p.created_at)}{account}"
              f" {p.operator} {p.template_id or '-'}")
        print(f"    {first_line}")
        if flags:
            print("    " + " | ".join(flags))
        if p.url:
            print(f"    {p.url}")
        if p.error and p.state != "sent":
            print(f"    {p.error}")


def cmd_override(args) -> int:
    from dutypost.core.publish import active_override_session, end_override_session, start_override_session
    from dutypost.core.templates import format_jst_datetime

    ctx = _context(args)
    try:
        if args.override_command == "start":
            session = start_override_session(ctx, args.category, args.reason, args.hours)
            print(f"緊急オーバーライドの時間枠 #{session.id} を始めました: {format_jst_datetime(session.starts_at)} から"
                  f" {format_jst_datetime(session.ends_at)} まで。区分: {session.category}")
            print("この間のあなたの投稿は、時間外・承認なしでも出せます (本文の確認は外れません)。"
                  "投稿ごとに承認者の事後承認が必要です。早めに終えるときは dutypost override end。")
            return 0
        if args.override_command == "end":
            session = end_override_session(ctx)
            print(f"緊急オーバーライドの時間枠 #{session.id} を {format_jst_datetime(session.until)} に終えました。")
            return 0
        session = active_override_session(ctx)
        if args.json:
            _print_json(session.as_json() if session else None)
        elif session is None:
            print("緊急オーバーライドの時間枠は使っていません。")
        else:
            print(f"緊急オーバーライドの時間枠 #{session.id}: {format_jst_datetime(session.until)} まで。"
                  f"区分: {session.category} / 理由: {session.reason}")
        return 0
    finally:
        ctx.close()


def cmd_history(args) -> int:
    ctx = _context(args)
    states = [args.state] if args.state else None
    posts = ctx.ledger.list_posts(states=states, operator=args.by_operator, template_id=args.template, limit=args.limit)
    if args.json:
        _print_json([p.as_json() for p in posts])
    else:
        _print_posts(posts, ctx.settings)
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
        return EXIT_UNKNOWN if result.state == "unknown" else 0
    if args.outbox_command == "resend":
        approval, override = _approval_and_override(ctx, args)
        previous = signal.signal(signal.SIGHUP, signal.SIG_IGN) if hasattr(signal, "SIGHUP") else None
        try:
            result = resend(ctx, args.post_id, approval=approval, override=override, acks=args.ack)
        finally:
            if previous is not None:
                signal.signal(signal.SIGHUP, previous)
        if result.found_on_timeline:
            print(f"投稿 #{result.post_id} はタイムラインにありました。再送せずに送信済みにしました: {result.url}")
        else:
            print(result.url or f"投稿 #{result.post_id} を送信しました。")
        _warn_anchor(ctx)
        return 0
    posts = ctx.ledger.outbox()
    if args.json:
        _print_json([p.as_json() for p in posts])
    else:
        _print_posts(posts, ctx.settings)
    return 0


def _progress_line(what: str):
    """A progress line on stderr when it is a terminal (else None: nothing is printed)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\r{what} {done:,} / {total:,} 件", end=end, file=sys.stderr, flush=True)

    return show


def _verified(ctx, anchors=(), progress=None):
    """The ledger's audit trail verified against ``anchors`` and the configured anchor file;
    raises :class:`TamperingDetected` (exit 6) naming the first bad event or row."""
    from dutypost.core.errors import TamperingDetected

    result = ctx.ledger.verify(anchors=anchors, anchor_file=ctx.settings.ledger.anchor_file, progress=progress)
    if not result.ok:
        raise TamperingDetected(
            f"監査記録の改ざんを見つけました: {result.reason}",
            hint=(f"記録ファイル {ctx.settings.ledger.path} はそのままにして、運用管理者とセキュリティ監督者に"
                  "知らせてください。予備機の複製や控えと見比べて、いつ何が変えられたかを調べます。\n"
                  f"(admin) Tampering detected in {ctx.settings.ledger.path}: "
                  f"event={result.first_bad_id} table={result.table} row={result.row_id} field={result.field}."),
        )
    return result


def cmd_audit(args) -> int:
    from dutypost.core.ledger import parse_anchor

    ctx = _context(args)
    if args.audit_command == "verify":
        from dutypost.core.ledger import LedgerError
        from dutypost.core.ledger.connection import RESTORE_HINT

        problems = ctx.ledger.integrity_problems()
        if problems:
            raise LedgerError(f"記録ファイル {ctx.ledger.path} が壊れています (integrity_check: {problems[0]})。",
                              hint=RESTORE_HINT, path=ctx.ledger.path)
        anchors = []
        for text in args.anchors:
            try:
                anchors.append(parse_anchor(text))
            except ValueError as exc:
                raise InputError(f"--anchor: {exc}", hint="dutypost audit head が表示した「番号:ハッシュ」をそのまま指定します。") from None
        result = _verified(ctx, anchors, progress=_progress_line("監査記録を確認しています"))
        print(f"監査記録は改ざんされていません ({result.checked} 件を確認)。"
              f"投稿・承認・緊急オーバーライドの行 {result.rows_checked} 件が監査記録と一致しました"
              + (f" (この版より前の行 {result.rows_before_check} 件は対象外)" if result.rows_before_check else "")
              + (f"。控え {result.anchors_checked} 件と一致しました。" if result.anchors_checked else "。"))
        return 0
    if args.audit_command == "head":
        _verified(ctx)  # never hand out a head to anchor a trail that is already broken
        head = ctx.ledger.head()
        if args.json:
            _print_json({"id": head.id, "hash": head.hash, "anchor": str(head)} if head else None)
        elif head is None:
            print("監査記録はまだありません。", file=sys.stderr)
        else:
            print(head)
        return 0
    events = ctx.ledger.export()
    if args.json:
        _print_json(events)
    else:
        for e in events:
            print(f"#{e['id']} {e['at']} {e['operator']} {e['kind']} post={e.get('post_id')} {json.dumps(e['payload'], ensure_ascii=False)}")
    return 0


def cmd_ledger(args) -> int:
    from dutypost.core.config_loader import load_settings, resolve_config_path
    from dutypost.core.ledger.backup import backup, restore

    settings = load_settings(resolve_config_path(getattr(args, "config", None)))
    ledger_path = settings.ledger.path
    if args.ledger_command == "backup":
        copy = backup(ledger_path, args.path)
        print(f"記録ファイル {ledger_path} のバックアップを {copy} に作りました。")
        return 0
    result = restore(ledger_path, args.path, anchor_file=settings.ledger.anchor_file, group=settings.ledger.group)
    kept = f"元の記録ファイルは {result.kept} に残しました。" if result.kept else ""
    print(f"バックアップ {result.restored_from} を検査し (監査記録 {result.events} 件、改ざんなし)、"
          f"記録ファイル {ledger_path} に戻しました。{kept}")
    if result.anchors_checked:
        print(f"監査記録の控え {result.anchors_checked} 件とも一致しました。")
    if result.beyond is not None:
        print(result.beyond.describe("このバックアップ", "バックアップの後に書かれた記録です"))
    print("バックアップより後の投稿と操作は、この記録にありません。X に出た投稿は dutypost recover で"
          " X のタイムラインから取り込めます (画面は次の起動時に尋ねます)。", file=sys.stderr)
    return 0


def cmd_form(args) -> int:
    from dutypost.core.form import form_data, render

    ctx = _context(args)
    sys.stdout.write(render(form_data(ctx.ledger, ctx.settings, args.post_id, mail_linked=args.mail_linked,
                                    templates=ctx.templates), args.fmt))
    return 0


def cmd_status(args) -> int:
    from dutypost.core.handover import board_line
    from dutypost.core.in_force import in_force

    ctx = _context(args)
    board = in_force(ctx.ledger, ctx.templates, drill=ctx.drill)
    if args.json:
        _print_json([line.as_json() for line in board])
    elif not board:
        print("発令中のものはありません。")
    else:
        print(f"発令中 ({'訓練' if ctx.drill else '本番'}) {len(board)} 件:")
        for line in board:
            print(f"  {board_line(line)}")
    return 0


def cmd_handover(args) -> int:
    from dutypost.core.handover import handover_data, render
    from dutypost.core.recover import parse_since

    ctx = _context(args)
    now = ctx.now()
    since = parse_since(args.since, now=now) if args.since else None
    page = handover_data(ctx.ledger, ctx.settings, ctx.templates, drill=ctx.drill, operator=ctx.operator.id,
                         now=now, since=since)
    sys.stdout.write(render(page, args.fmt))
    return 0


def cmd_auth(args) -> int:
    """PIN login for one account (``--account ID``, default the first official account):
    writes (or renews) that account's secrets file, with the day its token was issued."""
    from dutypost.core.auth import pin_login
    from dutypost.core.config_loader import load_settings, resolve_config_path
    from dutypost.core.credentials import SECRET_KEYS, credentials_from_environment, secrets_path, write_secrets

    path = resolve_config_path(getattr(args, "config", None))
    settings = load_settings(path)
    try:
        account = settings.account_by_id(getattr(args, "account", None))
    except ValueError as exc:
        raise InputError(f"--account: {exc}", hint=f"{path} の [[accounts]] の id を指定してください。") from None
    base = settings.api_base_url(bool(getattr(args, "drill", False)))
    if not sys.stdin.isatty():
        raise InputError("dutypost auth は端末から対話的に実行してください (PIN を入力します)。")
    import getpass

    # The DUTYPOST_X__ consumer keys are the default account's; another account's app is typed in.
    env = credentials_from_environment() if account.id == settings.account_by_id(None).id else {}
    print(f"アカウント {account.id}: {account.label()} にログインします。")
    consumer_key = env.get("consumer_key") or input("API Key (consumer key): ").strip()
    consumer_secret = env.get("consumer_secret") or getpass.getpass("API Key Secret (consumer secret): ").strip()

    def ask_pin(url: str) -> str:
        print(f"次の URL をブラウザ (スマートフォン可) で開き、@{account.handle} でログインして表示される PIN を入力してください:")
        print(url)
        return input("PIN: ").strip()

    tokens = pin_login(base, consumer_key, consumer_secret, ask_pin=ask_pin, timeout=settings.x.timeout_seconds)
    target = secrets_path(settings, account)
    write_secrets(target, {k: tokens[k] for k in SECRET_KEYS})
    print(f"ログインしました (@{tokens.get('screen_name', '?')})。秘密情報を {target} (権限 0600) に保存しました。"
          "発行日を記録しました (3か月ごとに dutypost auth で更新します)。")
    screen_name = tokens.get("screen_name", "")
    if screen_name and screen_name.lower() != account.handle.lower() and not getattr(args, "drill", False):
        print(f"注意: ログインしたのは @{screen_name} で、設定の @{account.handle} と違います。"
              "別のアカウントでログインしていないか確かめてください。", file=sys.stderr)
    _forget_account(settings)
    return 0


def _forget_account(settings) -> None:
    """After a login: drop the cached ``users/me`` answers, so the next publish checks the
    new token's account (issue 11 item 2)."""
    import sqlite3

    from dutypost.core.context import ACCOUNT_CACHE_PREFIX
    from dutypost.core.ledger import Ledger

    try:
        with Ledger(settings.ledger.path) as ledger:
            ledger.delete_meta(ACCOUNT_CACHE_PREFIX)
    except (OSError, sqlite3.Error, DutypostError) as exc:
        print(f"(記録ファイル {settings.ledger.path} を開けなかったため、アカウントの確認結果は消していません: {exc})",
              file=sys.stderr)
    else:
        print("アカウントの確認結果を消しました。次の投稿の前に、あらためて X のアカウントを確かめます。")


def cmd_config(args) -> int:
    from dutypost.core.config_loader import load_settings, resolve_config_path

    path = resolve_config_path(getattr(args, "config", None))
    if args.config_command == "path":
        print(path)
        return 0
    if args.config_command == "init":
        return _config_init(args, path)
    return _config_check(path)


def _config_init(args, path: Path) -> int:
    """``config init``: write the starter config, say what to edit, then check it."""
    from dutypost.core.config_init import write_starter_config

    write_starter_config(path, args.municipality, args.kind, force=args.force)
    option = f" --config {path}" if getattr(args, "config", None) else ""
    print(f"設定ファイルを作りました: {path}")
    print("次に書き換えるところ (「# 例: 」で始まる行は例の町の値です。書き換えて「# 例: 」を消します):\n"
          "  [account] handle        X のユーザー名\n"
          "  [municipality] website  ホームページ\n"
          f"  [municipality.pages]    テンプレートがリンクするページ ({_linked_pages()})。書くまではリンクなしで投稿します\n"
          "  [lists]                 地区と避難所\n"
          "  [[departments]]         別表第1 の所属と配信承認者\n"
          "  [[operators]]           投稿する職員 (os_user で OS の利用者と結び付けます)\n"
          f"書き換えたら: dutypost{option} config check、ログインは dutypost{option} auth")
    print("---")
    return _config_check(path)


def _linked_pages() -> str:
    """The ``[municipality.pages]`` names the bundled templates link, 「bosai・shelters」."""
    from dutypost.core.config import BUNDLED_TEMPLATES
    from dutypost.core.templates import load_templates

    names = {n.removeprefix("page.") for t in load_templates([BUNDLED_TEMPLATES]).templates
             for n in t.variables if n.startswith("page.")}
    return "・".join(sorted(names))


def _config_check(path: Path) -> int:
    """``config check``: the file, the environment, the secrets file's mode, the site
    templates folder and the keymap; exit 2 naming the first thing to fix."""
    from dutypost.core.config import EXAMPLE_CONFIG
    from dutypost.core.config_loader import load_settings
    from dutypost.core.credentials import check_secrets_at_start
    from dutypost.core.keymap import check_keymap
    from dutypost.core.templates import bundled_dirs, load_templates

    settings = load_settings(path, fresh=True)
    _check_template_departments(settings, path)
    check_secrets_at_start(settings)
    problems = check_keymap(settings.tui.keymap)
    if problems:
        raise InputError(f"{path}: [tui] keymap に誤りがあります ({len(problems)} 件)。\n  " + "\n  ".join(problems),
                         hint=f"id と既定のキーは画面のヘルプ (F1) にあります。設定の例: {EXAMPLE_CONFIG}")
    site = settings.templates.site_dir
    if site is not None:
        result = load_templates(bundled_dirs(settings), fresh=True)
        errors = [e for e in result.errors if Path(e.path) == site or site in Path(e.path).parents]
        if errors:
            lines = [f"{e.path}:{e.line}: {e.message}" if e.line else f"{e.path}: {e.message}" for e in errors]
            raise InputError(f"{path}: [templates] site_dir のテンプレートに誤りがあります ({len(errors)} 件)。\n  "
                             + "\n  ".join(lines),
                             hint=f"dutypost templates check {site} で詳しく確かめられます。")
    from datetime import datetime, timezone

    from dutypost.core.credentials import rotation_notices

    accounts = "・".join(f"{a.id} ({a.kind_label})" for a in settings.accounts)
    print(f"{path}: 設定に誤りはありません。アカウント {accounts}、所属 {len(settings.departments)}、"
          f"職員 {len(settings.operators)}、地区 {len(settings.lists.areas)}、避難所 {len(settings.lists.shelters)}。")
    if not settings.municipality.name:
        print(f"注意: [municipality] name がありません。自治体名を書いてください ({path})。")
    if not settings.operators:
        print(f"注意: 職員 ([[operators]]) がまだいません。投稿する人を {path} に書いてください。")
    for notice in unfilled_page_notices(settings):
        print(f"注意: {notice}")
    m = settings.municipality
    if m.name and not m.name_en:
        english = {"市": "City", "町": "Town", "村": "Village", "区": "City"}.get(m.kind, "City")
        print(f"注意: [municipality] name_en (英語版のテンプレートでの名前) がありません。英語版 (-en) は「{m.name}」と"
              f"書きます。name_en = \"(ローマ字の名前) {english}\" のように書いてください。")
    for notice in rotation_notices(settings, datetime.now(timezone.utc)):
        print(f"[要確認] 認証情報の更新: {notice}")
    return 0


def unfilled_page_notices(settings) -> list[str]:
    """The web pages templates link that the config lacks (their posts go without the link):
    one notice for ``[municipality] website``, one for the ``[municipality.pages]`` keys."""
    from dutypost.core.templates import bundled_dirs, load_templates, municipality_variables, unfilled_pages

    variables = municipality_variables(settings)
    by_name: dict[str, list[str]] = {}
    for template in load_templates(bundled_dirs(settings)).templates:
        for name in unfilled_pages(template, variables):
            by_name.setdefault(name, []).append(template.id)
    notices = []
    if "website" in by_name:
        notices.append("[municipality] website (ホームページの URL) がありません。"
                       f"{'・'.join(by_name.pop('website'))} はリンクなしで投稿します。"
                       "website = \"https://…\" を書いてください。")
    if by_name:
        listed = "、".join(f"{name.removeprefix('page.')} ({'・'.join(ids)})" for name, ids in sorted(by_name.items()))
        notices.append(f"テンプレートがリンクするページが [municipality.pages] にありません: {listed}。"
                       "これらはリンクなしで投稿します。名前 = \"/…/\" (ホームページからのパス) を書いてください。")
    return notices


def _check_template_departments(settings, path: Path) -> None:
    """A template's issuing department (``department = "…"``) must be a 別表第1 row of this config."""
    from dutypost.core.templates import bundled_dirs, load_templates

    bad = [t for t in load_templates(bundled_dirs(settings)).templates
           if t.department and settings.find_department(t.department) is None]
    if bad:
        lines = "\n".join(f"  {t.path}: department = \"{t.department}\"" for t in bad)
        raise InputError(
            f"{path}: テンプレートが発信する所属 (department) が [[departments]] (別表第1) にありません:\n{lines}",
            hint="テンプレートの department を [[departments]] の name に合わせるか、所属を [[departments]] に加えてください。",
        )


def cmd_standby(args) -> int:
    from dutypost.core import standby
    from dutypost.core.config_loader import load_settings, resolve_config_path

    settings = load_settings(resolve_config_path(getattr(args, "config", None)))
    if args.standby_command == "replicate":
        argv = standby.replicate_argv(settings)
        print(f"記録 {settings.ledger.path} を {settings.standby.replica} に複製します (止めるには Ctrl-C)。",
              file=sys.stderr, flush=True)
        os.execv(argv[0], argv)  # Litestream takes this process's place: systemd and signals reach it
    if args.standby_command == "status":
        status = standby.replica_status(settings)
        if args.json:
            _print_json(status.as_json())
        else:
            print(status.describe())
        return 0
    import getpass

    # Who restored is the OS user (the audit trail records it as os:NAME): a restore runs
    # before any operator can be resolved against the restored ledger.
    result = standby.restore(settings, args.to, operator=f"os:{getpass.getuser()}")
    print(result.describe())
    return 0


def cmd_recover(args) -> int:
    from dutypost.core.recover import parse_since, recover

    ctx = _context(args)
    try:
        since = parse_since(args.since, now=ctx.now()) if args.since else None
        report = recover(ctx, since)
    finally:
        ctx.close()
    if args.json:
        _print_json(report.as_json())
    else:
        print(report.describe())
    return 0


def cmd_practice_server(args) -> int:
    from dutypost.practice import serve

    if not 0 <= args.lag <= 3600:
        raise InputError(f"--lag には 0〜3600 の秒数を指定してください: {args.lag:g}")
    serve(args.host, args.port, state_file=args.state, x_like=args.x_like, timeline_lag=args.lag)
    return 0


def cmd_tui(args) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError(
            "画面を表示する端末がありません。",
            hint="端末から起動してください。SSH では ssh -t で接続します (~/.ssh/config なら RequestTTY yes)。\n"
                 "(admin) No terminal on stdin/stdout; connect with ssh -t.",
        )
    if getattr(args, "demo", False):
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
    "check": cmd_check,
    "count": cmd_count,
    "post": cmd_post,
    "override": cmd_override,
    "history": cmd_history,
    "outbox": cmd_outbox,
    "audit": cmd_audit,
    "ledger": cmd_ledger,
    "form": cmd_form,
    "status": cmd_status,
    "handover": cmd_handover,
    "auth": cmd_auth,
    "config": cmd_config,
    "standby": cmd_standby,
    "recover": cmd_recover,
    "practice-server": cmd_practice_server,
}


#: The commands that build the duty context, which resolves (and checks) ``--operator``.
_CONTEXT_COMMANDS = frozenset({"post", "override", "history", "outbox", "audit", "form", "recover"})


def _resolves_operator(args) -> bool:
    return args.command in _CONTEXT_COMMANDS or (args.command is None and not getattr(args, "demo", False))


def _check_operator_flag(args) -> None:
    """``--operator`` is refused off the service account by every command (SPEC §9), the
    ones that only read included: those that resolve no operator check it here."""
    from dutypost.core.identity import check_operator_flag

    check_operator_flag(_settings_for_reading(args, quiet=True), args.operator)


def _log_unexpected(exc: BaseException) -> Path | None:
    import traceback

    from platformdirs import user_state_path

    try:
        path = user_state_path("dutypost") / "dutypost.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # tracebacks may quote posts
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
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
        if getattr(args, "operator", None) is not None and not _resolves_operator(args):
            _check_operator_flag(args)
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
