from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A settings section: unknown keys and wrong types are errors, never ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
