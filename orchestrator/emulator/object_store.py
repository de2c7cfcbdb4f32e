"""The Object Store: per-organization keys and bytes, download jobs and their archives.

Shapes and rules in ``object_rules.py``; the bytes live in the state store (memory, or files under
the state dir's ``objects/``), named by a hash of organization and key.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.emulator import object_rules
from orchestrator.emulator.core import BackendCore, new_hex
from orchestrator.emulator.errors import NotFoundError, require
from orchestrator.emulator.state import DownloadJob, StoredObject, UserRecord, utc_now
from orchestrator.emulator.timing import Gate


@dataclass
class ObjectList:
    path: str
    entries: list[tuple[object_rules.Child, StoredObject | None, int]]  # child, its object, size
    used_bytes: int


@dataclass
class DownloadView:
    job: DownloadJob
    ready: bool


class ObjectStoreMixin(BackendCore):
    """object/*."""

    def _org_for_objects(self, user: UserRecord, organization_id: str | None) -> str:
        require(bool(organization_id and str(organization_id).strip()), "organizationId is required")
        return self.organization(user, organization_id).organization_id

    @staticmethod
    def _blob_name(organization_id: str, key: str) -> str:
        return hashlib.sha256(f"{organization_id}\0{key}".encode()).hexdigest()

    def _objects(self, organization_id: str) -> dict[str, StoredObject]:
        with self._lock:
            return {o.key: o for o in self._state.objects if o.organization_id == organization_id}

    def set_object(self, user: UserRecord, organization_id: str | None, key: str, data: bytes) -> StoredObject:
        org = self._org_for_objects(user, organization_id)
        clean = object_rules.valid_key(key or "")
        blob = self._blob_name(org, clean)
        now = utc_now()
        # The bytes are written under the lock with their record: two writers of one key (or a
        # writer and a deleter) must not interleave, or a record would describe the other's bytes.
        with self._mutating() as state:
            self.store.save_blob(blob, data)
            existing = next((o for o in state.objects if o.organization_id == org and o.key == clean), None)
            record = StoredObject(
                organization_id=org, key=clean, size=len(data), md5=hashlib.md5(data).hexdigest(),
                mime=object_rules.guess_mime(clean, data), created=existing.created if existing else now,
                modified=now, blob=blob,
            )
            state.objects = [o for o in state.objects if not (o.organization_id == org and o.key == clean)]
            state.objects.append(record)
            return record

    def object_properties(self, user: UserRecord, organization_id: str | None, key: str) -> tuple[StoredObject, str]:
        org = self._org_for_objects(user, organization_id)
        with self._lock:  # the record and its bytes together (a delete takes the lock too)
            found = self._objects(org).get(object_rules.normalize_key(key or ""))
            if found is None:
                raise NotFoundError(f"Object Store key not found: {key}")
            return found, object_rules.preview(self.store.load_blob(found.blob))

    def object_bytes(self, organization_id: str, key: str) -> bytes | None:
        with self._lock:
            found = self._objects(organization_id).get(object_rules.normalize_key(key))
            return None if found is None else self.store.load_blob(found.blob)

    def list_objects(self, user: UserRecord, organization_id: str | None, path: str | None) -> ObjectList:
        org = self._org_for_objects(user, organization_id)
        objects = self._objects(org)
        folder = object_rules.normalize_key(path or "")
        entries = []
        for child in object_rules.children(objects, folder):
            stored = objects.get(child.key) if not child.folder else None
            size = sum(objects[k].size for k in object_rules.under(objects, child.key))
            entries.append((child, stored, size))
        return ObjectList(path=path if path else "/", entries=entries,
                          used_bytes=sum(o.size for o in objects.values()))

    def delete_object(self, user: UserRecord, organization_id: str | None, key: str) -> None:
        org = self._org_for_objects(user, organization_id)
        with self._mutating() as state:
            objects = self._objects(org)
            doomed = object_rules.under(objects, object_rules.normalize_key(key or ""))
            if not doomed:
                raise NotFoundError(f"Object Store key not found: {key}")
            state.objects = [o for o in state.objects if not (o.organization_id == org and o.key in doomed)]
            for k in doomed:
                self.store.delete_blob(objects[k].blob)

    def request_download(self, user: UserRecord, organization_id: str | None, keys: Sequence[str]) -> DownloadJob:
        org = self._org_for_objects(user, organization_id)
        require(bool(keys), "keys is required: the Object Store keys to download")
        objects = self._objects(org)
        wanted: list[str] = []
        for key in keys:
            matched = object_rules.under(objects, object_rules.normalize_key(str(key)))
            if not matched:
                raise NotFoundError(f"Object Store key not found: {key}")
            wanted.extend(k for k in matched if k not in wanted)
        job = DownloadJob(job_id=new_hex(), organization_id=org, keys=wanted, created=utc_now(),
                          token=secrets.token_urlsafe(24))
        with self._mutating() as state:
            state.download_jobs.append(job)
        done = threading.Event()
        done.set()
        self._gates[job.job_id] = Gate(self.timing, self.clock, done)
        return job

    def read_download(self, user: UserRecord, organization_id: str | None, job_id: str) -> DownloadView:
        org = self._org_for_objects(user, organization_id)
        with self._lock:
            job = next((j for j in self._state.download_jobs if j.job_id == job_id and j.organization_id == org), None)
            if job is None:
                raise NotFoundError(f"Object Store job not found: {job_id}")
            job.reads += 1
            reads = job.reads
        return DownloadView(job, self._gate_view(job.job_id, reads, 1.0).finished)

    def download(self, token: str) -> bytes | None:
        """The zip archive behind a download URL (None for an unknown token)."""
        with self._lock:
            job = next((j for j in self._state.download_jobs if secrets.compare_digest(j.token, token)), None)
        if job is None:
            return None
        contents = {k: data for k in job.keys if (data := self.object_bytes(job.organization_id, k)) is not None}
        return object_rules.zip_archive(contents)

    def organization_objects(self, organization_id: str) -> dict[str, bytes]:
        with self._lock:
            return {k: self.store.load_blob(o.blob) for k, o in self._objects(organization_id).items()}
