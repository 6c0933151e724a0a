"""Reading HTML forms and query strings into typed values with clear per-field errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import BodyPartReader, MultipartReader, web
from multidict import MultiDictProxy

from certmgr.shared.errors import FieldsError, ValidationError

MAX_FIELD = 10_000
T = TypeVar("T")
MULTIPART_READER: web.RequestKey[MultipartReader] = web.RequestKey(
    "certmgr.multipart", MultipartReader
)


async def form_of(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The posted form (url-encoded or multipart)."""
    return await request.post()


def sentence(message: str) -> str:
    """A message as a sentence: capital first letter, full stop at the end."""
    text_ = message.strip()
    if not text_:
        return text_
    text_ = text_[0].upper() + text_[1:]
    return text_ if text_[-1] in ".!?" else text_ + "."


class FormErrors:
    """A form's errors by field, collected so that the page shows them all at once."""

    def __init__(self) -> None:
        """Start with none."""
        self.by_field: dict[str, str] = {}

    def read(self, parse: Callable[[], T], default: T) -> T:
        """``parse()``, or ``default`` after noting its :class:`ValidationError`."""
        try:
            return parse()
        except ValidationError as err:
            self.add(err)
            return default

    def add(self, err: ValidationError, field: str | None = None) -> None:
        """Note an error (each of a :class:`FieldsError`); the first one per field stays."""
        for one in err.errors if isinstance(err, FieldsError) else (err,):
            self.by_field.setdefault(field or one.field or "form", sentence(str(one)))

    def __bool__(self) -> bool:
        """Whether any field is wrong."""
        return bool(self.by_field)


async def multipart_csrf(request: web.Request) -> str | None:
    """The CSRF token of a multipart form: its first part, named ``csrf``.

    Big uploads are read once, as a stream: the reader, past the token, is kept on the request
    for the handler (:func:`multipart_reader`), so the token never has to travel in the URL.
    """
    reader = await request.multipart()
    request[MULTIPART_READER] = reader
    part = await reader.next()
    if isinstance(part, BodyPartReader) and part.name == "csrf":
        return (await part.text())[:200]
    return None


async def multipart_reader(request: web.Request) -> MultipartReader:
    """The multipart reader of a form: the one the CSRF check started, else a new one.

    Raises:
        ValidationError: The form was not sent as ``multipart/form-data`` (it carries files).
    """
    reader = request.get(MULTIPART_READER)
    if isinstance(reader, MultipartReader):
        return reader
    if not request.content_type.startswith("multipart/"):
        raise ValidationError("this form carries files: send it as multipart/form-data")
    return await request.multipart()


def text(
    form: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    max_len: int = 500,
    label: str | None = None,
) -> str:
    """A single-line text field, stripped.

    Raises:
        ValidationError: Missing when required, too long, not text, or with control characters.
    """
    raw = form.get(name, "")
    if not isinstance(raw, str):
        raise ValidationError(f"{label or name} must be text", field=name)
    value = raw.strip()
    if required and not value:
        raise ValidationError(f"{label or name} is required", field=name)
    if len(value) > max_len:
        raise ValidationError(f"{label or name} must be at most {max_len} characters", field=name)
    if any(ord(c) < 32 and c not in "\t" for c in value):
        raise ValidationError(f"{label or name} must be a single line", field=name)
    return value


def multiline(
    form: Mapping[str, Any], name: str, *, max_len: int = MAX_FIELD, label: str | None = None
) -> str:
    """A free-text field (line breaks allowed).

    Raises:
        ValidationError: Too long or not text.
    """
    raw = form.get(name, "")
    if not isinstance(raw, str):
        raise ValidationError(f"{label or name} must be text", field=name)
    if len(raw) > max_len:
        raise ValidationError(f"{label or name} must be at most {max_len} characters", field=name)
    return raw.replace("\r\n", "\n").strip()


def integer(
    form: Mapping[str, Any],
    name: str,
    *,
    default: int | None = None,
    lo: int = 0,
    hi: int = 2**31,
    label: str | None = None,
) -> int:
    """An integer field within bounds.

    Raises:
        ValidationError: Missing (without default), not a number, or out of range.
    """
    raw = form.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if default is None:
            raise ValidationError(f"{label or name} is required", field=name)
        return default
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ValidationError(f"{label or name} must be a whole number", field=name)
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValidationError(f"{label or name} must be a whole number", field=name) from None
    if not lo <= value <= hi:
        raise ValidationError(f"{label or name} must be between {lo} and {hi}", field=name)
    return value


def choice(
    form: Mapping[str, Any],
    name: str,
    options: Sequence[str],
    *,
    default: str | None = None,
    label: str | None = None,
) -> str:
    """One of ``options``.

    Raises:
        ValidationError: Another value.
    """
    raw = form.get(name, default)
    if raw is None or raw == "":
        if default is not None:
            return default
        raise ValidationError(f"{label or name} is required", field=name)
    if raw not in options:
        raise ValidationError(f"{label or name} must be one of {', '.join(options)}", field=name)
    return str(raw)


def checkbox(form: Mapping[str, Any], name: str) -> bool:
    """An HTML checkbox (present = on); JSON booleans too."""
    raw = form.get(name)
    if isinstance(raw, bool):
        return raw
    return raw in ("on", "1", "true", "yes")


def lines(value: str) -> list[str]:
    """Non-empty lines or comma-separated items."""
    return [
        p.strip() for chunk in value.replace(",", "\n").splitlines() for p in [chunk] if p.strip()
    ]


@dataclass(frozen=True)
class ListQuery:
    """Server-side sorting, filtering, searching and paging of a table."""

    q: str = ""
    sort: str = ""
    desc: bool = False
    page: int = 1
    per_page: int = 50
    filters: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_request(
        cls,
        request: web.Request,
        *,
        sortable: Sequence[str],
        default_sort: str,
        filters: Sequence[str] = (),
    ) -> ListQuery:
        """Parse ``?q=&sort=&dir=&page=&per_page=`` plus the named filters; bad values fall back to defaults."""
        qs = request.query
        sort = qs.get("sort", default_sort)
        if sort not in sortable:
            sort = default_sort
        try:
            page = max(1, min(100_000, int(qs.get("page", "1"))))
        except ValueError:
            page = 1
        try:
            per_page = max(10, min(200, int(qs.get("per_page", "50"))))
        except ValueError:
            per_page = 50
        f = tuple((k, qs[k][:100]) for k in filters if qs.get(k))
        return cls(
            q=qs.get("q", "").strip()[:200],
            sort=sort,
            desc=qs.get("dir") == "desc",
            page=page,
            per_page=per_page,
            filters=f,
        )

    def filter(self, name: str) -> str:
        """A filter's value ("" when unset)."""
        return dict(self.filters).get(name, "")

    def link(self, **changes: Any) -> str:
        """A query string with some parameters changed (for sort headers and pagers)."""
        from urllib.parse import urlencode

        params: dict[str, Any] = {
            "q": self.q,
            "sort": self.sort,
            "dir": "desc" if self.desc else "asc",
            "page": self.page,
            "per_page": self.per_page,
        }
        params.update(dict(self.filters))
        params.update(changes)
        return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

    def sort_link(self, column: str) -> str:
        """Link that sorts by ``column`` (toggling direction when already sorted by it)."""
        desc = not self.desc if self.sort == column else False
        return self.link(sort=column, dir="desc" if desc else "asc", page=1)


def ticked(form: Mapping[str, Any], name: str, *, limit: int = 5000) -> list[int]:
    """The ids of the rows ticked in a list's bulk form (checkboxes named ``name``), at most ``limit``."""
    getall = getattr(form, "getall", None)
    values = getall(name, []) if getall is not None else [form.get(name)]
    return sorted({int(v) for v in values if isinstance(v, str) and v.isdigit() and len(v) < 12})[
        :limit
    ]


def back_to(form: Mapping[str, Any], path: str) -> str:
    """``path`` with the list's query string the bulk form came from (only a ``?...`` is taken)."""
    back = form.get("back", "")
    return path + back if isinstance(back, str) and back.startswith("?") else path
