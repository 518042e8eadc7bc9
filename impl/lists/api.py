"""The generated `BaseListsApi`, implemented: authorize, translate HTTP terms, call the service."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from contract_runtime.answers import Created, Tagged
from contract_runtime.security import Principal
from generated.apis import BaseListsApi
from generated.documents import TodoList, TodoListPage
from generated.models import ListMove, TodoListInput, TodoListPatch
from impl.auth.verifier import require_owner
from impl.lists.repository import ListRepository
from impl.lists.service import ListPolicy, ListService, TasksOnDelete
from impl.versioned import allowed_versions, entity_tag


class ListsApi(BaseListsApi):
    def __init__(self, repository: ListRepository, policy: ListPolicy) -> None:
        self._repository = repository
        self._policy = policy

    async def authorize(self, principal: Principal, path: Mapping[str, Any]) -> None:
        require_owner(principal, path["user_id"])

    def _lists(self, principal: Principal, user_id: str) -> ListService:
        return ListService(self._repository, self._policy, require_owner(principal, user_id))

    async def list_lists(
        self,
        *,
        principal: Principal,
        user_id: str,
        archived: bool | None,
        # The route has held it to the contract's enum.
        sort: str,
        limit: int,
        cursor: str | None,
    ) -> TodoListPage:
        return await self._lists(principal, user_id).list_page(archived, sort, cursor, limit)

    async def create_list(
        self,
        *,
        principal: Principal,
        user_id: str,
        idempotency_key: str | None,
        body: TodoListInput,
    ) -> Created[TodoList]:
        creation = await self._lists(principal, user_id).create(body, idempotency_key)
        todo_list = creation.todo_list
        return Created(
            body=todo_list,
            location=f"/api/{quote(user_id)}/lists/{todo_list['id']}",
            etag=entity_tag(todo_list),
            replayed=creation.replayed,
        )

    async def get_list(
        self, *, principal: Principal, user_id: str, list_id: int
    ) -> Tagged[TodoList]:
        return _tagged(await self._lists(principal, user_id).get(list_id))

    async def replace_list(
        self,
        *,
        principal: Principal,
        user_id: str,
        list_id: int,
        if_match: str | None,
        body: TodoListInput,
    ) -> Tagged[TodoList]:
        service = self._lists(principal, user_id)
        return _tagged(await service.replace(list_id, allowed_versions(if_match), body))

    async def update_list(
        self,
        *,
        principal: Principal,
        user_id: str,
        list_id: int,
        if_match: str | None,
        body: TodoListPatch,
    ) -> Tagged[TodoList]:
        service = self._lists(principal, user_id)
        return _tagged(await service.update(list_id, allowed_versions(if_match), body))

    async def move_list(
        self,
        *,
        principal: Principal,
        user_id: str,
        list_id: int,
        if_match: str | None,
        body: ListMove,
    ) -> Tagged[TodoList]:
        service = self._lists(principal, user_id)
        return _tagged(await service.move(list_id, allowed_versions(if_match), body))

    async def delete_list(
        self,
        *,
        principal: Principal,
        user_id: str,
        list_id: int,
        tasks: TasksOnDelete,
        if_match: str | None,
    ) -> None:
        service = self._lists(principal, user_id)
        await service.delete(list_id, allowed_versions(if_match), tasks)


def _tagged(todo_list: TodoList) -> Tagged[TodoList]:
    return Tagged(body=todo_list, etag=entity_tag(todo_list))
