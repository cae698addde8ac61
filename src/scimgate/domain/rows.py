"""Reading and checking an organization's resource rows, shared by users and groups."""

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, String, and_, bindparam, case, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from scimgate.errors import InvalidValueError, NotFoundError
from scimgate.storage.models import Base, Group, Organization, ResourceCount, User

from .paging import Ordering, Page, PageRequest

Resource = TypeVar("Resource", User, Group)


# Built once: reading one resource by id is the most frequent request.
_BY_ID: dict[type[Base], Select[Any]] = {
    model: select(model).where(model.org_id == bindparam("org_id"), model.id == bindparam("id"))
    for model in (User, Group)
}
# The same, locking the row until the transaction ends: a change reads the version it
# checks If-Match against and then increments it, and on PostgreSQL (READ COMMITTED)
# two concurrent changes would otherwise both read version n, both pass If-Match and
# both write n + 1, the later one silently overwriting the earlier. SQLite writers
# already hold the database's write lock, and the clause is ignored there. NO KEY
# UPDATE, as a plain UPDATE takes, lets foreign-key checks of member inserts through.
_BY_ID_FOR_UPDATE = {
    model: statement.with_for_update(key_share=True) for model, statement in _BY_ID.items()
}


_COUNT = select(ResourceCount.total).where(
    ResourceCount.org_id == bindparam("org_id"),
    ResourceCount.resource_type == bindparam("kind"),
)


def get(
    session: Session,
    org: Organization,
    model: type[Resource],
    resource_id: str,
    *,
    for_update: bool = False,
) -> Resource:
    """Return the organization's row with this id; 404 if none (or another org's).

    ``for_update`` locks the row for the rest of the transaction, for read-check-write.
    """
    # No id holds NUL, and PostgreSQL refuses to compare text holding it.
    row = None
    if "\x00" not in resource_id:
        statement: Select[Resource] = (_BY_ID_FOR_UPDATE if for_update else _BY_ID)[model]
        row = session.scalars(statement, {"org_id": org.id, "id": resource_id}).first()
    if row is None:
        raise NotFoundError(f"{model.__name__} {resource_id!r} not found.")
    return row


def search(
    session: Session,
    org: Organization,
    model: type[Resource],
    where: ColumnElement[bool] | None,
    page: PageRequest,
) -> Page[Resource]:
    """Return one page of the organization's rows matching ``where``.

    The order always ends with the id, so it is total: pages never overlap or skip,
    and a cursor can name the exact position after which the next page starts.
    """
    condition = model.org_id == org.id
    if where is not None:
        condition = condition & where
        total = session.scalar(select(func.count()).select_from(model).where(condition)) or 0
    else:
        # Exact without counting every row: triggers keep it (storage.models.ResourceCount).
        total = session.scalar(_COUNT, {"org_id": org.id, "kind": model.__name__}) or 0
    if page.count <= 0:
        return Page(total=total, items=[], start_index=page.start_index)
    keys = _sort_keys(model, page.ordering)
    query = select(model, *(key for key, _ in keys)).where(condition)
    if page.keyset and page.after is not None:
        query = query.where(_after(keys, page.after))
    query = query.order_by(*(key.desc() if desc else key.asc() for key, desc in keys))
    if page.keyset:
        found = list(session.execute(query.limit(page.count + 1)))
        more = len(found) > page.count
        found = found[: page.count]
        next_after = tuple(found[-1][1:]) if more and found else None
        items = [row[0] for row in found]
        return Page(total=total, items=items, start_index=1, next_after=next_after)
    items = list(session.scalars(query.offset(page.start_index - 1).limit(page.count)))
    return Page(total=total, items=items, start_index=page.start_index)


# (expression, descending) pairs: columns or SQL expressions.
_Keys = list[tuple[Any, bool]]


def _sort_keys(model: type[Resource], ordering: Ordering) -> _Keys:
    if ordering.key is None:
        return [(model.created_at, False), (model.id, False)]
    # RFC 7644 §3.4.2.3 leaves where missing values sort to the server; they sort last
    # in both directions, on both dialects, by this flag rather than NULLS LAST.
    missing = case((ordering.key.is_(None), 1), else_=0)
    return [(missing, False), (ordering.key, ordering.descending), (model.id, False)]


def _after(keys: _Keys, position: tuple[Any, ...]) -> Any:
    """The rows strictly after ``position`` in the order ``keys`` define (keyset paging)."""
    alternatives = []
    for index, (key, descending) in enumerate(keys):
        value = position[index]
        if value is None:
            continue  # nothing sorts strictly past a missing value within its group
        earlier = [
            other.is_(None) if position[i] is None else other == position[i]
            for i, (other, _) in enumerate(keys[:index])
        ]
        beyond = key < value if descending else key > value
        alternatives.append(and_(*earlier, beyond))
    return or_(*alternatives) if alternatives else false()


def check_fits(row: Base, names: dict[str, str]) -> None:
    """Refuse values a column cannot hold, so they are a 400 and not a database error.

    PostgreSQL refuses text longer than a VARCHAR's length and any text holding NUL,
    where SQLite would store both: checking here keeps the two dialects alike.
    ``names`` maps column names to the SCIM attribute names used in the error.
    """
    table = Base.metadata.tables[type(row).__tablename__]
    for column, attribute in names.items():
        value = getattr(row, column)
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            raise InvalidValueError(f"{attribute} must not contain a NUL character.")
        column_type = table.c[column].type
        length = column_type.length if isinstance(column_type, String) else None
        if length is not None and len(value) > length:
            raise InvalidValueError(
                f"{attribute} is {len(value)} characters long; at most {length} are accepted."
            )
