"""The install page's Python blocks run as written, on a fresh namespace (a copied first example
that fails is the first thing a new user meets)."""

import re

from conftest import ROOT


def test_the_install_pages_first_fit_runs_as_written(capsys):
    text = (ROOT / "docs" / "install.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the install page has a Python example"
    for code in blocks:
        exec(compile(code, "docs/install.md", "exec"), {})
    printed = capsys.readouterr().out.split()
    sum_corr, transfer = float(printed[0]), float(printed[1])
    assert 0 < sum_corr <= 20 and 0.5 < transfer <= 1  # 20 units; well above chance (10 classes)


def test_the_readmes_ten_lines_run_as_written(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1 and len(blocks[0].strip().splitlines()) <= 10
    monkeypatch.chdir(tmp_path)  # it saves a model
    exec(compile(blocks[0], "README.md", "exec"), {})
    assert 0.5 < float(capsys.readouterr().out.split()[-1]) <= 1
    assert (tmp_path / "model").is_dir()


def test_the_user_guides_first_example_runs_as_written(monkeypatch):
    text = (ROOT / "docs" / "guide.md").read_text()
    first = re.findall(r"```python\n(.*?)```", text, flags=re.S)[0]
    monkeypatch.setenv("CORRNET_DATA", "/nonexistent")  # it needs no data files
    namespace: dict = {}
    exec(compile(first, "docs/guide.md", "exec"), namespace)
    assert namespace["H_both"].shape == (497, 20) and namespace["Y_gen"].shape == (497, 32)
