"""What a user can do with their settings; it only ever sees `owner_id`'s."""

from pydantic import MISSING

from generated.documents import Settings
from generated.models import SettingsPatch
from impl.dates.due import known_zone
from impl.errors import ApiError
from impl.user_settings.repository import SettingsRepository
from impl.versioned import Vocabulary


def _never_missing() -> ApiError:
    # Every user has settings (the defaults until they change them).
    raise AssertionError("settings are never missing")


SETTINGS = Vocabulary(
    not_found=_never_missing,
    changed="The settings have changed since the version named in If-Match.",
)


class SettingsService:
    def __init__(self, repository: SettingsRepository, owner_id: str) -> None:
        self._repository = repository
        self._owner_id = owner_id

    async def get(self) -> Settings:
        return await self._repository.get(self._owner_id)

    async def update(self, if_match: list[int] | None, patch: SettingsPatch) -> Settings:
        time_zone = None if patch.time_zone is MISSING else str(patch.time_zone)
        if time_zone is not None:
            known_zone(time_zone, ("body", "time_zone"))
        outcome = await self._repository.update(self._owner_id, if_match, time_zone)
        return SETTINGS.answer(outcome, if_match)
