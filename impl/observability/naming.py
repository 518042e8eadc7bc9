"""The names that metrics, traces and logs give to requests and statements."""

from starlette.types import Scope

UNMATCHED_ROUTE = "unmatched"
UNNAMED_STATEMENT = "unnamed"


def route_template(scope: Scope) -> str:
    """The path template of the route that served the request, as the contract spells it: a
    bounded set of names that dashboards query.

    `path_format`, not `path`: a route's `path` keeps its convertors
    (`{task_id:task_id_except_changes}`), which are how it is matched, not its name.
    """
    route = scope.get("route")
    path = getattr(route, "path_format", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


TRANSACTION_CONTROL = frozenset({"begin", "commit", "rollback"})


def named(name: str, sql: str) -> str:
    """`sql` carrying `name` in a leading comment, which `statement_name` reads back.

    The comment also shows in pg_stat_activity and pg_stat_statements, so what is slow in the
    database can be traced to the code that sent it.
    """
    return f"/* {name} */ {sql.strip()}"


def statement_name(query: str) -> str:
    """The name `named` gave a statement; BEGIN, COMMIT and ROLLBACK are named for themselves."""
    if query.startswith("/* "):
        end = query.find(" */", 3)
        if end > 0:
            return query[3:end]
    keyword = query[:9].strip().rstrip(";").lower()
    return keyword if keyword in TRANSACTION_CONTROL else UNNAMED_STATEMENT
