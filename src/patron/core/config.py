"""Settings read from the environment (``PATRON_*``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide configuration.

    ``PATRON_DATABASE_URL`` defaults to a SQLite file in the working directory;
    PostgreSQL is reached with ``postgresql+psycopg://user@host/db``.
    """

    model_config = SettingsConfigDict(env_prefix="PATRON_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///patron.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    echo_sql: bool = False
    default_phone_region: str | None = None  # e.g. "DE": read phone numbers without "+" there
    # Larger request bodies are refused (api.limits).
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
