"""Building blocks of response models (issue #17): what every service's ``wire.py`` declares its answers with.

``Answer`` refuses a key the model does not list: FastAPI validates each answer against its ``response_model``,
so a query that starts returning a new key fails loudly in the tests (a 500 naming the key) instead of the
key being filtered out silently — the portal reads these answers. ``Timestamp`` is a datetime on the wire as
the queries have always written it (``datetime.isoformat()``, ``+00:00``), documented as ``date-time``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

Timestamp = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json"),
                      WithJsonSchema({"type": "string", "format": "date-time"})]


class Answer(BaseModel):
    """The base of a response model: every key listed, none dropped without a trace."""

    model_config = ConfigDict(extra="forbid")
