"""The `tasks` table as SQLModel sees it; sql/ migrations are what create and change it."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Text
from sqlmodel import Field, SQLModel


class TaskRecord(SQLModel, table=True):
    __tablename__ = "tasks"

    user_id: str = Field(sa_column=Column(Text, primary_key=True))
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completed: bool = False
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
