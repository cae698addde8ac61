"""Reading and checking an organization's resource rows, shared by users and groups."""

from typing import TypeVar

from sqlalchemy import ColumnElement, String, func, select
from sqlalchemy.orm import Session

from scimgate.errors import InvalidValueError, NotFoundError
from scimgate.storage.models import Group, Organization, User, UserEmail

from .paging import Page, PageRequest

Resource = TypeVar("Resource", User, Group)


def get(session: Session, org: Organization, model: type[Resource], resource_id: str) -> Resource:
    """Return the organization's row with this id; 404 if none (or another org's)."""
    # No id holds NUL, and PostgreSQL refuses to compare text holding it.
    row = None
    if "\x00" not in resource_id:
        row = session.scalars(
            select(model).where(model.org_id == org.id, model.id == resource_id)
        ).first()
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
    """Return one page of the organization's rows matching ``where``, oldest first.

    The order (creation time, then id) is total, so pages never overlap or skip.
    """
    condition = model.org_id == org.id
    if where is not None:
        condition = condition & where
    total = session.scalar(select(func.count()).select_from(model).where(condition)) or 0
    items: list[Resource] = []
    if page.count > 0:
        items = list(
            session.scalars(
                select(model)
                .where(condition)
                .order_by(model.created_at, model.id)
                .offset(page.start_index - 1)
                .limit(page.count)
            )
        )
    return Page(total=total, items=items, start_index=page.start_index)


def check_fits(row: User | UserEmail | Group, names: dict[str, str]) -> None:
    """Refuse values a column cannot hold, so they are a 400 and not a database error.

    PostgreSQL refuses text longer than a VARCHAR's length and any text holding NUL,
    where SQLite would store both: checking here keeps the two dialects alike.
    ``names`` maps column names to the SCIM attribute names used in the error.
    """
    table = type(row).__table__
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
