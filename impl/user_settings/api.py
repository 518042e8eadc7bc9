"""The generated `BaseSettingsApi`, implemented: authorize, translate HTTP terms, call the
service."""

from collections.abc import Mapping
from typing import Any

from contract_runtime.answers import Tagged
from contract_runtime.security import Principal
from generated.apis import BaseSettingsApi
from generated.documents import Settings
from generated.models import SettingsPatch
from impl.auth.verifier import require_owner
from impl.user_settings.repository import SettingsRepository
from impl.user_settings.service import SettingsService
from impl.versioned import allowed_versions, entity_tag


class SettingsApi(BaseSettingsApi):
    def __init__(self, repository: SettingsRepository) -> None:
        self._repository = repository

    async def authorize(self, principal: Principal, path: Mapping[str, Any]) -> None:
        require_owner(principal, path["user_id"])

    def _settings(self, principal: Principal, user_id: str) -> SettingsService:
        return SettingsService(self._repository, require_owner(principal, user_id))

    async def get_settings(self, *, principal: Principal, user_id: str) -> Tagged[Settings]:
        return _tagged(await self._settings(principal, user_id).get())

    async def update_settings(
        self, *, principal: Principal, user_id: str, if_match: str | None, body: SettingsPatch
    ) -> Tagged[Settings]:
        service = self._settings(principal, user_id)
        return _tagged(await service.update(allowed_versions(if_match), body))


def _tagged(settings: Settings) -> Tagged[Settings]:
    return Tagged(body=settings, etag=entity_tag(settings))
