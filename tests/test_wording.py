"""What users read speaks of the library, its behaviour and its measured results only: no
development tickets, work sessions or internal planning files (tools/check_wording.py; ``make
docs`` runs the same check on the built site)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_wording", ROOT / "tools" / "check_wording.py")
check_wording = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_wording)


def test_readme_docs_and_package_do_not_talk_about_our_process():
    files = check_wording.source_files()
    assert any(p.name == "README.md" for p in files) and any(p.name == "params.py" for p in files)
    assert check_wording.hits(files) == []


def test_the_check_finds_each_kind_of_wording(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<p>As issue 25 asked,</p>\n<p>the issue's goal</p>\n<p>in this session</p>\n"
        "<p>see ../shared/DESIGN.md</p>\n<p>better (README).</p>\n"
        "<script>var session = 1;</script><p>onnxruntime.InferenceSession, sessionStorage, design.md</p>\n"
    )
    found = check_wording.hits([page])
    kinds = [h.split("[")[1].split("]")[0] for h in found]
    assert kinds == ["a development ticket", "a development ticket", "a work session", "an internal planning file",
                     "a docstring pointing at the README"]
    assert check_wording.main([str(tmp_path)]) == 1
