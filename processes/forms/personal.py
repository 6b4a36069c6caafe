"""A form's content at rest (R4.1.4, R6.2): AES-GCM under a per-form data key wrapped by a master key.

Every value a form holds is sealed under its data key: the personal values one by one (sensitive_value rows,
revealed on request), the shown values as one blob (`form.sealed_data`), the corrections' values and reasons and
the attachments' names and files. Destroying the key (crypto-shredding) makes all of it unreadable, in every
backup of the database too. The inbox search finds a live form through a blind index: keyed hashes of whole
values under a search key of the key store, emptied when the form closes.

The master key lives outside the database: the environment (GUICHET_SECURITY_MASTER_KEY, base64 of 32 bytes)
or a key file under instance/ created on first use. Rotating it re-wraps the data keys only. The wrapped data
keys live in the key store (keystore.py), outside the backed-up database, so destroying a form's key reaches its
backups too; `form.key_id` only says the form has one.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

from cachetools import LRUCache
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ..errors import Conflict
from .keystore import KeyStore, store_path
from .models import Attachment, Correction, Form, SensitiveValue

KEY_FILE = "master.key"
_PREFIX = "v1:"
SEALED = "s1:"  # a sealed text value (a correction's values and reason, an attachment's name)
SEARCH_KEY_ROW = -1  # the key store's row holding the search index key (no form has this id)
SLOT_BATCH = 64  # data keys made ahead per synced write of the key store


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key_id(key: bytes) -> str:
    """A short public name of a master key (never the key itself)."""
    return hashlib.sha256(b"guichet-master-key:" + key).hexdigest()[:16]


class KeySlots:
    """Data keys made ahead for new forms, SLOT_BATCH at a time in one synced write of the key store.

    A new form takes the next one: its key is already safe in the key store, so creating a form writes nothing
    there and waits on no sync. The keys are this process's alone (a forked child makes its own); the slots a
    process never hands out hold keys that seal nothing."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._pid = 0
        self._ready: list[tuple[int, bytes, str]] = []  # (slot, data key, master key id), taken from the end

    def take(self, ring: "Keyring") -> tuple[int, bytes, str]:
        """(slot, data key, master key id) of a key no form has."""
        with self._lock:
            if self._pid != os.getpid():
                self._ready, self._pid = [], os.getpid()
            if not self._ready:
                keys = [AESGCM.generate_key(bit_length=256) for _ in range(SLOT_BATCH)]
                wrapped = [ring.wrap(key) for key in keys]
                slots = ring.store.reserve(wrapped)
                self._ready = [(slot, key, kid) for slot, key, (_w, kid) in zip(slots, keys, wrapped)][::-1]
            return self._ready.pop()


@dataclass
class Keyring:
    """The current master key and older ones still able to unwrap (during a rotation)."""

    primary: bytes
    older: dict[str, bytes] = field(default_factory=dict)
    store: KeyStore | None = None  # where the wrapped data keys are kept; None: on the form row (old databases)
    slots: KeySlots = field(default_factory=KeySlots, repr=False, compare=False)

    @property
    def primary_id(self) -> str:
        """The id data keys are wrapped under now."""
        return key_id(self.primary)

    def key(self, kid: str) -> bytes:
        """The master key with this id."""
        if kid == self.primary_id:
            return self.primary
        if kid in self.older:
            return self.older[kid]
        raise Conflict("加密主密钥不可用, 请联系管理员", code="master_key_missing")

    def wrap(self, data_key: bytes) -> tuple[str, str]:
        """(wrapped data key, master key id)."""
        nonce = os.urandom(12)
        return _PREFIX + _b64(nonce + AESGCM(self.primary).encrypt(nonce, data_key, b"guichet-data-key")), self.primary_id

    def unwrap(self, wrapped: str, kid: str) -> bytes:
        """The data key a wrapped blob holds."""
        raw = base64.b64decode(wrapped[len(_PREFIX):])
        return AESGCM(self.key(kid)).decrypt(raw[:12], raw[12:], b"guichet-data-key")

    def search_key(self) -> bytes:
        """The key of the search index's hashes: kept in the key store beside the data keys (rotated with them),
        made on first use."""
        found = self.__dict__.get("_search_key")
        if found is not None:
            return found
        if self.store is None:
            key = hmac.new(self.primary, b"guichet-search-index", hashlib.sha256).digest()
        else:
            row = self.store.get(SEARCH_KEY_ROW)
            if row is None:
                key = AESGCM.generate_key(bit_length=256)
                self.store.put(SEARCH_KEY_ROW, *self.wrap(key))
            else:
                key = self.unwrap(*row)
        self.__dict__["_search_key"] = key
        return key


_cache: dict[tuple, Keyring] = {}
_latest: Keyring | None = None  # the keyring asked for last (ring_of's fallback)
_lock = Lock()


def key_path(config: dict) -> Path:
    """Where the master key file lives."""
    configured = config.get("security", {}).get("master_key_file") or ""
    return Path(configured) if configured else Path(config["app"]["instance_path"]) / KEY_FILE


def keyring(config: dict) -> Keyring:
    """The keyring of these settings: the environment's key, or the key file (created on first use)."""
    security = config.get("security", {})
    env_key = security.get("master_key") or ""
    # The settings the paths come from: building the paths on every form costs more than the lookup.
    cache_key = (env_key, security.get("master_key_file") or "", config.get("app", {}).get("instance_path"),
                 config.get("keys", {}).get("path") or "")
    global _latest
    found = _cache.get(cache_key)
    if found is not None:
        _latest = found
        return found
    path, keys = key_path(config), store_path(config)
    with _lock:
        if cache_key in _cache:
            return _cache[cache_key]
        if env_key:
            ring = Keyring(base64.b64decode(env_key))
        else:
            ring = Keyring(_read_or_create(path), _older_keys(path))
        ring.store = KeyStore(keys)
        _cache[cache_key] = _latest = ring
        return ring


def forget_keyrings() -> None:
    """Drop cached keyrings and data keys (after a rotation)."""
    with _lock:
        for ring in _cache.values():
            if ring.store is not None:
                ring.store.close()
        _cache.clear()
        global _latest
        _latest = None
    with _data_keys_lock:
        _data_keys.clear()


def _read_or_create(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(_b64(secrets.token_bytes(32)))
    key = base64.b64decode(path.read_text().strip())
    if len(key) != 32:
        raise ValueError(f"{path}: the master key must be 32 bytes (base64)")
    return key


def _older_keys(path: Path) -> dict[str, bytes]:
    """Keys kept beside the current one (master.key.previous, master.key.next) so a rotation can finish."""
    found = {}
    for other in path.parent.glob(path.name + ".*"):
        key = base64.b64decode(other.read_text().strip())
        found[key_id(key)] = key
    return found


class KeyDestroyed(Conflict):
    """The form's data key was destroyed (crypto-shredding): its sealed values can never be read again."""

    code = "data_key_destroyed"


def data_key(ring: Keyring, form: Form) -> bytes:
    """The form's data key, created and wrapped on first use; KeyDestroyed once it has been destroyed.

    Only forms keep their keys in the key store (its rows are by form id); other records that seal values the same
    way (an external query request) keep theirs on their own row."""
    if ring.store is None or not isinstance(form, Form):  # no key store, or another record with its own key (a
        # query request's): the key on the row, as before
        if form.wrapped_key is None:
            key = AESGCM.generate_key(bit_length=256)
            form.wrapped_key, form.key_id = ring.wrap(key)
            return key
        return ring.unwrap(form.wrapped_key, form.key_id)
    with _data_keys_lock:
        cached = _data_keys.get((ring.store.path, form.id))
    if cached is not None:
        return cached
    key = _stored_data_key(ring, form)
    with _data_keys_lock:
        _data_keys[(ring.store.path, form.id)] = key
    return key


# Data keys already unwrapped, by (key store, form id): a form's values are opened several times a request and
# its key is in the key store, outside the database. A destroyed key is dropped here by the process destroying it;
# another process may still hold it, but the form's sealed content is gone from the database by then.
_data_keys: LRUCache = LRUCache(maxsize=4096)
_data_keys_lock = Lock()


def forget_data_keys(ring: Keyring, form_ids: list[int]) -> None:
    """Drop destroyed forms' keys from this process's cache."""
    if ring.store is not None:
        with _data_keys_lock:
            for form_id in form_ids:
                _data_keys.pop((ring.store.path, form_id), None)


def destroy_data_keys(session: Session, ring: Keyring, form_ids: list[int]) -> int:
    """Destroy these forms' data keys for good (crypto-shredding), in the key store and this process's cache; how
    many keys there were."""
    if ring.store is None:
        return 0
    slots = []
    for start in range(0, len(form_ids), 500):
        slots += session.scalars(select(Form.key_slot).where(Form.id.in_(form_ids[start:start + 500]),
                                                             Form.key_slot.is_not(None)))
    gone = ring.store.destroy(form_ids, slots)
    forget_data_keys(ring, form_ids)
    return gone


def _stored_data_key(ring: Keyring, form: Form) -> bytes:
    if form.key_slot is not None:
        found = ring.store.slot(form.key_slot)
    else:  # a form from before key slots: its key is under its id (or still on its row)
        found = ring.store.get(form.id)
        if found is None and form.wrapped_key is not None:  # a key not moved yet: move it now
            found = (form.wrapped_key, form.key_id)
            ring.store.put(form.id, *found)
            form.wrapped_key = None
    if found is None:
        if form.key_id is not None:
            raise KeyDestroyed("该业务单的数据密钥已销毁, 内容无法解密", code="data_key_destroyed")
        form.key_slot, key, form.key_id = ring.slots.take(ring)
        return key
    return ring.unwrap(*found)


def has_key(form: Form) -> bool:
    """Whether the form was given a data key (it may have been destroyed since)."""
    return form.key_id is not None or form.wrapped_key is not None


def move_keys_to_store(session: Session, ring: Keyring) -> int:
    """Move the wrapped keys still on form rows into the key store and clear them there; how many moved."""
    if ring.store is None:
        return 0
    moved = 0
    while True:
        forms = list(session.scalars(select(Form).where(Form.wrapped_key.is_not(None)).order_by(Form.id).limit(500)))
        if not forms:
            return moved
        ring.store.put_many([(f.id, f.wrapped_key, f.key_id) for f in forms])
        for form in forms:
            form.wrapped_key = None
        session.flush()
        moved += len(forms)


def _seal(prefix: str, key: bytes, form_id: int, purpose: str, text: str) -> str:
    """`text` under AES-GCM with the form's data key, bound to its form and purpose: prefix + base64(nonce + box)."""
    nonce = os.urandom(12)
    return prefix + _b64(nonce + AESGCM(key).encrypt(nonce, text.encode("utf-8"), f"{form_id}:{purpose}".encode()))


def _open(prefix: str, key: bytes, form_id: int, purpose: str, sealed: str) -> str:
    raw = base64.b64decode(sealed[len(prefix):])
    return AESGCM(key).decrypt(raw[:12], raw[12:], f"{form_id}:{purpose}".encode()).decode("utf-8")


def encrypt(key: bytes, form_id: int, field_code: str, value: str) -> str:
    """One personal value sealed with the form's data key; bound to its form and field."""
    return _seal(_PREFIX, key, form_id, field_code, str(value))


def decrypt(key: bytes, form_id: int, field_code: str, sealed: str) -> str:
    """The plaintext of a sealed personal value."""
    return _open(_PREFIX, key, form_id, field_code, sealed)


def store(session: Session, ring: Keyring, form: Form, field_code: str, value: str, seq: int) -> None:
    """Keep a sensitive value encrypted (seq 0: as filled; n: brought by correction n); replaces a draft's value."""
    key = data_key(ring, form)
    row = session.scalars(select(SensitiveValue).where(SensitiveValue.form_id == form.id, SensitiveValue.field == field_code,
                                                       SensitiveValue.seq == seq)).first()
    sealed = encrypt(key, form.id, field_code, value)
    if row is None:
        session.add(SensitiveValue(form_id=form.id, field=field_code, seq=seq, ciphertext=sealed))
    else:
        row.ciphertext = sealed


def load(session: Session, ring: Keyring, form: Form, field_code: str, seq: int | None = None) -> str | None:
    """A sensitive value in clear: the current one, or the one of a given seq (0 = as filled)."""
    query = select(SensitiveValue).where(SensitiveValue.form_id == form.id, SensitiveValue.field == field_code)
    query = query.where(SensitiveValue.seq == seq) if seq is not None else query.order_by(SensitiveValue.seq.desc())
    row = session.scalars(query.limit(1)).first()
    if row is None or not has_key(form):
        return None
    return decrypt(data_key(ring, form), form.id, field_code, row.ciphertext)


def plain_values(session: Session, ring: Keyring, form: Form) -> dict:
    """A draft's data with its sensitive values decrypted (to validate it on submit)."""
    data = values_of(form)
    for code in form.sensitive_fields:
        if code in data:
            data[code] = load(session, ring, form, code, seq=0)
    return data


def rotate(session: Session, old: Keyring, new_key: bytes) -> int:
    """Re-wrap every form's data key under `new_key`; the encrypted values are not touched. Returns the count."""
    new_ring = Keyring(new_key, store=old.store)
    move_keys_to_store(session, old)
    count = 0
    if old.store is not None:
        rows = []
        for form_id, wrapped, kid in old.store.all():
            rows.append((form_id, *new_ring.wrap(old.unwrap(wrapped, kid))))
        old.store.put_many(rows)
        slots = [(slot, *new_ring.wrap(old.unwrap(wrapped, kid))) for slot, wrapped, kid in old.store.all_slots()]
        old.store.rewrap_slots(slots)  # every slot, those no form took yet too
        new_ids, new_slots = {form_id: kid for form_id, _w, kid in rows}, {slot: kid for slot, _w, kid in slots}
        for form in session.scalars(select(Form).where(Form.key_id.is_not(None))).yield_per(500):
            kid = new_slots.get(form.key_slot) if form.key_slot is not None else new_ids.get(form.id)
            if kid is not None:
                form.key_id = kid
                count += 1
        session.flush()
        return count
    for form in session.scalars(select(Form).where(Form.wrapped_key.is_not(None))).yield_per(500):
        key = old.unwrap(form.wrapped_key, form.key_id)
        form.wrapped_key, form.key_id = new_ring.wrap(key)
        count += 1
    session.flush()
    return count


# --- the rest of a form's content, sealed under the same data key -----------------------------------------------
def _last_ring() -> Keyring:
    """The keyring asked for last in this process: for objects read outside the services' sessions (scripts)."""
    if _latest is None:
        raise Conflict("加密主密钥不可用, 请联系管理员", code="master_key_missing")
    return _latest


def ring_of(obj) -> Keyring:
    """The keyring of the session an object belongs to (`compose` puts the settings it is built from in the
    session factory's info)."""
    session = object_session(obj)
    config = session.info.get("config") if session is not None else None
    return keyring(config) if config is not None else _last_ring()


def seal_text(key: bytes, form_id: int, purpose: str, text: str) -> str:
    """A text sealed with the form's data key, bound to its form and purpose ("s1:" + base64)."""
    return _seal(SEALED, key, form_id, purpose, text)


def _open_sealed(key: bytes, form_id: int, purpose: str, sealed: str) -> str:
    return _open(SEALED, key, form_id, purpose, sealed)


def seal_into(ring: Keyring, form: Form, obj, attribute: str, purpose: str, text: str | None) -> None:
    """Set a sealed column of a form's record (a correction, an attachment) to `text`, sealed; None stays None."""
    sealed = None if text is None else seal_text(data_key(ring, form), form.id, purpose, text)
    setattr(obj, attribute, sealed)
    if sealed is not None:
        obj.__dict__.setdefault("_opened", {})[sealed] = text


def open_text(obj, form_id: int, purpose: str, sealed: str | None) -> str | None:
    """The clear text of a sealed column of `obj` (a record of form `form_id`); a value stored before sealing
    (no "s1:") is returned as it is."""
    if sealed is None or not sealed.startswith(SEALED):
        return sealed
    opened = obj.__dict__.setdefault("_opened", {})
    if sealed not in opened:
        session = object_session(obj)
        form = session.get(Form, form_id) if session is not None else None
        if form is None:
            raise KeyDestroyed("业务单内容无法解密", code="data_key_destroyed")
        opened[sealed] = _open_sealed(data_key(ring_of(obj), form), form_id, purpose, sealed)
    return opened[sealed]


def seal_values(ring: Keyring, form: Form, values: dict) -> None:
    """Keep a form's shown values (sensitive ones already masked) sealed; a live form's search index with them."""
    key = data_key(ring, form)
    form.sealed_data = seal_text(key, form.id, "values", json.dumps(values, ensure_ascii=False, sort_keys=True))
    form.data = {}
    sensitive = set(form.sensitive_fields)
    form.search = (None if form.status in ("closed", "destroyed")
                   else index_of(ring, [v for k, v in values.items() if k not in sensitive]))
    form.__dict__["_values"] = (form.sealed_data, dict(values))


def values_of(form: Form) -> dict:
    """A form's shown values (sensitive ones masked): opened from sealed_data, or the clear values of a form stored
    before sealing."""
    if form.sealed_data is None:
        return dict(form.data or {})
    held = form.__dict__.get("_values")
    if held is None or held[0] != form.sealed_data:
        key = data_key(ring_of(form), form)
        held = (form.sealed_data, json.loads(_open_sealed(key, form.id, "values", form.sealed_data)))
        form.__dict__["_values"] = held
    return dict(held[1])


SEARCHABLE = 100  # characters: longer values (a description) are not indexed


def search_token(ring: Keyring, value) -> str | None:
    """The blind index's token for one whole value (trimmed, case-folded): 16 hex digits of an HMAC."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip().casefold()
    if not text or len(text) > SEARCHABLE:
        return None
    return hmac.new(ring.search_key(), text.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def index_of(ring: Keyring, values) -> str | None:
    """The search column of a form with these (non-sensitive) values."""
    tokens = sorted({t for t in (search_token(ring, v) for v in values) if t})
    return " ".join(tokens) or None


def seal_stored(session: Session, ring: Keyring, forms: list[Form]) -> None:
    """Seal what these forms still hold in clear from before sealing: their values, their corrections' values and
    reasons, their attachments' names (`guichet migrate`)."""
    ids = [f.id for f in forms]
    by_id = {f.id: f for f in forms}
    for form in forms:
        if form.sealed_data is None:
            seal_values(ring, form, dict(form.data or {}))
    for correction in session.scalars(select(Correction).where(Correction.form_id.in_(ids))):
        form = by_id[correction.form_id]
        for attribute, purpose in (("old_sealed", "correction-old"), ("new_sealed", "correction-new"),
                                   ("reason_sealed", "correction-reason")):
            value = getattr(correction, attribute)
            if value is not None and not value.startswith(SEALED):
                seal_into(ring, form, correction, attribute, purpose, value)
    for attachment in session.scalars(select(Attachment).where(Attachment.form_id.in_(ids))):
        if not attachment.filename_sealed.startswith(SEALED):
            seal_into(ring, by_id[attachment.form_id], attachment, "filename_sealed", "attachment-name",
                      attachment.filename_sealed)
    session.flush()
