"""The contract's string formats, checked as the contract means them.

Pydantic's lax mode reads a number, a date alone or a numeric string as a date-time; JSON Schema's
`date-time` is an RFC 3339 string with a time zone and nothing else. Every request model derives
from `ContractModel`, which holds each date-time field to that; `DateTime` does the same for a
parameter, and both hold it to the range every layer can represent. Lax mode also reads `052`,
`+52` or `5_2` as an integer; `Integer` holds a parameter to plain decimal digits,
and `Boolean` to `true` or `false`.
"""

import re
from datetime import UTC, datetime
from types import UnionType
from typing import Annotated, Any, ClassVar, Self, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

RFC3339_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def rfc3339_date_time(value: object) -> object:
    """`value` if it is an RFC 3339 date-time with a time zone (or already an aware datetime)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str) and RFC3339_DATE_TIME.fullmatch(value):
        return value
    raise ValueError("must be an RFC 3339 date-time with a time zone, such as 2026-12-01T17:00:00Z")


# The contract's range, in UTC, both ends excluded. Python's datetime holds years 1 to 9999, and an
# offset moves an instant across those ends (9999-12-31T23:59:59-01:00 is valid RFC 3339, but its
# UTC form is in year 10000). asyncpg writes Python's first and last instants as PostgreSQL's
# -infinity and infinity, which read back without a zone: those two are out as well.
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def within_the_range(value: datetime) -> datetime:
    """`value` if its UTC form lies strictly between EARLIEST and LATEST."""
    try:
        if EARLIEST < value.astimezone(UTC) < LATEST:
            return value
    except OverflowError:
        pass
    raise ValueError(
        "must lie after 0001-01-01T00:00:00Z and before 9999-12-31T23:59:59.999999Z (in UTC)"
    )


DateTime = Annotated[
    AwareDatetime, BeforeValidator(rfc3339_date_time), AfterValidator(within_the_range)
]

CANONICAL_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")


def canonical_integer(value: object) -> object:
    """A parameter's integer in its one decimal spelling: `52`, never `052`, `+52` or `52.0`.

    Each resource has one URL: another spelling of the same number would name it again.
    """
    if isinstance(value, str) and not CANONICAL_INTEGER.fullmatch(value):
        raise ValueError("must be an integer written in decimal digits, such as 42")
    return value


Integer = Annotated[int, BeforeValidator(canonical_integer)]


def canonical_boolean(value: object) -> object:
    """A parameter's boolean as JSON spells it: `true` or `false`, never `1`, `yes` or `on`.

    Lax mode reads those too, and `0`, `off` or `no` as false: a client that meant something
    else by them would get an answer to a question it did not ask.
    """
    if isinstance(value, str) and value not in ("true", "false"):
        raise ValueError("must be true or false")
    return value


Boolean = Annotated[bool, BeforeValidator(canonical_boolean)]


def _names_a_date_time(annotation: Any) -> bool:
    if annotation is AwareDatetime or (
        isinstance(annotation, type) and issubclass(annotation, datetime)
    ):
        return True
    if get_origin(annotation) in (Union, UnionType, Annotated):
        return any(_names_a_date_time(argument) for argument in get_args(annotation))
    return False


def _takes_a_boolean(annotation: Any) -> bool:
    if annotation is bool:
        return True
    if get_origin(annotation) in (Union, UnionType, Annotated):
        return any(_takes_a_boolean(argument) for argument in get_args(annotation))
    return False


class ContractModel(BaseModel):
    """The base of every generated request model.

    Its checks of a body's raw members wrap the model's own validation rather than each field's:
    a validator before a field would keep the field from telling the members of a discriminated
    union apart (pydantic refuses one on a discriminator).
    """

    # The JSON names of the members that are date-times, and of those that are booleans.
    date_time_fields: ClassVar[frozenset[str]] = frozenset()
    # Lax mode reads JSON's `true` as the integer 1 (an id, a parent): only a field of the
    # contract's boolean type takes one.
    boolean_fields: ClassVar[frozenset[str]] = frozenset()
    other_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        names = {name: field.alias or name for name, field in cls.model_fields.items()}
        cls.date_time_fields = frozenset(
            names[name]
            for name, field in cls.model_fields.items()
            if _names_a_date_time(field.annotation)
        )
        cls.boolean_fields = frozenset(
            names[name]
            for name, field in cls.model_fields.items()
            if _takes_a_boolean(field.annotation)
        )
        cls.other_fields = frozenset(names.values()) - cls.boolean_fields

    @model_validator(mode="wrap")
    @classmethod
    def _members_as_the_contract_types_them(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self]
    ) -> Self:
        if isinstance(data, dict):
            problems = [
                _value_error(member, value, message)
                for member, value in data.items()
                if (message := cls._refusal(member, value)) is not None
            ]
            if problems:
                raise ValidationError.from_exception_data(cls.__name__, problems)
        return handler(data)

    @classmethod
    def _refusal(cls, member: str, value: Any) -> str | None:
        if isinstance(value, bool) and member in cls.other_fields:
            return "Input should not be a boolean"
        if value is not None and member in cls.date_time_fields:
            try:
                rfc3339_date_time(value)
            except ValueError as error:
                return str(error)
        return None

    @field_validator("*", mode="after")
    @classmethod
    def _date_times_are_within_the_range(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, datetime) or info.field_name not in cls.date_time_fields:
            return value
        return within_the_range(value)


def _value_error(member: str, value: Any, message: str) -> InitErrorDetails:
    """A problem at `member`, as pydantic words one a validator raised as ValueError."""
    return InitErrorDetails(
        type="value_error", loc=(member,), input=value, ctx={"error": ValueError(message)}
    )
