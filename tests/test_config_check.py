"""What ``dutypost config check`` and every start refuse (issue 17 item 6), ``config
init`` (issue 13 item 2), did-you-mean and the keymap check (issue 13 item 5): real files
in tmp dirs and ``dutypost`` run as a subprocess, as automation runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"


def dutypost(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ) | (env or {})
    return subprocess.run([sys.executable, "-m", "dutypost.core.cli", *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=60)


def refused(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "予期しないエラー" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


def check(path: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return dutypost("--config", str(path), "config", "check", env=env)


# -- issue 17 item 6: what ended in exit 1 -------------------------------------------


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b'[account]\nname = "\x82\xa0\x82\xa2"\n')  # Shift_JIS
    refused(check(path), f"{path}:2", "UTF-8")


def test_deep_nesting_is_refused_not_a_crash(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    refused(check(path), str(path), "入れ子が深すぎ")


@pytest.mark.parametrize("key,value", [("duplicate_window_hours", "99999999999"),
                                       ("same_template_warn_minutes", "99999999999"),
                                       ("stale_time_minutes", "99999999999")])
def test_a_window_beyond_any_date_is_refused(config_file, key, value):
    text = config_file().read_text(encoding="utf-8")
    path = config_file(replace={"gate": f"{key} = {value}"})
    assert text  # the example with its gate replaced
    refused(check(path), f"gate.{key}", "以下にしてください")


# -- issue 17 item 6: what config check accepted -----------------------------------


@pytest.mark.parametrize("value", ["25001", "100000"])
def test_max_weighted_length_beyond_x_limits(config_file, value):
    path = config_file(replace={"x": f'api_base_url = "https://api.x.com"\nmax_weighted_length = {value}'})
    refused(check(path), "x.max_weighted_length", "25000")


def test_max_weighted_length_of_a_long_post_account_is_fine(config_file):
    path = config_file(replace={"x": 'api_base_url = "https://api.x.com"\nmax_weighted_length = 25000'})
    assert check(path).returncode == 0


@pytest.mark.parametrize("section,url", [("x", "http://api.x.com"), ("x", "ftp://api.x.com"),
                                         ("drill", "http://192.168.1.10:8787")])
def test_plain_http_only_to_loopback(config_file, section, url):
    path = config_file(replace={section: f'api_base_url = "{url}"'})
    refused(check(path), f"{section}.api_base_url", "https://")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8787", "http://localhost:9", "http://[::1]:8787"])
def test_plain_http_to_loopback_is_fine(config_file, url):
    path = config_file(replace={"x": f'api_base_url = "{url}"'})
    proc = check(path)
    assert proc.returncode == 0, proc.stderr


def test_empty_override_categories_is_refused(config_file):
    path = config_file(replace={"gate": "override_categories = []"})
    refused(check(path), "gate.override_categories", "時間外")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file_is_refused(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    refused(check(path), str(path), "空です", "config init")


def test_an_unknown_environment_variable_is_refused_with_the_nearest(config_file):
    path = config_file()
    refused(check(path, env={"DUTYPOST_X__API_BASEURL": "https://api.x.com"}),
            "DUTYPOST_X__API_BASEURL", "DUTYPOST_X__API_BASE_URL の間違い")
    refused(check(path, env={"DUTYPOST_NOPE": "1"}), "DUTYPOST_NOPE", "unset DUTYPOST_NOPE")
    refused(check(path, env={"DUTYPOST_MUNICIPALITY__PAGEZ__BOSAI": "/b/"}), "DUTYPOST_MUNICIPALITY__PAGEZ__BOSAI")
    # the known ones still pass, a key inside a table value too
    ok = check(path, env={"DUTYPOST_X__TIMEOUT_SECONDS": "5", "DUTYPOST_X__ACCESS_TOKEN": "t",
                          "DUTYPOST_MUNICIPALITY__PAGES__BOSAI": "/b/"})
    assert ok.returncode == 0, ok.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_an_unreadable_site_templates_folder_is_reported(config_file, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "x.toml").write_text("id = 'x'\n", encoding="utf-8")
    path = config_file(replace={"templates": f'site_dir = "{site}"'})
    site.chmod(0o000)
    try:
        refused(check(path), str(site), "読めません")
        listed = dutypost("--config", str(path), "templates", "list")
        assert "読めません" in listed.stderr
    finally:
        site.chmod(0o755)


def test_an_unreadable_site_templates_folder_is_reported_in_process(config_file, tmp_path, monkeypatch):
    """The same as root: os.listdir refusing is what an unreadable folder is."""
    from dutypost.core import templates

    site = tmp_path / "site"
    site.mkdir()
    real = os.listdir

    def listdir(p="."):
        if Path(p) == site:
            raise PermissionError(13, "Permission denied", str(p))
        return real(p)

    monkeypatch.setattr(templates.os, "listdir", listdir)  # the OS's answer, not our code
    result = templates.load_templates([templates.BUNDLED_TEMPLATES, site], fresh=True)
    assert [e.path for e in result.errors] == [site]
    assert "読めません" in result.errors[0].message


def test_a_secrets_file_others_can_read_is_refused_at_start(config_file, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[x]\nconsumer_key = "a"\n', encoding="utf-8")
    secrets.chmod(0o644)
    path = config_file(replace={"x": f'api_base_url = "https://api.x.com"\nsecrets_file = "{secrets}"'})
    refused(check(path), str(secrets), "chmod 600")
    # at start: a command that needs no credentials (history) is refused too, with exit 2
    refused(dutypost("--config", str(path), "history"), "chmod 600")
    secrets.chmod(0o600)
    assert check(path).returncode == 0


def test_render_shows_control_characters_escaped(config_file):
    path = config_file()
    proc = dutypost("--config", str(path), "render", "evac-l4", "--set", "time=10時00分", "--set", "reason=大雨",
                    "--set", "area=本郷\x1b]0;pwned\x07地区", "--set", "shelter=本郷小学校")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout and "\x1b" not in proc.stderr
    assert "本郷\\x1b]0;pwned\\x07地区" in proc.stdout
    as_json = dutypost("--config", str(path), "render", "evac-l4", "--set", "time=10時00分", "--set", "reason=大雨",
                       "--set", "area=本郷\x1b地区", "--set", "shelter=本郷小学校", "--json")
    assert "本郷\x1b地区" in json.loads(as_json.stdout)["text"]  # JSON escapes it itself; the value is kept


# -- issue 13 item 5: did you mean, the keymap -----------------------------------------


def test_an_unknown_key_says_did_you_mean(config_file):
    path = config_file(replace={"gate": "duplicate_window_hour = 3"})
    refused(check(path), "gate.duplicate_window_hour", "duplicate_window_hours の間違い")


def test_an_unknown_key_with_nothing_near_names_the_example_where_it_is(config_file):
    from dutypost.core.config import EXAMPLE_CONFIG

    path = config_file(replace={"tui": "zzzzqqq = 1"})
    refused(check(path), "tui.zzzzqqq", str(EXAMPLE_CONFIG))


def test_keymap_ids_and_clashes_are_checked(config_file):
    keymap = ('keymap = { "review.publsh" = "f10", "review.override" = "f10", '
              '"home.search" = "escape", "home.history" = "ctrl+s", "home.drafts" = "ctrl+nope" }')
    path = config_file(replace={"tui": keymap})
    refused(check(path), "'review.publsh'", "'review.publish' の間違い", "'review.override' と 'review.publish'",
            "Esc は「戻る」だけ", "ctrl+s", "ctrl+nope")


def test_a_good_keymap_passes(config_file):
    path = config_file(replace={"tui": 'keymap = { "review.publish" = "f10,ctrl+x,p", "home.history" = "f5,h" }'})
    proc = check(path)
    assert proc.returncode == 0, proc.stderr


def test_the_plain_keymap_table_is_what_the_screens_declare():
    import importlib
    import pkgutil

    import dutypost.tui as tui
    from dutypost.core import keymap

    for info in pkgutil.walk_packages(tui.__path__, "dutypost.tui."):
        importlib.import_module(info.name)
    from dutypost.tui.keys import DECLARED_KEYS

    assert keymap.DECLARED_KEYS == DECLARED_KEYS


def test_config_check_does_not_import_textual(config_file):
    path = config_file(replace={"tui": 'keymap = { "review.publish" = "f10,ctrl+x" }'})
    code = ("import sys\nfrom dutypost.core.cli import main\n"
            f"rc = main(['--config', {str(path)!r}, 'config', 'check'])\n"
            "print('textual' in sys.modules, rc)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(os.environ), capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "False 0", out.stderr


# -- issue 13 item 2: config init --------------------------------------------------------


def test_config_init_writes_a_starter_that_checks(tmp_path):
    path = tmp_path / "etc" / "config.toml"
    proc = dutypost("--config", str(path), "config", "init", "--municipality", "流山市", "--kind", "市")
    assert proc.returncode == 0, proc.stderr
    assert str(path) in proc.stdout and "[[operators]]" in proc.stdout and "設定に誤りはありません" in proc.stdout
    text = path.read_text(encoding="utf-8")
    assert 'name = "流山市"' in text and 'kind = "市"' in text
    active = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert not [line for line in active if "阿見" in line or "ami" in line.lower()], active
    assert "# 例: [[operators]]" in text and "# 例: [[departments]]" in text
    assert check(path).returncode == 0


def test_config_init_goes_to_the_platform_path_and_never_overwrites(tmp_path):
    target = Path(os.environ["XDG_CONFIG_HOME"]) / "dutypost" / "config.toml"
    first = dutypost("config", "init", "--municipality", "小布施町")
    assert first.returncode == 0, first.stderr
    assert str(target) in first.stdout and 'kind = "町"' in target.read_text(encoding="utf-8")
    target.write_text(target.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    again = dutypost("config", "init", "--municipality", "小布施町")
    refused(again, str(target), "--force")
    assert target.read_text(encoding="utf-8").endswith("# edited\n")
    forced = dutypost("config", "init", "--municipality", "小布施町", "--force")
    assert forced.returncode == 0 and "# edited" not in target.read_text(encoding="utf-8")


def test_config_init_needs_a_kind_it_can_tell(tmp_path):
    refused(dutypost("--config", str(tmp_path / "c.toml"), "config", "init", "--municipality", "ニセコ"), "--kind")
    assert not (tmp_path / "c.toml").exists()


#: The [municipality.pages] keys the bundled templates link, and a template linking each.
LINKED_PAGES = {"shelters": "shelter-open", "hazard_map": "weather-advisory", "risai": "risai-certificate"}
#: The example town, anywhere: its name, its kana, its site, its mail service.
EXAMPLE_TOWN = ("阿見", "あみ", "town.ami", "TownAmi")


@pytest.mark.parametrize("name,kind", [("流山市", "市"), ("檜原村", "村"), ("世田谷区", "区"), ("小布施町", "町")])
def test_a_new_municipality_walks_through_init_check_and_every_template(tmp_path, capsys, name, kind):
    """Issue 13's done-when, as a new user goes: ``config init`` and ``config check``
    succeed, and every template, rendered with its example values, names the municipality
    and never the example town. A page the fresh config lacks leaves its link out (a notice
    names the key to write) instead of refusing the template."""
    from dutypost.core.cli import main

    path = tmp_path / "config.toml"
    init = dutypost("--config", str(path), "config", "init", "--municipality", name, "--kind", kind)
    assert init.returncode == 0, init.stderr
    what_next = init.stdout.split("---")[0]
    assert "[municipality.pages]" in what_next and all(page in what_next for page in LINKED_PAGES), what_next
    checked = check(path)
    assert checked.returncode == 0, checked.stderr
    notices = [line for line in checked.stdout.splitlines() if line.startswith("注意:")]
    pages_notice = next(line for line in notices if "[municipality.pages]" in line)
    assert all(f"{page} ({template_id}" in pages_notice for page, template_id in LINKED_PAGES.items()), notices
    assert any("[municipality] website" in line for line in notices), notices
    assert any("[municipality] name_en" in line and f"「{name}」" in line for line in notices), notices
    assert main(["--config", str(path), "templates", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) >= 60
    for template in listed:
        args = [a for f in template["fields"] for a in ("--set", f"{f['name']}={f['example'] or '10時00分'}")]
        code = main(["--config", str(path), "render", template["id"], *args, "--json"])
        out, err = capsys.readouterr()
        assert code == 0, (template["id"], err)
        report = json.loads(out)
        text, findings = report["text"], report["findings"]
        assert name in text, (template["id"], text)
        assert not any(word in text for word in EXAMPLE_TOWN), (template["id"], text)
        assert "{" not in text and "https://" not in text.replace("https://www.jma.go.jp", "").replace(
            "https://www.river.go.jp", ""), (template["id"], text)
        if kind != "町":
            assert not re.search(r"町[はのにでがへ内]", text), (template["id"], text)
        blocking = [f["rule"] for f in findings if f["severity"] == "block"]
        assert blocking in ([], ["drill-only"]), (template["id"], findings)
    for page, template_id in LINKED_PAGES.items():
        assert main(["--config", str(path), "render", template_id, "--json",
                     *[a for f in next(t for t in listed if t["id"] == template_id)["fields"]
                       for a in ("--set", f"{f['name']}={f['example']}")]]) == 0
        notes = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["rule"] == "page"]
        assert [f["severity"] for f in notes] == ["info"], notes
        assert f"[municipality.pages] に {page} = " in notes[0]["message"], notes


def test_the_starter_keeps_the_pages_table_so_an_uncommented_page_is_read(tmp_path, capsys):
    """Writing one page under the starter's ``[municipality.pages]`` (and the website) puts
    the link back; the notice no longer names that page."""
    from dutypost.core.cli import main

    path = tmp_path / "config.toml"
    assert dutypost("--config", str(path), "config", "init", "--municipality", "流山市", "--kind", "市").returncode == 0
    text = path.read_text(encoding="utf-8")
    assert "\n[municipality.pages]\n" in text
    text = text.replace('# 例: shelters = "/bousai/hinanjo/"', 'shelters = "/bousai/hinanjo/"')
    text = text.replace("# 例: website = \"https://www.town.ami.lg.jp\"", 'website = "https://www.city.nagareyama.chiba.jp"')
    path.write_text(text, encoding="utf-8")
    checked = check(path)
    assert checked.returncode == 0, checked.stderr
    assert "shelters" not in checked.stdout and "hazard_map (weather-advisory)" in checked.stdout
    assert main(["--config", str(path), "render", "shelter-open", "--set", "time=17時00分",
                 "--set", "shelter=東部公民館", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "https://www.city.nagareyama.chiba.jp/bousai/hinanjo/" in report["text"]
    assert not [f for f in report["findings"] if f["rule"] == "page"]


def test_a_missing_config_names_the_example_where_it_is_installed(tmp_path):
    from dutypost.core.config import EXAMPLE_CONFIG

    proc = dutypost("--config", str(tmp_path / "none.toml"), "history")
    refused(proc, str(EXAMPLE_CONFIG), "config init")


# -- issue 13 item 5: argparse's own words in Japanese -----------------------------------


def test_help_and_mistakes_use_japanese_words_for_argparse_s_own():
    helped = dutypost("config", "init", "--help")
    assert helped.returncode == 0
    assert helped.stdout.startswith("使い方: dutypost config init")
    assert "オプション:" in helped.stdout and "このヘルプを表示して終了" in helped.stdout
    for english in ("usage:", "options:", "show this help message", "positional arguments"):
        assert english not in helped.stdout, helped.stdout
    top = dutypost("--help")
    assert "引数:" in top.stdout and "positional arguments" not in top.stdout
    missing = dutypost("post")
    refused(missing, "次の指定が必要です: template", "使い方: dutypost post")
    assert "usage:" not in missing.stderr and "required" not in missing.stderr


# -- issue 13 item 5: shell completion (argcomplete, the extra dutypost[completion]) ------


@pytest.mark.parametrize("line,expected", [("dutypost con", "config"), ("dutypost config init --m", "--municipality"),
                                           ("dutypost outbox re", "resolve")])
def test_tab_completes_commands_and_options(tmp_path, line, expected):
    pytest.importorskip("argcomplete")
    out = tmp_path / "completions"
    proc = dutypost(env={"_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
                         "_ARGCOMPLETE_STDOUT_FILENAME": str(out)})
    assert proc.returncode == 0, proc.stderr
    assert expected in out.read_text(encoding="utf-8").split(), out.read_text(encoding="utf-8")
