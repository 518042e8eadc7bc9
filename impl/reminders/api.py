"""The generated `BaseRemindersApi`, implemented: authorize, call the service."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from contract_runtime.security import Principal
from generated.apis import BaseRemindersApi
from generated.documents import DueReminderPage
from impl.auth.verifier import require_owner
from impl.reminders.repository import ReminderRepository
from impl.reminders.service import ReminderService
from impl.signing import TokenSigner


class RemindersApi(BaseRemindersApi):
    def __init__(self, repository: ReminderRepository, cursors: TokenSigner) -> None:
        self._repository = repository
        self._cursors = cursors

    async def authorize(self, principal: Principal, path: Mapping[str, Any]) -> None:
        require_owner(principal, path["user_id"])

    async def list_reminders(
        self,
        *,
        principal: Principal,
        user_id: str,
        after: datetime | None,
        until: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> DueReminderPage:
        service = ReminderService(
            self._repository, self._cursors, require_owner(principal, user_id)
        )
        return await service.firing(after, until, cursor, limit)
