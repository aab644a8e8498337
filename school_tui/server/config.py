"""Where the database is, and which school (role prefix) in it. Nothing runs at import.

Resolution order, first match wins:
1. `--dsn` on the command line;
2. `SCHOOL_TUI_DSN` in the environment;
3. libpq's own settings: any of PGHOST, PGHOSTADDR, PGPORT, PGDATABASE, PGSERVICE in the
   environment (libpq reads them, and the service file, itself: we pass an empty conninfo);
4. `dsn = "..."` in `config.toml` in the user's config directory;
5. otherwise the embedded server in the user's data directory.

The DSN's user and password, if any, are used only by the administrative commands
(`db init`, `db upgrade`, `demo`, `user add`). People always log in as their own login role.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from school_tui.domain.money import MoneyFormat

LIBPQ_TARGET_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE")
EMBEDDED_DBNAME = "school"
DEFAULT_ROLE_PREFIX = "school"
ROLE_PREFIX_RULE = re.compile(r"^[a-z][a-z0-9_]{0,29}\Z")  # \Z: "$" would allow a final newline


class ConfigError(ValueError):
    """The configuration names something impossible; the message says which setting."""


@dataclass(frozen=True)
class Config:
    # None means "use the embedded server" (see server/embedded.py).
    dsn: str | None
    role_prefix: str = DEFAULT_ROLE_PREFIX
    embedded_data_dir: Path | None = None
    idle_lock_minutes: int = 10
    away_after_minutes: int = 5  # no input this long: the person shows as away
    money: MoneyFormat = field(default_factory=MoneyFormat)  # how amounts are shown and typed
    source: str = "embedded"
    extra: dict = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.dsn is None


def config_file() -> Path:
    import platformdirs

    return platformdirs.user_config_path("school-tui") / "config.toml"


def _read_toml(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc


def school_name() -> str:
    """The name printed on receipts and statements: `school_name` in config.toml, else
    "School". As written there: documents make it printable when they render it."""
    try:
        name = _read_toml(config_file()).get("school_name")
    except Exception:  # an unreadable config file is reported by the app's start-up
        name = None
    return name if isinstance(name, str) and name.strip() else "School"


def load(
    cli_dsn: str | None = None,
    cli_role_prefix: str | None = None,
    environ: dict[str, str] | None = None,
    toml_path: Path | None = None,
) -> Config:
    env = os.environ if environ is None else environ
    file_settings = _read_toml(toml_path or config_file())

    dsn: str | None
    if cli_dsn:
        dsn, source = cli_dsn, "--dsn"
    elif env.get("SCHOOL_TUI_DSN"):
        dsn, source = env["SCHOOL_TUI_DSN"], "SCHOOL_TUI_DSN"
    elif any(env.get(name) for name in LIBPQ_TARGET_VARS):
        dsn, source = "", "libpq environment"
    elif file_settings.get("dsn"):
        dsn, source = str(file_settings["dsn"]), str(toml_path or config_file())
    else:
        dsn, source = None, "embedded"

    prefix = (
        cli_role_prefix
        or env.get("SCHOOL_TUI_ROLE_PREFIX")
        or file_settings.get("role_prefix")
        or DEFAULT_ROLE_PREFIX
    )
    if not isinstance(prefix, str) or not ROLE_PREFIX_RULE.match(prefix):
        raise ConfigError(
            f"role_prefix {prefix!r}: must be 1-30 lowercase letters, digits or _, "
            "starting with a letter"
        )

    data_dir = env.get("SCHOOL_TUI_DATA_DIR") or file_settings.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        raise ConfigError(f"data_dir {data_dir!r}: must be a path (a string)")
    idle = file_settings.get("idle_lock_minutes", 10)
    # bool is a subclass of int: `idle_lock_minutes = true` is not a number of minutes
    if not isinstance(idle, int) or isinstance(idle, bool) or idle < 1:
        raise ConfigError("idle_lock_minutes: must be a whole number of minutes, at least 1")
    away = file_settings.get("away_after_minutes", 5)
    if not isinstance(away, int) or isinstance(away, bool) or away < 1:
        raise ConfigError("away_after_minutes: must be a whole number of minutes, at least 1")
    return Config(
        money=_money_format(file_settings),
        dsn=dsn,
        role_prefix=prefix,
        embedded_data_dir=Path(data_dir) if data_dir else None,
        idle_lock_minutes=idle,
        away_after_minutes=away,
        source=source,
    )


def _money_format(settings: dict) -> MoneyFormat:
    """currency_symbol, currency_position ("before"/"after"), thousands_separator and
    decimal_separator from config.toml; the defaults show 1234.5 as ₱1,234.50."""
    default = MoneyFormat()
    symbol = settings.get("currency_symbol", default.symbol)
    if not isinstance(symbol, str) or len(symbol) > 8 or any(c.isdigit() for c in symbol):
        raise ConfigError("currency_symbol: text of at most 8 characters, no digits")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in symbol):
        raise ConfigError("currency_symbol: no control characters")
    position = settings.get("currency_position", "before")
    if position not in ("before", "after"):
        raise ConfigError('currency_position: "before" or "after"')
    thousands = settings.get("thousands_separator", default.thousands)
    decimal = settings.get("decimal_separator", default.decimal)
    if decimal not in (".", ","):
        raise ConfigError('decimal_separator: "." or ","')
    if thousands not in (",", ".", " ", "'", "") or thousands == decimal:
        raise ConfigError(
            'thousands_separator: one of "," "." " " "\'" or "", not the decimal separator'
        )
    if symbol.strip() and (decimal in symbol or (thousands and thousands in symbol)):
        raise ConfigError("currency_symbol: must not contain the separators")
    return MoneyFormat(symbol, position == "after", thousands, decimal)
