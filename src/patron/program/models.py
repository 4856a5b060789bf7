"""Stored program versions. The newest version is the program in force."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patron.core.db import Base, BigId


class ProgramVersion(Base):
    __tablename__ = "program_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]]
    # sha256 of the canonical definition: the key under which parsed programs are cached.
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)  # the YAML as loaded, for humans
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(200))
