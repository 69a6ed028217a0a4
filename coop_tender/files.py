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


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def write_atomic(path: Path, data: bytes | str, *, private: bool = False) -> Path:
    """Write a file so that readers see either the old content or the new, never half of it.

    The file gets the usual permissions (0666 less the umask), like any file a program
    writes; `private` keeps it to its owner (0600), for what holds a secret link."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if not private:
            os.fchmod(fd, 0o666 & ~_umask())
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
