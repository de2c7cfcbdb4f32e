"""`qcloop data synth` and `qcloop data info` end to end, in a temporary workspace."""

from __future__ import annotations

import json
from pathlib import Path


def make_workspace(tmp_path: Path, config: str = "") -> Path:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "qcloop.yaml").write_text(config)
    return workspace


SHORT = ["--start", "2020-01-02", "--end", "2020-03-31", "--minute-days", "1"]


def test_synth_into_the_workspace_data_folder_with_the_configured_seed(tmp_path: Path, cli) -> None:
    workspace = make_workspace(tmp_path, "data:\n  synthetic_seed: 3\n")
    result = cli(["data", "synth", *SHORT, "--plant", "tsmom=0.05", "--plant", "tsmom_lookback=20"], cwd=workspace)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("SYNTHETIC market data written to") and "(seed 3)" in result.stdout
    marker = json.loads((workspace / "data" / ".qcloop-synthetic.json").read_text())
    assert marker["seed"] == 3 and marker["planted"]["tsmom"]["lookback_days"] == 20
    assert (workspace / "data" / "equity" / "usa" / "minute" / "spy" / "20200331_quote.zip").is_file()

    info = cli(["data", "info"], cwd=workspace)
    assert info.code == 0, info.stderr
    assert "SYNTHETIC data (seed 3, planted: tsmom 0.05)" in info.stdout
    assert "SPY  daily 2020-01-02 .. 2020-03-31; hour 2020-01-02 .. 2020-03-31; minute 2020-03-31 .. " \
           "2020-03-31 (1 day)" in info.stdout
    as_json = json.loads(cli(["data", "info", "--json"], cwd=workspace).stdout)
    assert as_json["synthetic"] is True and as_json["symbols"]["GLD"]["resolutions"]["daily"] == ["2020-01-02",
                                                                                                 "2020-03-31"]


def test_synth_errors_are_one_sentence(tmp_path: Path, cli) -> None:
    outside = cli(["data", "synth"], cwd=tmp_path)
    assert outside.code == 1 and "pass --output DIR" in outside.stderr
    bad_plant = cli(["data", "synth", "-o", "x", "--plant", "tsmom"], cwd=tmp_path)
    assert bad_plant.code == 1 and "'tsmom' is not EFFECT=VALUE" in bad_plant.stderr
    both = cli(["data", "synth", "-o", "x", "--plant", "tsmom=0.1", "--random-walk"], cwd=tmp_path)
    assert both.code == 1 and "random walk has no planted effects" in both.stderr
    bad_date = cli(["data", "synth", "-o", "x", "--start", "2020-13-01"], cwd=tmp_path)
    assert bad_date.code == 2  # argparse usage error
    (tmp_path / "real" / "equity").mkdir(parents=True)
    refused = cli(["data", "synth", "-o", "real", *SHORT], cwd=tmp_path)
    assert refused.code == 1 and "did not generate" in refused.stderr
    missing = cli(["data", "info", "nowhere"], cwd=tmp_path)
    assert missing.code == 1 and "does not exist" in missing.stderr


def test_random_walk_cli(tmp_path: Path, cli) -> None:
    result = cli(["data", "synth", "-o", "noise", "--random-walk", "--symbols", "SPY", "QQQ", *SHORT], cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "random walk (zero drift, no effects)" in result.stdout
    info = cli(["data", "info", "noise"], cwd=tmp_path)
    assert "SYNTHETIC data (seed 7, random walk)" in info.stdout
