"""Templates, their versions, and the forms filled on them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import Base, UTCDateTime


class FormTemplate(Base):
    """业务单模板: one per business type; its content lives in versions."""

    __tablename__ = "form_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    business_type: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TemplateVersion(Base):
    """模板版本: the ordered fields of one version; only an approved version is active."""

    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("form_template.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # draft | in_review | active | superseded | rejected
    fields: Mapped[list] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))

    template: Mapped[FormTemplate] = relationship(lazy="joined")


class Form(Base):
    """业务单: filled on one template version; never edited in place once submitted."""

    __tablename__ = "form"
    # A submission key names one act of filling (the form page's one-time token, or an API Idempotency-Key):
    # a second request with the same key finds this form instead of filling another.
    __table_args__ = (UniqueConstraint("created_by", "submission_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"))
    business_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # draft | in_transfer | closed | destroyed
    # The values as shown (sensitive ones masked), sealed under the form's data key (personal.seal_values): read
    # them as `values`. `data` held them in clear before sealing; `guichet migrate` seals what is left there.
    data: Mapped[dict] = mapped_column(JSON)
    sealed_data: Mapped[str | None] = mapped_column(Text)
    # Blind index of the values the inbox search finds a form by (keyed hashes, no text), while the form is live:
    # emptied when it closes.
    search: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    # The form's data key lives in the key store, outside the database: in slot `key_slot` (older forms: under their
    # id; older still: wrapped on the row by the master key `key_id`). `key_id` set says the form has a key.
    wrapped_key: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(16))
    key_slot: Mapped[int | None] = mapped_column(Integer)
    submission_key: Mapped[str | None] = mapped_column(String(64))

    # No save-update cascade: a new form refers to the shared copy of its version (forms/service.py), which
    # must not be attached to the form's session; versions are only ever saved by the templates stage.
    template_version: Mapped[TemplateVersion] = relationship(lazy="joined", cascade="merge")
    corrections: Mapped[list["Correction"]] = relationship(order_by="Correction.seq", lazy="selectin",
                                                           viewonly=True)

    @property
    def values(self) -> dict:
        """The values as filled (sensitive ones masked), opened with the form's data key."""
        return _opener().values_of(self)

    @property
    def current_data(self) -> dict:
        """The values as they stand after every correction (sensitive ones masked)."""
        data = dict(self.values)
        for correction in self.corrections:
            data[correction.field] = correction.new_value
        return data

    @property
    def sensitive_fields(self) -> list[str]:
        """Codes of the fields holding personal information (encrypted, masked)."""
        from .schemas import is_sensitive

        return [f["code"] for f in self.template_version.fields if is_sensitive(f)]

    @property
    def subject(self) -> str:
        """What the form is about, as a person reads it in a task list."""
        return f"{self.number} {self.business_type}"


class SensitiveValue(Base):
    """敏感信息: one sensitive value of a form, AES-GCM encrypted under the form's data key.

    seq 0 is the value as filled; seq n is the value correction n brought.
    """

    __tablename__ = "sensitive_value"
    __table_args__ = (UniqueConstraint("form_id", "field", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id"), index=True)
    field: Mapped[str] = mapped_column(String(50))
    seq: Mapped[int] = mapped_column(Integer)
    ciphertext: Mapped[str] = mapped_column(Text)


class Correction(Base):
    """更正: an amendment appended to a submitted form, with its stamp (who, when, number) and signature."""

    __tablename__ = "correction"
    __table_args__ = (UniqueConstraint("form_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(50))
    # The values (masked when the field is sensitive) and the reason, sealed under the form's data key; read them
    # as old_value, new_value and reason.
    old_sealed: Mapped[str | None] = mapped_column("old_value", Text)
    new_sealed: Mapped[str | None] = mapped_column("new_value", Text)
    reason_sealed: Mapped[str] = mapped_column("reason", Text)
    corrected_by: Mapped[str] = mapped_column(String(100))
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signature: Mapped[str] = mapped_column(String(64))

    @property
    def old_value(self) -> str | None:
        """The value before (masked when the field is sensitive)."""
        return _opener().open_text(self, self.form_id, "correction-old", self.old_sealed)

    @property
    def new_value(self) -> str | None:
        """The value the correction brought (masked when the field is sensitive)."""
        return _opener().open_text(self, self.form_id, "correction-new", self.new_sealed)

    @property
    def reason(self) -> str:
        """Why it was corrected."""
        return _opener().open_text(self, self.form_id, "correction-reason", self.reason_sealed)

    @property
    def stamp(self) -> str:
        """更正章: the stamp's text."""
        return f"更正 第{self.seq}号 · {self.corrected_by} · {self.corrected_at:%Y-%m-%d %H:%M} UTC"


class Attachment(Base):
    """附件: a file on a form's attachment field, sealed with the form's data key."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id"), index=True)
    field_code: Mapped[str] = mapped_column(String(100))
    filename_sealed: Mapped[str] = mapped_column("filename", Text)  # sealed like the file: read it as filename
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def filename(self) -> str:
        """The file's name as uploaded."""
        return _opener().open_text(self, self.form_id, "attachment-name", self.filename_sealed)


def _opener():
    """personal.py, which opens sealed values (imported here late: it imports these models)."""
    from . import personal

    return personal
