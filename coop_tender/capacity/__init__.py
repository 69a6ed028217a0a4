"""Capacity forms: the xlsx a member structure fills in, written prefilled and read back.

`write_form` writes one member's form; `read_form` reads a returned one into a `Member`,
raising a `UserError` that lists every bad cell in French. See `forms` for the commands.
"""

from coop_tender.capacity.read import read_form
from coop_tender.capacity.write import form_bytes, write_form

__all__ = ["form_bytes", "read_form", "write_form"]
