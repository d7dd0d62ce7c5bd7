"""The documentation: the MkDocs site builds with --strict, the README stays a short user's page whose first
commands are the main job and exactly what CI runs, and the configuration reference lists every key the plugin adds."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
CI_SCRIPT = os.path.join(ROOT, ".ci", "run")
REFERENCE = os.path.join(ROOT, "docs", "configuration.md")
RESULTS_INDEX = os.path.join(ROOT, "docs", "results", "index.md")
MAIN_COMMAND = ("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e . "
                "&& python run_recbole_srt.py --model=SRT")
README_MAX_LINES = 250
# A row of the reference's tables: | `key` | default | meaning |
REFERENCE_ROW = re.compile(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \|", re.M)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def code_blocks(markdown):
    """The fenced code blocks of a markdown text, in order, each as its list of lines."""
    return [block.strip("\n").splitlines() for block in re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.M | re.S)]


def ci_command():
    """The one line of .ci/run that sets up and runs the suite."""
    lines = [line.strip() for line in read(CI_SCRIPT).splitlines() if line.strip().startswith("python3 -m venv")]
    assert len(lines) == 1, f".ci/run should set up and test in one 'python3 -m venv ...' line, found {lines}"
    return lines[0]


# ---------------------------------------------------------------------------------------------------------------
# The site


def test_the_site_builds_with_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[docs]' (the test extra has it)")
    config, cwd = os.path.join(ROOT, "mkdocs.yml"), ROOT
    if not os.path.isfile(RESULTS_INDEX):
        # docs/results/ is rendered from benchmarks/results/ by the benchmarks; build a copy with a stand-in index so
        # that the rest of the site is still checked where that page has not been rendered.
        cwd = tmp_path / "source"
        shutil.copytree(os.path.join(ROOT, "docs"), cwd / "docs")
        shutil.copy(config, cwd / "mkdocs.yml")
        (cwd / "docs" / "results").mkdir(exist_ok=True)
        (cwd / "docs" / "results" / "index.md").write_text("# Results\n\nNot rendered in this checkout.\n")
        config = str(cwd / "mkdocs.yml")
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", config,
                            "--site-dir", str(tmp_path / "site")], cwd=cwd, capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
    for page in ("index.html", "configuration/index.html", "architecture/index.html", "guide/install/index.html"):
        assert (tmp_path / "site" / page).is_file(), page


# ---------------------------------------------------------------------------------------------------------------
# The README


def test_the_readme_is_a_short_page_that_opens_with_the_main_job_and_the_ci_command():
    text = read(README)
    assert len(text.splitlines()) <= README_MAX_LINES, f"README.md has {len(text.splitlines())} lines"
    blocks = code_blocks(text)
    assert blocks[0] == [MAIN_COMMAND], "the README's first command sets up and runs the main job on ml-100k"
    assert blocks[1] == [ci_command()], "the README's second command is exactly what .ci/run runs"
    # ... and they are the page's opening, before any section
    assert text.index(MAIN_COMMAND) < text.index(ci_command()) < text.index("\n## ")


def test_the_readme_types_no_measured_figure_and_its_links_resolve():
    text = read(README)
    # Figures belong to the rendered results pages: no metric values, test counts or timings typed by hand.
    assert not re.search(r"\b0\.\d{3,}\b", text), re.findall(r".*\b0\.\d{3,}\b.*", text)
    assert not re.search(r"\b\d+ (passed|skipped|tests)\b", text)
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" not in target:
            assert os.path.exists(os.path.join(ROOT, target)), f"README links to a missing file: {target}"


# ---------------------------------------------------------------------------------------------------------------
# The configuration reference


def part_keys():
    """Keys the parts declare beside their code (``config_keys``), where the registries provide them."""
    try:
        from recbole_srt.model import part_config_defaults
    except ImportError:
        part_config_defaults = None
    if part_config_defaults is not None:
        return set(part_config_defaults())
    from recbole_srt.model.backbones import BACKBONES
    from recbole_srt.model.item_encoders import ITEM_ENCODERS
    from recbole_srt.model.losses import LOSSES

    return {key for registry in (ITEM_ENCODERS, BACKBONES, LOSSES) for _, cls in registry.items()
            for key in getattr(cls, "config_keys", {})}


def plugin_keys():
    """Every key the plugin adds: the keys a run may set (``known_keys``) less RecBole's own, plus the parts' keys
    and, where the configuration lists them, the keys of the plugin's defaults."""
    import recbole_srt.config as config
    from recbole_srt.config_check import known_keys

    with tempfile.TemporaryDirectory() as empty:  # no plugin yaml: RecBole's keys alone
        recbole_keys = known_keys(empty)
    keys = (set(known_keys(config.PROPERTIES_DIR)) - set(recbole_keys)) | part_keys()
    if hasattr(config, "plugin_defaults"):
        keys |= set(config.plugin_defaults())
    return keys


def test_every_plugin_key_is_in_the_configuration_reference():
    documented = set(REFERENCE_ROW.findall(read(REFERENCE)))
    keys = plugin_keys()
    assert {"num_negatives", "item_encoder", "eval_negatives", "ewc_lambda", "text_fields"} <= keys  # the scan works
    missing = sorted(keys - documented)
    assert not missing, f"keys missing from docs/configuration.md (add a '| `key` | default | meaning |' row): {missing}"


def test_the_configuration_reference_lists_no_unknown_key():
    import recbole_srt.config as config
    from recbole_srt.config_check import known_keys

    known = set(known_keys(config.PROPERTIES_DIR)) | part_keys()
    stale = sorted(set(REFERENCE_ROW.findall(read(REFERENCE))) - known)
    assert not stale, f"docs/configuration.md documents keys no run accepts: {stale}"
