"""Value types shared by several events."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Rupiah = Annotated[int, Field(ge=0, description="integer rupiah")]
Fulfilment = Literal["pickup_stall", "pickup_rw_hub", "delivery"]
ParticipantGroup = Literal["pkk", "pelaku_usaha", "pengurus_rw", "karang_taruna", "lpm", "umum"]
ProgrammeStyle = Literal["in_person", "webinar", "hybrid"]


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    product_id: str
    vendor_id: str
    quantity: int = Field(gt=0)
    unit_price: Rupiah
    name: str | None = None  # the product's name and unit at checkout (for messages to buyer and vendor)
    unit: str | None = None
    sold_by: str = "piece"  # "weight": quantity in grams, unit_price per kg (shared.measure)
    amount: Rupiah | None = None  # the line's rupiah as checkout computed it (shared.measure.line_amount)


class LineRef(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    product_id: str
    quantity: int = Field(gt=0)


class RejectedLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    product_id: str
    reason: str
