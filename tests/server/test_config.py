"""Where the database is: config.load's order of precedence and its errors. No server needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from school_tui.server.config import DEFAULT_ROLE_PREFIX, LIBPQ_TARGET_VARS, ConfigError, load

CLI_DSN = "host=cli.example dbname=cli"
ENV_DSN = "host=env.example dbname=env"
FILE_DSN = "host=file.example dbname=file"


@pytest.fixture
def toml(tmp_path):
    """Write a config.toml and return its path; with no argument, a path that does not exist."""

    def write(text: str | None = None) -> Path:
        path = tmp_path / "config.toml"
        if text is not None:
            path.write_text(text)
        return path

    return write


def test_cli_dsn_beats_everything(toml):
    config = load(
        cli_dsn=CLI_DSN,
        environ={"SCHOOL_TUI_DSN": ENV_DSN, "PGHOST": "libpq.example", "PGSERVICE": "svc"},
        toml_path=toml(f'dsn = "{FILE_DSN}"\n'),
    )
    assert (config.dsn, config.source) == (CLI_DSN, "--dsn")
    assert not config.embedded


def test_school_tui_dsn_beats_libpq_environment_and_file(toml):
    config = load(
        environ={"SCHOOL_TUI_DSN": ENV_DSN, "PGHOST": "libpq.example", "PGDATABASE": "x"},
        toml_path=toml(f'dsn = "{FILE_DSN}"\n'),
    )
    assert (config.dsn, config.source) == (ENV_DSN, "SCHOOL_TUI_DSN")


@pytest.mark.parametrize("var", LIBPQ_TARGET_VARS)
def test_libpq_environment_beats_the_file_and_leaves_the_rest_to_libpq(toml, var):
    assert {"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE"} <= set(LIBPQ_TARGET_VARS)
    config = load(
        environ={var: "5433" if var == "PGPORT" else "x"}, toml_path=toml(f'dsn = "{FILE_DSN}"\n')
    )
    # an empty conninfo: libpq itself reads PG* and the service file
    assert (config.dsn, config.source) == ("", "libpq environment")
    assert not config.embedded


def test_only_pg_variables_that_choose_a_server_count(toml):
    # PGUSER/PGPASSWORD say who, not where: they must not take the app off the embedded server
    config = load(environ={"PGUSER": "someone", "PGPASSWORD": "x"}, toml_path=toml())
    assert config.embedded and config.source == "embedded"


def test_config_file_dsn_beats_the_embedded_server(toml):
    path = toml(f'dsn = "{FILE_DSN}"\n')
    config = load(environ={}, toml_path=path)
    assert (config.dsn, config.source) == (FILE_DSN, str(path))


def test_embedded_when_nothing_is_configured(toml):
    config = load(environ={}, toml_path=toml())
    assert config.dsn is None and config.embedded and config.source == "embedded"
    assert config.role_prefix == DEFAULT_ROLE_PREFIX
    assert config.embedded_data_dir is None
    assert config.idle_lock_minutes == 10
    assert config.away_after_minutes == 5


def test_empty_settings_fall_through(toml):
    config = load(
        cli_dsn="",
        environ={"SCHOOL_TUI_DSN": "", "PGHOST": ""},
        toml_path=toml('dsn = ""\n'),
    )
    assert config.embedded


def test_role_prefix_order(toml):
    path = toml('role_prefix = "fromfile"\n')
    env = {"SCHOOL_TUI_ROLE_PREFIX": "fromenv"}
    assert load(cli_role_prefix="fromcli", environ=env, toml_path=path).role_prefix == "fromcli"
    assert load(environ=env, toml_path=path).role_prefix == "fromenv"
    assert load(environ={}, toml_path=path).role_prefix == "fromfile"


def test_data_dir_from_environment_beats_the_file(toml, tmp_path):
    path = toml(f'data_dir = "{tmp_path / "file"}"\n')
    env = {"SCHOOL_TUI_DATA_DIR": str(tmp_path / "env")}
    assert load(environ=env, toml_path=path).embedded_data_dir == tmp_path / "env"
    assert load(environ={}, toml_path=path).embedded_data_dir == tmp_path / "file"


def test_idle_lock_minutes_from_the_file(toml):
    assert load(environ={}, toml_path=toml("idle_lock_minutes = 3\n")).idle_lock_minutes == 3


@pytest.mark.parametrize(
    "prefix",
    ["School", "1school", "my-school", "s" * 31, "école", "a b", "school\n", "x'; drop"],
)
def test_bad_role_prefix_names_the_setting(toml, prefix):
    with pytest.raises(ConfigError, match="role_prefix"):
        load(cli_role_prefix=prefix, environ={}, toml_path=toml())
    with pytest.raises(ConfigError, match="role_prefix"):
        load(environ={"SCHOOL_TUI_ROLE_PREFIX": prefix}, toml_path=toml())


@pytest.mark.parametrize("value", ['"Bad"', "5", "true", '["a"]'])
def test_bad_role_prefix_in_the_file_names_the_setting(toml, value):
    with pytest.raises(ConfigError, match="role_prefix"):
        load(environ={}, toml_path=toml(f"role_prefix = {value}\n"))


def test_longest_good_role_prefix(toml):
    assert load(cli_role_prefix="s" * 30, environ={}, toml_path=toml()).role_prefix == "s" * 30


@pytest.mark.parametrize("value", ["0", "-5", '"10"', "1.5", "true", "false", "[10]"])
def test_bad_idle_lock_minutes_names_the_setting(toml, value):
    with pytest.raises(ConfigError, match="idle_lock_minutes"):
        load(environ={}, toml_path=toml(f"idle_lock_minutes = {value}\n"))


def test_away_after_minutes_from_the_file(toml):
    assert load(environ={}, toml_path=toml("away_after_minutes = 2\n")).away_after_minutes == 2


@pytest.mark.parametrize("value", ["0", "-5", '"10"', "1.5", "true", "[10]"])
def test_bad_away_after_minutes_names_the_setting(toml, value):
    with pytest.raises(ConfigError, match="away_after_minutes"):
        load(environ={}, toml_path=toml(f"away_after_minutes = {value}\n"))


@pytest.mark.parametrize("value", ["5", "true", '["a"]'])
def test_bad_data_dir_names_the_setting(toml, value):
    with pytest.raises(ConfigError, match="data_dir"):
        load(environ={}, toml_path=toml(f"data_dir = {value}\n"))


def test_invalid_toml_names_the_file(toml):
    path = toml("dsn = \n")
    with pytest.raises(ConfigError, match="config.toml"):
        load(environ={}, toml_path=path)


def test_currency_format_comes_from_the_config_file(toml):
    from decimal import Decimal

    from school_tui.domain.money import format_money, parse_amount

    default = load(environ={}, toml_path=toml()).money
    assert format_money(Decimal("1234.5"), default) == "₱1,234.50"
    euro = load(
        environ={},
        toml_path=toml(
            'currency_symbol = "€"\ncurrency_position = "after"\n'
            'thousands_separator = "."\ndecimal_separator = ","\n'
        ),
    ).money
    assert format_money(Decimal("1234.5"), euro) == "1.234,50 €"
    assert parse_amount("1.234,50", fmt=euro) == Decimal("1234.50")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('currency_position = "left"', "currency_position"),
        ('decimal_separator = ";"', "decimal_separator"),
        ('thousands_separator = "."', "thousands_separator"),  # the decimal separator too
        ('currency_symbol = "1$"', "currency_symbol"),
        ('currency_symbol = "\\u001b[31m"', "currency_symbol"),
    ],
)
def test_a_bad_currency_setting_names_itself(toml, text, message):
    with pytest.raises(ConfigError, match=message):
        load(environ={}, toml_path=toml(text + "\n"))
