"""Reading and writing the project's files: atomic writes, JSON models with French errors."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from coop_tender.errors import UserError, describe_validation_error

M = TypeVar("M", bound=BaseModel)


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write a file so that readers see either the old content or the new, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_model(path: Path, model: BaseModel) -> Path:
    """Write a model as indented JSON, atomically."""
    return write_atomic(path, model.model_dump_json(indent=2, exclude_none=False) + "\n")


def read_model(path: Path, cls: type[M]) -> M:
    """Read and validate a JSON file as `cls`; any problem becomes a `UserError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} : fichier introuvable")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} : JSON illisible ({exc})") from None
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        raise UserError(f"{path} : {'; '.join(problems[:5])}", problems) from None
