"""``dutypost config init`` (設定の作成): a starter config made from the example.

The example (``config.example.toml``, shipped beside the code) describes a fictional town,
阿見町. The starter keeps its comments and its policy settings, writes the municipality
given on the command line, and turns what only fits that town — the account, its web
pages, the areas and shelters, the departments and the operators — into commented
examples to edit (the ``[municipality.pages]`` table itself stays, empty: until a page is
written there, a template linking it posts without the link). An existing file is never
overwritten without ``force``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dutypost.core.config import EXAMPLE_CONFIG, MUNICIPALITY_KINDS
from dutypost.core.errors import InputError

#: Sections whose every line is the example town's own: kept as commented examples.
_COMMENTED_SECTIONS = ("departments", "operators", "lists.shelters", "lists.facilities", "municipality.pages")
#: Lines that name the example town (its name, domain, handle, phone numbers, mail service).
_EXAMPLE_TOWN = re.compile(r"阿見|town\.ami|TownAmi|Ami Town|あみメール|029-88")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def municipality_kind(name: str, kind: str | None) -> str:
    """The kind (町・市・村・区) given, or the name's last character; InputError otherwise."""
    name = name.strip()
    if not name or any(c in name for c in "\"\\\n\r\t") or len(name) > 40:
        raise InputError(f"--municipality {name!r} は自治体名として使えません。",
                         hint="例: dutypost config init --municipality 流山市 --kind 市")
    if kind is None:
        if name[-1] not in MUNICIPALITY_KINDS:
            raise InputError(f"{name} が町・市・村・区のどれか分かりません。",
                             hint=f"--kind で指定してください (例: dutypost config init --municipality {name} --kind 市)。")
        return name[-1]
    return kind


def starter_config(name: str, kind: str) -> str:
    """The example's text for the municipality ``name`` (of ``kind``)."""
    out = [
        f"# dutypost の設定 — {name} (dutypost config init で {EXAMPLE_CONFIG.name} から作りました)。",
        "# (admin) Starter configuration written by `dutypost config init`.",
        "# 「# 例:」で始まる行は例の町 (阿見町) の値です。自治体に合わせて書き、行頭の「# 例: 」を消してください。",
        "# 書き換えたら `dutypost config check` で確かめます。",
    ]
    lines = EXAMPLE_CONFIG.read_text(encoding="utf-8").splitlines()
    section = ""
    accounts = 0
    for raw in lines[3:]:  # the example's own title and first note are replaced above
        header = _HEADER.match(raw)
        if header and not raw.lstrip().startswith("#"):
            section = header.group(1)
            accounts += section == "accounts"
        stripped = raw.strip()
        is_value = bool(stripped) and not stripped.startswith("#")
        if section == "accounts" and accounts > 1 and is_value:
            out.append("# 例: " + raw)  # the example town's mascot: a municipality adds its own, if any
            continue
        if section == "accounts" and is_value and stripped.startswith("name"):
            out.append(f'name = "{name}公式"                   # 画面に出すアカウント名')
            continue
        if section == "municipality" and is_value and not header:
            key = stripped.split("=", 1)[0].strip()
            if key == "name":
                out.append(f'name = "{name}"                        # 自治体名。テンプレートの {{municipality}}')
                continue
            if key == "kind":
                out.append(f'kind = "{kind}"                            # 町・市・村・区 のどれか')
                continue
            if key == "hashtags":
                out.append(f'hashtags = ["#{name}"]                 # どの投稿にも付けるハッシュタグ')
                continue
        if section == "account" and is_value and stripped.startswith("name"):
            out.append(f'name = "{name}公式"                   # 画面に出すアカウント名')
            continue
        if section == "gate" and stripped.startswith("allow_domains"):
            out.append(raw.replace('"town.ami.lg.jp", ', ""))
            out.append("# ↑ 自治体のドメイン (例: \"city.example.lg.jp\") を足してください")
            continue
        if header and section == "municipality.pages":
            out.append(raw)  # kept, empty: a page written under it is read (its links are left out until then)
            continue
        if is_value and (section in _COMMENTED_SECTIONS or _EXAMPLE_TOWN.search(raw)):
            out.append("# 例: " + raw)
            continue
        out.append(raw)
    return "\n".join(out) + "\n"


def write_starter_config(path: Path, name: str, kind: str | None, *, force: bool = False) -> Path:
    """Write the starter config at ``path``; refuse to replace a file unless ``force``."""
    kind = municipality_kind(name, kind)
    text = starter_config(name.strip(), kind)
    if path.exists() and not force:
        raise InputError(f"設定ファイル {path} はもうあります。上書きしませんでした。",
                         hint=f"作り直すなら --force を付けてください (今の内容は失われます)。確かめるだけなら dutypost --config {path} config check")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"設定ファイル {path} を書けません ({exc.strerror})。",
                         hint="フォルダの権限を確かめるか、--config で書ける場所を指定してください。") from None
    return path
