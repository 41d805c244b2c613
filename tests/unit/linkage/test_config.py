"""One source of linkage defaults: Python, YAML, the example config and the CLI agree."""

from dataclasses import fields

from typer.testing import CliRunner

from ansim.cli import app
from ansim.linkage import (
    CONFIG_KEYS,
    DEFAULT_DICE_BANDS,
    FieldComparison,
    LinkageConfig,
    example_config,
    fitted_to_field,
)

runner = CliRunner()


def test_example_config_holds_every_key_at_its_default() -> None:
    assert set(CONFIG_KEYS) == {f.name for f in fields(LinkageConfig)}
    text = example_config()
    assert LinkageConfig.from_yaml_text(text) == LinkageConfig()
    for key in CONFIG_KEYS:
        assert any(line.startswith(f"{key}: ") and "#" in line for line in text.splitlines()), key


def test_cli_example_is_the_example_and_help_lists_every_key() -> None:
    result = runner.invoke(app, ["linkage", "config", "--example"])
    assert result.exit_code == 0, result.output
    assert result.output == example_config()
    shown = runner.invoke(app, ["linkage", "config"])
    assert LinkageConfig.from_yaml_text(shown.output) == LinkageConfig()
    help_text = runner.invoke(app, ["linkage", "config", "--help"], env={"COLUMNS": "200"})
    for key in CONFIG_KEYS:
        assert key in help_text.output, key


def test_yaml_comparison_without_bands_equals_the_python_default() -> None:
    config = LinkageConfig.from_yaml_text(
        "comparisons: [{column: bf_name}, {column: token_rrn}, {column: bf_sex, bands: []}]"
    )
    assert config.comparisons == (
        FieldComparison("bf_name"),
        FieldComparison("token_rrn"),
        FieldComparison("bf_sex"),
    )
    assert config.comparisons[0].bands == DEFAULT_DICE_BANDS
    assert LinkageConfig.from_yaml_text(config.to_yaml()) == config


def test_cli_options_override_the_config_and_nothing_else() -> None:
    base = LinkageConfig.from_yaml_text("{max_block: 50, seed: 1}")
    changed = base.with_options(
        match_probability=0.8, assignment="greedy", seed=7, blocking_mode="lsh"
    )
    assert (changed.match_probability, changed.assignment, changed.seed) == (0.8, "greedy", 7)
    assert changed.blocking_mode == "lsh"
    assert changed.max_block == 50
    assert base.with_options(seed=None, assignment=None) == base


def test_default_bands_on_a_few_valued_field_become_equal_or_not() -> None:
    given = FieldComparison("bf_name", (1.0, 0.8))
    assert fitted_to_field(given, None) is given  # explicit bands stay
    assert fitted_to_field(FieldComparison("token_rrn"), None).bands == (1.0,)
